// Route reconciler: resolves traffic to revisions, steps a gradual rollout (route-rollout.ts),
// publishes the host table to the gateway (route-ingress.ts), and reports url, address and
// per-target traffic (with tag URLs, and a rollout's intermediate percents) on status, as Knative does.

import { conditionOf, rollUp, type ConditionInput } from '../api/conditions.js';
import { FEATURES_CONFIGMAP, isEnabled, parseFeatures } from '../api/features.js';
import type { KObject, RouteStatus, TrafficTarget } from '../api/types.js';
import type { HostRoute } from '../dataplane/types.js';
import { type ControllerContext, type DataPlaneSink, RES } from './context.js';
import {
  ROLLOUT_DURATION_ANNOTATION,
  STICKY_ANNOTATION,
  TRAFFIC_RULES_ANNOTATION,
  parseSticky,
  parseTrafficRules,
} from '../api/traffic-annotations.js';
import { type IngressOptions, routeIngress } from './route-ingress.js';
import { CLUSTER_LOCAL_DOMAIN, clusterLocalHost, isClusterLocal } from '../api/visibility.js';
import {
  ROLLOUT_STATE_KEY,
  buildRollout,
  latestTargets,
  nextStepTime,
  observeReady,
  parseRollout,
  rolloutDone,
  rolloutDurationSecs,
  serializeRollout,
  stepRollout,
  withRollout,
} from './route-rollout.js';
import { writeStatus } from './status.js';
import { type ResolvedTarget, resolveTraffic, routeHosts } from './traffic.js';

const CONFIG_NAMESPACE = 'knative-serving';

/** What config-network and config-features say about routing. */
interface RoutingConfig {
  /** config-network rollout-duration, integer seconds as text. */
  rolloutDuration?: string;
  /** config-features tag-header-based-routing is Enabled. */
  tagHeaderRouting: boolean;
}

async function readRoutingConfig(ctx: ControllerContext): Promise<RoutingConfig> {
  const network = await ctx.store.get(RES.configmaps, CONFIG_NAMESPACE, 'config-network');
  const features = await ctx.store.get(RES.configmaps, CONFIG_NAMESPACE, FEATURES_CONFIGMAP);
  return {
    rolloutDuration: (network?.data as Record<string, string> | undefined)?.['rollout-duration'],
    tagHeaderRouting: isEnabled(parseFeatures(features?.data as Record<string, unknown> | undefined), 'tag-header-based-routing'),
  };
}

/** The route's rules and sticky policy; admission refused invalid ones, so anything unparsable is ignored. */
function ingressOptions(route: KObject, config: RoutingConfig, revisions: Pick<Map<string, KObject>, 'get'>): IngressOptions {
  const anns = route.metadata.annotations ?? {};
  const opts: IngressOptions = { tagHeaderRouting: config.tagHeaderRouting };
  const rules = anns[TRAFFIC_RULES_ANNOTATION];
  if (rules !== undefined) {
    const parsed = parseTrafficRules(rules);
    if (parsed.errors.length === 0) opts.rules = parsed.rules;
  }
  const sticky = anns[STICKY_ANNOTATION] !== undefined ? parseSticky(anns[STICKY_ANNOTATION]) : undefined;
  if (sticky !== undefined && typeof sticky !== 'string') {
    opts.sticky = sticky;
    const created = (n: string) => revisions.get(n)?.metadata.creationTimestamp ?? '';
    opts.newestFirst = (a, b) => {
      const ca = created(a);
      const cb = created(b);
      if (ca !== cb) return ca < cb ? 1 : -1;
      return a < b ? 1 : a > b ? -1 : 0;
    };
  }
  return opts;
}

/** Which routes are in the gateway's table; each change goes to the gateway as that route's hosts only. */
export class RouteTable {
  private readonly routed = new Map<string, HostRoute[]>();
  /** Told of every change of a route's hosts (domain mappings follow the route they map to). */
  onChange?: (ns: string, name: string) => void;
  constructor(private readonly sink: DataPlaneSink) {}

  set(ns: string, name: string, hosts: HostRoute[] | undefined): void {
    const key = `${ns}/${name}`;
    if (hosts) this.routed.set(key, hosts);
    else if (!this.routed.delete(key)) return;
    this.sink.setRoute(key, hosts ?? []);
    this.onChange?.(ns, name);
  }

  has(ns: string, name: string): boolean {
    return this.routed.has(`${ns}/${name}`);
  }

  /** The hosts the route has in the gateway now, if any. */
  hostsOf(ns: string, name: string): readonly HostRoute[] | undefined {
    return this.routed.get(`${ns}/${name}`);
  }
}

export async function reconcileRoute(ctx: ControllerContext, table: RouteTable, ns: string, name: string): Promise<void> {
  const route = ctx.listers.routes.get(ns, name);
  if (!route || route.metadata.deletionTimestamp) {
    table.set(ns, name, undefined);
    return;
  }
  // Reads come from the listers: the cost of a reconcile is this route's targets, not the namespace.
  const revisions = { get: (n: string) => ctx.listers.revisions.get(ns, n) };
  const traffic: TrafficTarget[] = route.spec?.traffic ?? [];
  const { targets, problem } = resolveTraffic(traffic, {
    revision: (n) => {
      const r = revisions.get(n);
      return { exists: !!r, ready: conditionOf(r?.status?.conditions, 'Ready')?.status ?? 'Unknown' };
    },
    latestReady: (c) => {
      const cfg = ctx.listers.configurations.get(ns, c);
      return {
        exists: !!cfg,
        latestReady: cfg?.status?.latestReadyRevisionName,
        failed: conditionOf(cfg?.status?.conditions, 'Ready')?.status === 'False',
      };
    },
  });

  const domain = ctx.domain();
  // A cluster-local route's URLs are on the cluster domain, and only the internal listener serves it.
  const clusterLocal = isClusterLocal(route.metadata.labels);
  const hosts = routeHosts(name, ns, clusterLocal ? CLUSTER_LOCAL_DOMAIN : domain);
  // The domain may carry the gateway's port for clickable URLs; routing matches hosts without it.
  const routingDomain = domain.replace(/:\d+$/, '');
  // A target that cannot be resolved keeps the last good routing (Knative does not drop traffic).
  // (A failed or not-yet-ready revision is still a resolved target.)
  const complete = targets.length === traffic.length;
  const config = await readRoutingConfig(ctx);
  const opts = ingressOptions(route, config, revisions);
  const prev = (route.status ?? {}) as RouteStatus;
  const prevAnnotations = (prev.annotations ?? {}) as Record<string, string>;
  // Gradual rollout: step from the state kept on status (as Knative keeps it on its Ingress).
  const durationSecs = rolloutDurationSecs(route.metadata.annotations?.[ROLLOUT_DURATION_ANNOTATION], config.rolloutDuration);
  let effective: ResolvedTarget[] = targets;
  let rolloutState: string | undefined;
  let rolling = false;
  if (complete && durationSecs > 0) {
    const nowNs = ctx.now() * 1e6;
    const stepped = stepRollout(buildRollout(latestTargets(targets)), parseRollout(prevAnnotations[ROLLOUT_STATE_KEY]), nowNs).rollout;
    // The gateway takes the new table synchronously: the first 1% is in effect as soon as it is set.
    const ro = observeReady(stepped, nowNs, durationSecs);
    effective = withRollout(targets, ro);
    rolloutState = serializeRollout(ro);
    rolling = !rolloutDone(ro);
    const next = nextStepTime(ro);
    if (next > 0) ctx.enqueueAfter('Route', ns, name, Math.max(0, next / 1e6 - ctx.now()));
  } else if (!complete) {
    rolloutState = prevAnnotations[ROLLOUT_STATE_KEY];
  }
  if (complete) table.set(ns, name, routeIngress(ns, name, routingDomain, effective, opts, clusterLocal));
  else if (!table.has(ns, name) && route.status?.traffic?.length) {
    // After a restart the last good routing is the one the status recorded.
    const last = (route.status.traffic as TrafficTarget[]).map((t) => ({
      tag: t.tag,
      revisionName: t.revisionName!,
      latestRevision: !!t.latestRevision,
      percent: t.percent ?? 0,
    }));
    table.set(ns, name, routeIngress(ns, name, routingDomain, last, opts, clusterLocal));
  }

  const status: RouteStatus = {
    observedGeneration: route.metadata.generation,
    url: `http://${hosts.main}`,
    // Knative's address is the cluster-local one, whatever the visibility.
    address: { url: `http://${clusterLocalHost(name, ns)}` },
  };
  const assigned: ConditionInput = problem ?? { status: 'True' };
  if (complete) {
    status.traffic = effective.map((t) => {
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
  const otherAnnotations = Object.fromEntries(Object.entries(prevAnnotations).filter(([k]) => k !== ROLLOUT_STATE_KEY));
  if (rolloutState !== undefined) status.annotations = { ...otherAnnotations, [ROLLOUT_STATE_KEY]: rolloutState };
  else if (Object.keys(otherAnnotations).length) status.annotations = otherAnnotations;
  const ingress: ConditionInput = !table.has(ns, name)
    ? { status: 'Unknown', reason: 'IngressNotConfigured', message: 'Ingress has not yet been reconciled.' }
    : rolling
      ? { status: 'Unknown', reason: 'RolloutInProgress', message: 'A gradual rollout of the latest revision(s) is in progress.' }
      : { status: 'True' };
  status.conditions = rollUp(route.status?.conditions, { AllTrafficAssigned: assigned, IngressReady: ingress });
  // Ready means served: with gateway workers the table reaches them a moment after it is set.
  if (ingress.status === 'True') await ctx.dataplane.synced?.();
  await writeStatus(ctx.store, RES.routes, route, status as Record<string, unknown>);
}
