// Knative's labeler: a Revision some Route sends traffic to (or names by tag) is
// serving.knative.dev/routingState=active and lists those routes in serving.knative.dev/routes;
// one no route refers to any more is "reserve"; a new one is "pending" until first routed. Each
// change stamps serving.knative.dev/routingStateModified, which revision GC reads as "last active".
// Configurations list the routes that follow them. The decision is pure; the write is at the edge.

import type { KObject } from '../api/types.js';
import { Annotations, Labels } from '../api/types.js';
import { referencedRevisions, type RoutingState } from './autoscaling/podautoscaler.js';
import { type ControllerContext, RES } from './context.js';
import { BY_ROUTES_ANNOTATION, ROUTES_BY_CONFIGURATION, ROUTES_BY_REVISION } from './listers.js';

/** Knative formats the modification time as RFC 3339 at second precision. */
export const rfc3339 = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

export interface MetaChange {
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** The labels and annotations a Revision should carry given the routes naming it; undefined when unchanged. */
export function revisionRoutingMeta(rev: KObject, routeNames: string[], now: number): MetaChange | undefined {
  const labels = { ...(rev.metadata.labels ?? {}) };
  const annotations = { ...(rev.metadata.annotations ?? {}) };
  const prev = labels[Labels.routingState] as RoutingState | undefined;
  const next: RoutingState | undefined = routeNames.length ? 'active' : prev === undefined || prev === 'pending' ? prev : 'reserve';
  const routes = [...routeNames].sort().join(',');
  if (routes) annotations[Annotations.routes] = routes;
  else delete annotations[Annotations.routes];
  if (next !== undefined && next !== prev) {
    labels[Labels.routingState] = next;
    annotations[Annotations.routingStateModified] = rfc3339(now);
  }
  const same =
    labels[Labels.routingState] === rev.metadata.labels?.[Labels.routingState] &&
    annotations[Annotations.routes] === rev.metadata.annotations?.[Annotations.routes] &&
    annotations[Annotations.routingStateModified] === rev.metadata.annotations?.[Annotations.routingStateModified];
  return same ? undefined : { labels, annotations };
}

/** Which routes name each revision and each configuration of a namespace. */
export function routesByTarget(routes: readonly KObject[]): { revisions: Map<string, string[]>; configurations: Map<string, string[]> } {
  const revisions = new Map<string, string[]>();
  const configurations = new Map<string, string[]>();
  const add = (m: Map<string, string[]>, k: string, route: string) => {
    const l = m.get(k) ?? [];
    if (!l.includes(route)) l.push(route);
    m.set(k, l);
  };
  for (const r of routes) {
    if (r.metadata.deletionTimestamp) continue;
    const route = r.metadata.name!;
    for (const key of referencedRevisions([r])) add(revisions, key.slice(key.indexOf('/') + 1), route);
    const targets: unknown[] = Array.isArray(r.spec?.traffic) ? r.spec.traffic : [];
    for (const t of targets) {
      const c = (t as { configurationName?: unknown })?.configurationName;
      if (typeof c === 'string' && c) add(configurations, c, route);
    }
  }
  return { revisions, configurations };
}

/**
 * Brings the Revisions and Configurations one route names now, or named before (their routes
 * annotation lists it), in line with every route naming them. Found through the listers'
 * indexes, so the cost is that of the objects concerned, not of the namespace.
 */
export async function syncRoutingLabels(ctx: ControllerContext, ns: string, route: string): Promise<void> {
  const { routes, revisions, configurations } = ctx.listers;
  const now = ctx.now();
  const current = routes.get(ns, route);
  const named = current
    ? routesByTarget([current])
    : { revisions: new Map<string, string[]>(), configurations: new Map<string, string[]>() };
  const key = `${ns}/${route}`;

  const revisionNames = new Set([...named.revisions.keys(), ...revisions.byIndex(BY_ROUTES_ANNOTATION, key).map((r) => r.metadata.name!)]);
  for (const name of revisionNames) {
    const rev = revisions.get(ns, name);
    if (!rev) continue;
    const naming = routesByTarget(routes.byIndex(ROUTES_BY_REVISION, `${ns}/${name}`)).revisions.get(name) ?? [];
    const change = revisionRoutingMeta(rev, naming, now);
    if (change) await ctx.store.update(RES.revisions, { ...rev, metadata: { ...rev.metadata, ...change } });
  }

  const configurationNames = new Set([
    ...named.configurations.keys(),
    ...configurations.byIndex(BY_ROUTES_ANNOTATION, key).map((c) => c.metadata.name!),
  ]);
  for (const name of configurationNames) {
    const cfg = configurations.get(ns, name);
    if (!cfg) continue;
    const naming = routesByTarget(routes.byIndex(ROUTES_BY_CONFIGURATION, `${ns}/${name}`)).configurations.get(name) ?? [];
    const want = [...naming].sort().join(',');
    const have = cfg.metadata.annotations?.[Annotations.routes] ?? '';
    if (want === have) continue;
    const annotations = { ...(cfg.metadata.annotations ?? {}) };
    if (want) annotations[Annotations.routes] = want;
    else delete annotations[Annotations.routes];
    await ctx.store.update(RES.configurations, { ...cfg, metadata: { ...cfg.metadata, annotations } });
  }
}
