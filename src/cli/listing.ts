// kn-style list tables for services, revisions and routes, computed from the objects themselves
// (the revision list needs traffic and tags, which live on the Service, not the Revision).

import type { Condition, KObject, Revision, Route, Service } from '../api/types.js';
import { Labels } from '../api/types.js';
import { age } from './output.js';
import { trafficByRevision } from './traffic.js';

export interface Rows {
  headers: string[];
  rows: string[][];
}

export function condition(obj: KObject, type = 'Ready'): Condition | undefined {
  const conds = obj.status?.conditions;
  return Array.isArray(conds) ? conds.find((c: Condition) => c?.type === type) : undefined;
}

/** kn's CONDITIONS column: how many conditions are True out of all of them ("3 OK / 4"). */
export function conditionsSummary(obj: KObject): string {
  const conds: Condition[] = Array.isArray(obj.status?.conditions) ? obj.status.conditions : [];
  const ok = conds.filter((c) => c.status === 'True').length;
  return `${ok} OK / ${conds.length}`;
}

export function readyCells(obj: KObject): [string, string] {
  const c = condition(obj);
  return [c?.status ?? 'Unknown', c?.reason ?? ''];
}

export function serviceRows(services: Service[], now: number): Rows {
  return {
    headers: ['NAME', 'URL', 'LATEST', 'AGE', 'CONDITIONS', 'READY', 'REASON'],
    rows: services.map((s) => [
      s.metadata.name ?? '',
      s.status?.url ?? '',
      s.status?.latestReadyRevisionName ?? '',
      age(s.metadata.creationTimestamp, now),
      conditionsSummary(s),
      ...readyCells(s),
    ]),
  };
}

export function generationOf(rev: Revision): number {
  const g = Number(rev.metadata.labels?.[Labels.configurationGeneration]);
  return Number.isFinite(g) ? g : 0;
}

export function serviceOf(rev: Revision): string {
  return rev.metadata.labels?.[Labels.service] ?? '';
}

/**
 * kn's revision list: NAME SERVICE TRAFFIC TAGS GENERATION AGE CONDITIONS READY REASON, ordered by
 * service and newest generation first. TRAFFIC and TAGS come from the owning Service's status.traffic.
 */
export function revisionRows(revisions: Revision[], services: Service[], now: number): Rows {
  const bySvc = new Map(services.map((s) => [s.metadata.name ?? '', trafficByRevision(s.status?.traffic)]));
  const sorted = [...revisions].sort(
    (a, b) =>
      serviceOf(a).localeCompare(serviceOf(b)) ||
      generationOf(b) - generationOf(a) ||
      (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''),
  );
  return {
    headers: ['NAME', 'SERVICE', 'TRAFFIC', 'TAGS', 'GENERATION', 'AGE', 'CONDITIONS', 'READY', 'REASON'],
    rows: sorted.map((r) => {
      const t = bySvc.get(serviceOf(r))?.get(r.metadata.name ?? '');
      return [
        r.metadata.name ?? '',
        serviceOf(r),
        t && t.percent > 0 ? `${t.percent}%` : '',
        t ? t.tags.join(',') : '',
        r.metadata.labels?.[Labels.configurationGeneration] ?? '',
        age(r.metadata.creationTimestamp, now),
        conditionsSummary(r),
        ...readyCells(r),
      ];
    }),
  };
}

export function routeRows(routes: Route[]): Rows {
  return {
    headers: ['NAME', 'URL', 'READY'],
    rows: routes.map((r) => [r.metadata.name ?? '', r.status?.url ?? '', readyCells(r)[0]]),
  };
}
