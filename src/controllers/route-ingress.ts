// What a Route programs into the gateway (pure): its resolved targets, after any gradual rollout,
// become the host table entries — the route's own host with its split, header rules (Knative's
// tag header, then the route's sluice.dev/traffic-rules) and sticky policy, and one host per tag;
// on the public domain unless the route is cluster-local, and always at its cluster-local names.

import type { StickySpec, TrafficRule } from '../api/traffic-annotations.js';
import { CLUSTER_LOCAL_DOMAIN, expandedHosts } from '../api/visibility.js';
import type { HostRoute, RouteRule, WeightedTarget } from '../dataplane/types.js';
import { revisionKey } from './revision.js';
import { type ResolvedTarget, routeHosts } from './traffic.js';

/** Knative's request header naming the tag to route to (when tag-header-based-routing is enabled). */
export const TAG_HEADER = 'knative-serving-tag';

export interface IngressOptions {
  /** config-features tag-header-based-routing is Enabled. */
  tagHeaderRouting?: boolean;
  /** Rules from sluice.dev/traffic-rules; a rule naming an unknown tag is skipped. */
  rules?: readonly TrafficRule[];
  sticky?: StickySpec;
  /** Sorts revision names newest first (for sticky ranges); defaults to descending name. */
  newestFirst?: (a: string, b: string) => number;
}

const byNameDescending = (a: string, b: string) => (a < b ? 1 : a > b ? -1 : 0);

export function hostRoutesFor(
  ns: string,
  name: string,
  domain: string,
  targets: readonly ResolvedTarget[],
  opts: IngressOptions = {},
): HostRoute[] {
  const hosts = routeHosts(name, ns, domain);
  // Targets naming the same revision are merged, so the split is by revision.
  const byRevision = new Map<string, number>();
  for (const t of targets) byRevision.set(t.revisionName, (byRevision.get(t.revisionName) ?? 0) + t.percent);
  let main = [...byRevision].filter(([, p]) => p > 0);
  // Sticky ranges are laid out newest first, so a growing new revision only takes clients from its neighbour.
  if (opts.sticky) main = main.sort(([a], [b]) => (opts.newestFirst ?? byNameDescending)(a, b));
  const route: HostRoute = { host: hosts.main, targets: main.map(([r, percent]) => ({ revisionKey: revisionKey(ns, r), percent })) };

  const byTag = new Map<string, WeightedTarget[]>();
  for (const t of targets) {
    if (!t.tag) continue;
    const list = byTag.get(t.tag) ?? [];
    list.push({ revisionKey: revisionKey(ns, t.revisionName), percent: t.percent });
    byTag.set(t.tag, list);
  }
  // A tag is one revision, or (mid-rollout of a tagged latestRevision target) several by their percents.
  const tagTargets = (tag: string): WeightedTarget[] | undefined => {
    const list = byTag.get(tag);
    if (!list) return undefined;
    if (list.length === 1 || list.every((t) => t.percent <= 0)) return [{ revisionKey: list[list.length - 1].revisionKey, percent: 100 }];
    return list.filter((t) => t.percent > 0);
  };

  const rules: RouteRule[] = [];
  if (opts.tagHeaderRouting) {
    for (const tag of byTag.keys()) rules.push({ headers: { [TAG_HEADER]: { exact: tag } }, targets: tagTargets(tag)! });
  }
  for (const r of opts.rules ?? []) {
    const to = tagTargets(r.tag);
    if (!to) continue;
    const rule: RouteRule = { targets: to };
    if (r.headers) rule.headers = r.headers;
    if (r.cookies) rule.cookies = r.cookies;
    rules.push(rule);
  }
  if (rules.length) route.rules = rules;
  if (opts.sticky) route.sticky = { from: opts.sticky.from, name: opts.sticky.name };

  const out: HostRoute[] = [route];
  for (const tag of byTag.keys()) out.push({ host: hosts.tag(tag), targets: tagTargets(tag)! });
  return out;
}

/**
 * Every host a route is served at: its public hosts (on `domain`) unless it is cluster-local, and
 * always its cluster-local ones (`{name}.{namespace}.svc.cluster.local`, the short forms, and the
 * same per tag), which only the gateway's internal listener answers.
 */
export function routeIngress(
  ns: string,
  name: string,
  domain: string,
  targets: readonly ResolvedTarget[],
  opts: IngressOptions,
  clusterLocal: boolean,
): HostRoute[] {
  const local = hostRoutesFor(ns, name, CLUSTER_LOCAL_DOMAIN, targets, opts).flatMap((r) =>
    expandedHosts(r.host).map((host): HostRoute => ({ ...r, host, visibility: 'cluster-local' })),
  );
  return clusterLocal ? local : [...hostRoutesFor(ns, name, domain, targets, opts), ...local];
}
