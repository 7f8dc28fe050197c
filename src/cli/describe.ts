// `sluice describe`: human summaries of services, revisions and routes. Pure functions from
// objects to text; the command fetches what they need.

import type { Condition, Container, KObject, Revision, Route, Service, TrafficTarget } from '../api/types.js';
import { Labels } from '../api/types.js';
import { age, formatTable } from './output.js';
import { generationOf, serviceOf } from './listing.js';
import { MAX_SCALE, MIN_SCALE } from './service-edit.js';
import { trafficByRevision } from './traffic.js';

type Field = [label: string, value: string | undefined];

/** "Label:  value" lines with the values aligned; empty values are left out; multi-line values stay aligned. */
function fields(list: Field[], indent = ''): string {
  const shown = list.filter(([, v]) => v !== undefined && v !== '') as [string, string][];
  const width = Math.max(0, ...shown.map(([k]) => k.length + 1));
  const pad = indent + ' '.repeat(width + 2);
  return shown.map(([k, v]) => `${indent}${`${k}:`.padEnd(width)}  ${v.split('\n').join(`\n${pad}`)}\n`).join('');
}

function indentTable(text: string, indent: string): string {
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => indent + l + '\n')
    .join('');
}

/** kn's condition marks: ++ true, !! false (error), W/I for warning/info severity, ?? unknown. */
function mark(c: Condition): string {
  if (c.status === 'True') return '++';
  if (c.status === 'False') return c.severity === 'Warning' ? ' W' : c.severity === 'Info' ? ' I' : '!!';
  return '??';
}

export function describeConditions(obj: KObject, now: number): string {
  const conds: Condition[] = Array.isArray(obj.status?.conditions) ? obj.status.conditions : [];
  if (conds.length === 0) return 'Conditions:\n  (none yet)\n';
  // Ready first, then the rest alphabetically, as kn orders them.
  const sorted = [...conds].sort((a, b) => (a.type === 'Ready' ? -1 : b.type === 'Ready' ? 1 : a.type.localeCompare(b.type)));
  const rows = sorted.map((c) => [mark(c), c.type, age(c.lastTransitionTime, now), c.reason ?? '', oneLine(c.message)]);
  return 'Conditions:\n' + indentTable(formatTable(['OK', 'TYPE', 'AGE', 'REASON', 'MESSAGE'], rows), '  ');
}

function oneLine(s: string | undefined): string {
  return (s ?? '').replace(/\s*\n\s*/g, ' ').trim();
}

function annotation(obj: { metadata?: { annotations?: Record<string, string> } } | undefined, key: string): string | undefined {
  return obj?.metadata?.annotations?.[key];
}

function containerOf(rev: Revision | undefined): Container | undefined {
  const c = rev?.spec?.containers;
  return Array.isArray(c) ? c[0] : undefined;
}

function quoteArgv(argv: string[] | undefined): string | undefined {
  if (!argv || argv.length === 0) return undefined;
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
}

function pct(t: TrafficTarget): string {
  return `${t.percent ?? 0}%`.padStart(4);
}

/** One "Revisions:" entry: "  50%  name #tag [gen] (age)" plus the image and the tag's URL. */
function revisionEntry(
  percent: string,
  label: string,
  tag: string | undefined,
  rev: Revision | undefined,
  url: string | undefined,
  now: number,
): string {
  const gen = rev ? ` [${generationOf(rev)}]` : '';
  const when = rev ? ` (${age(rev.metadata.creationTimestamp, now)})` : '';
  let s = `  ${percent}  ${label}${tag ? ` #${tag}` : ''}${gen}${when}\n`;
  const ctr = containerOf(rev);
  const detail: Field[] = [
    ['Image', ctr?.image ?? quoteArgv(ctr?.command)],
    ['URL', tag ? url : undefined],
  ];
  s += fields(detail, '        ');
  return s;
}

export function describeService(svc: Service, revisions: Revision[], now: number): string {
  const byName = new Map(revisions.map((r) => [r.metadata.name ?? '', r]));
  let out = fields([
    ['Name', svc.metadata.name],
    ['Namespace', svc.metadata.namespace],
    ['Age', age(svc.metadata.creationTimestamp, now)],
    ['URL', svc.status?.url],
  ]);

  out += '\nRevisions:\n';
  const status = svc.status?.traffic;
  const shown = new Set<string>();
  if (Array.isArray(status) && status.length > 0) {
    for (const t of status) {
      const name = t.revisionName ?? '';
      shown.add(name);
      const label = t.latestRevision ? `@latest (${name})` : name;
      out += revisionEntry(pct(t), label, t.tag, byName.get(name), t.url, now);
    }
  } else {
    // Not routed yet: show what the spec asks for.
    for (const t of svc.spec?.traffic ?? []) {
      const name = t.revisionName ?? '';
      if (name) shown.add(name);
      out += revisionEntry(pct(t), t.latestRevision || !name ? '@latest' : name, t.tag, byName.get(name), undefined, now);
    }
  }
  const latestCreated = svc.status?.latestCreatedRevisionName;
  if (latestCreated && !shown.has(latestCreated)) {
    const rev = byName.get(latestCreated);
    const ready = rev ? readyText(rev) : '';
    out += revisionEntry('   -', `${latestCreated} (latest created${ready ? `, ${ready}` : ''})`, undefined, rev, undefined, now);
  }
  out += '\n' + describeConditions(svc, now);
  return out;
}

function readyText(obj: KObject): string {
  const c = (obj.status?.conditions as Condition[] | undefined)?.find((x) => x.type === 'Ready');
  if (!c || c.status === 'Unknown') return 'not ready yet';
  return c.status === 'True' ? 'ready' : `failed${c.reason ? `: ${c.reason}` : ''}`;
}

export function describeRevision(rev: Revision, svc: Service | undefined, now: number): string {
  const ctr = containerOf(rev);
  const t = svc ? trafficByRevision(svc.status?.traffic).get(rev.metadata.name ?? '') : undefined;
  const traffic = t
    ? `${t.percent}%${t.tags.length ? ` (tags: ${t.tags.join(', ')})` : ''}${t.latest ? ' @latest' : ''}`
    : svc
      ? '0%'
      : undefined;
  const limit = rev.spec?.containerConcurrency;
  const target = annotation(rev, 'autoscaling.knative.dev/target');
  const min = annotation(rev, MIN_SCALE);
  const max = annotation(rev, MAX_SCALE);
  const env = (ctr?.env ?? []).map((e) =>
    e.value !== undefined
      ? `${e.name}=${e.value}`
      : `${e.name} (from ${Object.keys(e)
          .filter((k) => k !== 'name')
          .join(', ')})`,
  );
  const ports = (ctr?.ports ?? []).map((p) => (p.name ? `${p.name}:${p.containerPort}` : String(p.containerPort)));
  let out = fields([
    ['Name', rev.metadata.name],
    ['Namespace', rev.metadata.namespace],
    ['Age', age(rev.metadata.creationTimestamp, now)],
    ['Service', serviceOf(rev) || rev.metadata.labels?.[Labels.configuration]],
    ['Generation', rev.metadata.labels?.[Labels.configurationGeneration]],
    ['Traffic', traffic],
  ]);
  out += '\n';
  out += fields([
    ['Image', ctr?.image],
    ['Command', quoteArgv(ctr?.command)],
    ['Args', quoteArgv(ctr?.args)],
    ['Port', ports.join(', ')],
    ['Env', env.join('\n')],
    ['Concurrency', `limit ${limit === undefined || limit === 0 ? 'unlimited' : limit}${target ? `, target ${target}` : ''}`],
    ['Scale', `min ${min ?? '0'}, max ${max ?? 'unlimited'}`],
    ['Replicas', `${rev.status?.actualReplicas ?? 0} actual / ${rev.status?.desiredReplicas ?? 0} desired`],
    ['Timeout', rev.spec?.timeoutSeconds !== undefined ? `${rev.spec.timeoutSeconds}s` : undefined],
  ]);
  out += '\n' + describeConditions(rev, now);
  return out;
}

export function describeRoute(route: Route, now: number): string {
  let out = fields([
    ['Name', route.metadata.name],
    ['Namespace', route.metadata.namespace],
    ['Age', age(route.metadata.creationTimestamp, now)],
    ['URL', route.status?.url],
    ['Service', route.metadata.labels?.[Labels.service]],
  ]);
  out += '\nTraffic Targets:\n';
  const targets =
    Array.isArray(route.status?.traffic) && route.status.traffic.length > 0 ? route.status.traffic : (route.spec?.traffic ?? []);
  const rows = targets.map((t: TrafficTarget) => [
    `${t.percent ?? 0}%`,
    t.latestRevision ? `@latest (${t.revisionName ?? t.configurationName ?? ''})` : (t.revisionName ?? ''),
    t.tag ?? '',
    t.tag ? (t.url ?? '') : '',
  ]);
  out += rows.length ? indentTable(formatTable(['PERCENT', 'REVISION', 'TAG', 'URL'], rows), '  ') : '  (none)\n';
  out += '\n' + describeConditions(route, now);
  return out;
}
