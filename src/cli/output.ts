// Output formatting shared by every command: kubectl-style aligned tables, YAML and JSON.
// Pure functions returning strings, so they can be tested without a terminal.

import YAML from 'yaml';
import type { KObject } from '../api/types.js';
import type { Table } from './client.js';
import { CliError } from './errors.js';

export type OutputFormat = 'table' | 'yaml' | 'json' | 'name';

export const OUTPUT_FORMATS: OutputFormat[] = ['table', 'yaml', 'json', 'name'];

export function parseOutputFormat(v: string | undefined): OutputFormat {
  if (v === undefined || v === '') return 'table';
  const f = v.toLowerCase();
  // kubectl users type -o wide; every column is already shown.
  if (f === 'wide') return 'table';
  if ((OUTPUT_FORMATS as string[]).includes(f)) return f as OutputFormat;
  throw new CliError(
    `unable to match a printer suitable for the output format "${v}", allowed formats are: ${OUTPUT_FORMATS.join(',')},wide`,
  );
}

/** Left-aligned columns, three spaces apart (kubectl's spacing); no trailing blanks. */
export function formatTable(headers: string[], rows: string[][]): string {
  const all = [headers, ...rows];
  const widths = headers.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const lines = all.map((r) =>
    headers
      .map((_, i) => (r[i] ?? '').padEnd(widths[i]))
      .join('   ')
      .trimEnd(),
  );
  return lines.join('\n') + '\n';
}

export function cellText(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/**
 * A server Table as header + rows, like kubectl prints it: column names upper-cased, columns with
 * priority > 0 hidden (kubectl shows those only with -o wide).
 */
export function serverTableRows(table: Table): { headers: string[]; rows: string[][] } {
  const defs = table.columnDefinitions ?? [];
  const shown = defs.map((d, i) => ({ d, i })).filter(({ d }) => !d.priority);
  return {
    headers: shown.map(({ d }) => d.name.toUpperCase()),
    rows: (table.rows ?? []).map((r) => shown.map(({ i }) => cellText(r.cells?.[i]))),
  };
}

/** Kubernetes' short age (45s, 3m20s, 5h, 12d): precise while recent, coarser as it grows. */
export function humanDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 0) return '0s';
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 ? `${m}m${s % 60}s` : `${m}m`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return m % 60 ? `${h}h${m % 60}m` : `${h}h`;
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  if (h < 24 * 8) return h % 24 ? `${d}d${h % 24}h` : `${d}d`;
  if (d < 365 * 2) return `${d}d`;
  return `${Math.floor(d / 365)}y`;
}

export function age(timestamp: string | undefined, now: number): string {
  if (!timestamp) return '';
  const t = Date.parse(timestamp);
  return Number.isNaN(t) ? '' : humanDuration(now - t);
}

/** YAML without line folding, so long URLs and messages stay on one line. */
export function toYaml(v: unknown): string {
  return YAML.stringify(v, { lineWidth: 0, aliasDuplicateObjects: false });
}

export function toJson(v: unknown): string {
  return JSON.stringify(v, null, 2) + '\n';
}

/** kubectl's -o name: "service.serving.knative.dev/NAME". */
export function objectRef(obj: KObject): string {
  const group = typeof obj.apiVersion === 'string' && obj.apiVersion.includes('/') ? obj.apiVersion.split('/')[0] : '';
  const kind = String(obj.kind ?? '').toLowerCase();
  return `${group ? `${kind}.${group}` : kind}/${obj.metadata?.name ?? ''}`;
}

/** One object or a list of them, in a machine-readable format. A list prints as a v1 List like kubectl's. */
export function formatObjects(format: Exclude<OutputFormat, 'table'>, objs: KObject[] | KObject): string {
  if (format === 'name') return (Array.isArray(objs) ? objs : [objs]).map((o) => objectRef(o) + '\n').join('');
  const data = Array.isArray(objs) ? { apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' }, items: objs } : objs;
  return format === 'yaml' ? toYaml(data) : toJson(data);
}
