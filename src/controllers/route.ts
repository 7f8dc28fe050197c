// Route reconciler: resolves traffic to revisions, publishes the host table to the gateway, and
// reports url, address and per-target traffic (with tag URLs) on status, as Knative does.

import { conditionOf, rollUp, type ConditionInput } from '../api/conditions.js';
import type { KObject, RouteStatus, TrafficTarget } from '../api/types.js';
import type { HostRoute } from '../dataplane/types.js';
import { type ControllerContext, type DataPlaneSink, RES } from './context.js';
import { revisionKey } from './revision.js';
import { writeStatus } from './status.js';
import { type ResolvedTarget, resolveTraffic, routeHosts } from './traffic.js';

/** Every route's hosts, flattened into the gateway's table whenever one route changes. */
export class RouteTable {
  private readonly byRoute = new Map<string, HostRoute[]>();
  /** Every route seen, routed yet or not: revisions and configurations changing wake them. */
  private readonly known = new Set<string>();
  constructor(private readonly sink: DataPlaneSink) {}

  remember(ns: string, name: string, exists: boolean): void {
    if (exists) this.known.add(`${ns}/${name}`);
    else this.known.delete(`${ns}/${name}`);
  }

  set(ns: string, name: string, hosts: HostRoute[] | undefined): void {
    const key = `${ns}/${name}`;
    if (hosts) this.byRoute.set(key, hosts);
    else this.byRoute.delete(key);
    this.sink.setRoutes([...this.byRoute.values()].flat());
  }

  has(ns: string, name: string): boolean {
    return this.byRoute.has(`${ns}/${name}`);
  }

  routeKeysIn(ns: string): string[] {
    return [...this.known].filter((k) => k.startsWith(`${ns}/`)).map((k) => k.slice(ns.length + 1));
  }
}

export function hostRoutesFor(ns: string, name: string, domain: string, targets: ResolvedTarget[]): HostRoute[] {
  const hosts = routeHosts(name, ns, domain);
  // Targets naming the same revision are merged, so the split is by revision.
  const byRevision = new Map<string, number>();
  for (const t of targets) byRevision.set(t.revisionName, (byRevision.get(t.revisionName) ?? 0) + t.percent);
  const routes: HostRoute[] = [
    {
      host: hosts.main,
      targets: [...byRevision].filter(([, p]) => p > 0).map(([r, percent]) => ({ revisionKey: revisionKey(ns, r), percent })),
    },
  ];
  for (const t of targets) {
    if (t.tag) routes.push({ host: hosts.tag(t.tag), targets: [{ revisionKey: revisionKey(ns, t.revisionName), percent: 100 }] });
  }
  return routes;
}

export async function reconcileRoute(ctx: ControllerContext, table: RouteTable, ns: string, name: string): Promise<void> {
  const route = await ctx.store.get(RES.routes, ns, name);
  table.remember(ns, name, !!route);
  if (!route || route.metadata.deletionTimestamp) {
    table.set(ns, name, undefined);
    return;
  }
  const revisions = new Map((await ctx.store.list(RES.revisions, ns)).items.map((r) => [r.metadata.name!, r]));
  const traffic: TrafficTarget[] = route.spec?.traffic ?? [];
  const configs = new Map<string, KObject | undefined>();
  for (const t of traffic) {
    if (t.configurationName && !configs.has(t.configurationName)) {
      configs.set(t.configurationName, await ctx.store.get(RES.configurations, ns, t.configurationName));
    }
  }
  const { targets, problem } = resolveTraffic(traffic, {
    revision: (n) => {
      const r = revisions.get(n);
      return { exists: !!r, ready: conditionOf(r?.status?.conditions, 'Ready')?.status ?? 'Unknown' };
    },
    latestReady: (c) => {
      const cfg = configs.get(c);
      return { exists: !!cfg, latestReady: cfg?.status?.latestReadyRevisionName };
    },
  });

  const domain = ctx.domain();
  const hosts = routeHosts(name, ns, domain);
  // The domain may carry the gateway's port for clickable URLs; routing matches hosts without it.
  const routingDomain = domain.replace(/:\d+$/, '');
  // A target that cannot be resolved keeps the last good routing (Knative does not drop traffic).
  const complete = !problem || problem.reason === 'RevisionFailed' || (problem.status === 'Unknown' && targets.length === traffic.length);
  if (complete) table.set(ns, name, hostRoutesFor(ns, name, routingDomain, targets));
  else if (!table.has(ns, name) && route.status?.traffic?.length) {
    // After a restart the last good routing is the one the status recorded.
    const last = (route.status.traffic as TrafficTarget[]).map((t) => ({
      tag: t.tag,
      revisionName: t.revisionName!,
      latestRevision: !!t.latestRevision,
      percent: t.percent ?? 0,
    }));
    table.set(ns, name, hostRoutesFor(ns, name, routingDomain, last));
  }

  const prev = (route.status ?? {}) as RouteStatus;
  const status: RouteStatus = {
    observedGeneration: route.metadata.generation,
    url: `http://${hosts.main}`,
    address: { url: `http://${hosts.main}` },
  };
  const assigned: ConditionInput = problem ?? { status: 'True' };
  if (complete) {
    status.traffic = targets.map((t) => {
      const out: TrafficTarget = {};
      if (t.tag) out.tag = t.tag;
      out.revisionName = t.revisionName;
      if (t.configurationName) out.configurationName = t.configurationName;
      out.latestRevision = t.latestRevision;
      out.percent = t.percent;
      if (t.tag) out.url = `http://${hosts.tag(t.tag)}`;
      return out;
    });
  } else if (prev.traffic) {
    status.traffic = prev.traffic;
  }
  const ingress: ConditionInput = table.has(ns, name)
    ? { status: 'True' }
    : { status: 'Unknown', reason: 'IngressNotConfigured', message: 'Ingress has not yet been reconciled.' };
  status.conditions = rollUp(route.status?.conditions, { AllTrafficAssigned: assigned, IngressReady: ingress });
  await writeStatus(ctx.store, RES.routes, route, status as Record<string, unknown>);
}
