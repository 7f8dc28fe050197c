// Server-side printing: a meta.k8s.io/v1 Table built from the registry's printer columns, so
// `kubectl get ksvc` shows Knative's columns without knowing anything about Knative.

import type { PrinterColumn, ResourceKind } from '../api/registry.js';
import type { KObject } from '../api/types.js';
import { eventObject, lastSeen } from './events.js';
import { evaluate } from './jsonpath.js';

export type IncludeObject = 'None' | 'Metadata' | 'Object';

export interface TableOptions {
  includeObject: IncludeObject;
  /** Omit column definitions (watch events after the first, like Kubernetes). */
  noHeaders?: boolean;
  resourceVersion?: string;
  continueToken?: string;
  now?: () => number;
}

interface Column {
  def: { name: string; type: string; format: string; description: string; priority: number };
  cell: (o: KObject, now: number) => unknown;
}

/** Kubernetes' short human-readable age: 45s, 3m20s, 5h, 12d, 2y... */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) return hours % 24 === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  const days = Math.floor(hours / 24);
  if (hours < 24 * 365 * 8) return days % 365 === 0 ? `${Math.floor(days / 365)}y` : `${Math.floor(days / 365)}y${days % 365}d`;
  return `${Math.floor(days / 365)}y`;
}

function age(ts: unknown, now: number): string | null {
  if (typeof ts !== 'string') return null;
  const t = Date.parse(ts);
  return Number.isNaN(t) ? null : humanDuration(now - t);
}

const nameColumn: Column = {
  def: {
    name: 'Name',
    type: 'string',
    format: 'name',
    description: 'Name must be unique within a namespace.',
    priority: 0,
  },
  cell: (o) => o.metadata?.name ?? '',
};

const ageColumn: Column = {
  def: { name: 'Age', type: 'string', format: '', description: 'Time since the object was created.', priority: 0 },
  cell: (o, now) => age(o.metadata?.creationTimestamp, now),
};

function printerColumn(c: PrinterColumn): Column {
  return {
    def: { name: c.name, type: c.type === 'date' ? 'string' : c.type, format: '', description: c.jsonPath, priority: c.priority ?? 0 },
    cell: (o, now) => {
      let values: unknown[];
      try {
        values = evaluate(c.jsonPath, o);
      } catch {
        return null;
      }
      if (values.length === 0) return null;
      if (c.type === 'date') return age(values[0], now);
      if (values.length === 1) {
        const v = values[0];
        return typeof v === 'object' ? JSON.stringify(v) : v;
      }
      return values.map((v) => (typeof v === 'object' ? JSON.stringify(v) : String(v))).join(',');
    },
  };
}

const cell = (name: string, priority: number, get: (o: KObject, now: number) => unknown): Column => ({
  def: { name, type: 'string', format: name === 'Name' ? 'name' : '', description: '', priority },
  cell: get,
});

/** kubectl's columns for Events (LAST SEEN, TYPE, REASON, OBJECT, MESSAGE; more with -o wide). */
const eventColumns: Column[] = [
  cell('Last Seen', 0, (o, now) => age(lastSeen(o), now)),
  cell('Type', 0, (o) => o.type ?? ''),
  cell('Reason', 0, (o) => o.reason ?? ''),
  cell('Object', 0, (o) => eventObject(o)),
  cell('Subobject', 1, (o) => (o.involvedObject as { fieldPath?: string } | undefined)?.fieldPath ?? ''),
  cell('Source', 1, (o) => (o.source as { component?: string } | undefined)?.component ?? o.reportingComponent ?? ''),
  cell('Message', 0, (o) => o.message ?? o.note ?? ''),
  cell('First Seen', 1, (o, now) => age(o.firstTimestamp ?? o.eventTime, now)),
  cell('Count', 1, (o) => o.count ?? 1),
  cell('Name', 1, (o) => o.metadata?.name ?? ''),
];

function columnsFor(kind: ResourceKind): Column[] {
  if (kind.kind === 'Event') return eventColumns;
  const cols = [nameColumn, ...kind.columns.map(printerColumn)];
  // Core kinds print like kubectl shows them against Kubernetes.
  if (kind.group === '' && (kind.kind === 'ConfigMap' || kind.kind === 'Secret')) {
    cols.push({
      def: { name: 'Data', type: 'integer', format: '', description: 'Number of keys.', priority: 0 },
      cell: (o) => Object.keys((o.data as object) ?? {}).length + Object.keys((o.binaryData as object) ?? {}).length,
    });
  }
  if (kind.group === '') cols.push(ageColumn);
  return cols;
}

export function wantsIncludeObject(v: string | null): IncludeObject {
  return v === 'None' || v === 'Object' ? v : 'Metadata';
}

export function toTable(kind: ResourceKind, objects: KObject[], opts: TableOptions) {
  const now = (opts.now ?? Date.now)();
  const cols = columnsFor(kind);
  const rows = objects.map((o) => {
    const row: { cells: unknown[]; object?: unknown } = { cells: cols.map((c) => c.cell(o, now)) };
    if (opts.includeObject === 'Object') row.object = o;
    else if (opts.includeObject === 'Metadata') {
      row.object = { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata };
    }
    return row;
  });
  const metadata: Record<string, string> = {};
  if (opts.resourceVersion) metadata.resourceVersion = opts.resourceVersion;
  if (opts.continueToken) metadata.continue = opts.continueToken;
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata,
    ...(opts.noHeaders ? {} : { columnDefinitions: cols.map((c) => c.def) }),
    rows,
  };
}
