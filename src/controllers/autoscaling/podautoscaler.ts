// The PodAutoscaler object Sluice keeps per revision (autoscaling.internal.knative.dev/v1alpha1,
// as Knative's revision reconciler creates it) and the pure helpers behind its fields:
// reachability from the routes, labels, spec, and the status the autoscaler reports.

import { rollUp, type ConditionInput } from '../../api/conditions.js';
import type { Condition, KObject } from '../../api/types.js';
import { Labels } from '../../api/types.js';
import { ownerRef } from '../context.js';

export const PA_API_VERSION = 'autoscaling.internal.knative.dev/v1alpha1';

export type Reachability = 'Reachable' | 'Unreachable' | 'Unknown';
/** Knative's serving.knative.dev/routingState: pending = never routed yet, reserve = no longer routed. */
export type RoutingState = 'pending' | 'active' | 'reserve';

/**
 * Revisions some route refers to, as "{namespace}/{name}": every traffic target counts, 0% and
 * tagged ones included (Knative's labeler marks all of them routingState=active).
 */
export function referencedRevisions(routes: readonly KObject[]): Set<string> {
  const out = new Set<string>();
  for (const r of routes) {
    if (r.metadata.deletionTimestamp) continue;
    const ns = r.metadata.namespace ?? '';
    const targets = [
      ...(Array.isArray(r.status?.traffic) ? r.status.traffic : []),
      ...(Array.isArray(r.spec?.traffic) ? r.spec.traffic : []),
    ];
    for (const t of targets) if (t && typeof t.revisionName === 'string' && t.revisionName) out.add(`${ns}/${t.revisionName}`);
  }
  return out;
}

/** The routing state after this observation: once routed, a revision no route refers to is in reserve. */
export function nextRoutingState(prev: RoutingState, referenced: boolean): RoutingState {
  if (referenced) return 'active';
  return prev === 'pending' ? 'pending' : 'reserve';
}

/**
 * Knative's rule (revision/resources/pa.go): a revision whose containers failed is unreachable,
 * otherwise active → Reachable, reserve → Unreachable, pending → Unknown (treated as reachable:
 * min-scale and initial-scale apply to a revision that is still being rolled out).
 */
export function reachabilityOf(routing: RoutingState, failed: boolean): Reachability {
  if (failed) return 'Unreachable';
  return routing === 'active' ? 'Reachable' : routing === 'reserve' ? 'Unreachable' : 'Unknown';
}

const COPIED_ANNOTATION_PREFIXES = ['autoscaling.knative.dev/', 'sluice.dev/'];

/** Metadata and spec of a revision's PodAutoscaler (status is written separately). */
export function podAutoscalerFor(
  rev: KObject,
  routing: RoutingState,
  reachability: Reachability,
  scaleTarget?: { apiVersion: string; kind: string; name: string },
): KObject {
  const name = rev.metadata.name!;
  const labels: Record<string, string> = {
    ...(rev.metadata.labels ?? {}),
    [Labels.revision]: name,
    [Labels.revisionUID]: rev.metadata.uid ?? '',
    [Labels.routingState]: routing,
  };
  const annotations: Record<string, string> = {};
  for (const [k, v] of Object.entries(rev.metadata.annotations ?? {})) {
    if (COPIED_ANNOTATION_PREFIXES.some((p) => k.startsWith(p))) annotations[k] = v;
  }
  return {
    apiVersion: PA_API_VERSION,
    kind: 'PodAutoscaler',
    metadata: {
      name,
      namespace: rev.metadata.namespace,
      labels,
      ...(Object.keys(annotations).length ? { annotations } : {}),
      ownerReferences: [ownerRef(rev)],
    },
    spec: {
      containerConcurrency: rev.spec?.containerConcurrency ?? 0,
      // What the runtime scales: a Deployment on Kubernetes, else the local runtime's workload.
      scaleTargetRef: scaleTarget ?? { apiVersion: 'runtime.sluice.dev/v1', kind: 'Workload', name },
      protocolType: 'http1',
      reachability,
    },
  };
}

export type ActiveState = 'activating' | 'active' | 'inactive';

export interface PaStatusInput {
  generation?: number;
  class: string;
  desired: number;
  actual: number;
  mode: string;
  active: ActiveState;
  /** The target reached its initial scale once (Knative's ScaleTargetInitialized). */
  initialized: boolean;
  metrics?: Record<string, number | string>;
  reason?: string;
  error?: string;
  previous?: Condition[];
}

const ACTIVE: Record<ActiveState, ConditionInput> = {
  active: { status: 'True' },
  activating: { status: 'Unknown', reason: 'Queued', message: 'Requests to the target are being buffered as resources are provisioned.' },
  inactive: { status: 'False', reason: 'NoTraffic', message: 'The target is not receiving traffic.' },
};

/** The PodAutoscaler's status; conditions roll up into Ready as in Knative (NoTraffic at zero). */
export function podAutoscalerStatus(i: PaStatusInput, now?: () => string): Record<string, unknown> {
  const conditions = rollUp(
    i.previous,
    {
      Active: ACTIVE[i.active],
      ScaleTargetInitialized: i.initialized
        ? { status: 'True' }
        : { status: 'Unknown', reason: 'Queued', message: 'The target has not reached its initial scale yet.' },
      // Sluice's gateway is always in the request path (Knative: the activator via the SKS).
      SKSReady: { status: 'True' },
    },
    {},
    now,
  );
  return {
    ...(i.generation !== undefined ? { observedGeneration: i.generation } : {}),
    class: i.class,
    desiredScale: i.desired,
    actualScale: i.actual,
    mode: i.mode,
    ...(i.metrics && Object.keys(i.metrics).length ? { metrics: i.metrics } : {}),
    ...(i.reason ? { reason: i.reason } : {}),
    ...(i.error ? { error: i.error } : {}),
    conditions,
  };
}

/** Rounds metric values for display and to keep status writes from differing only in noise. */
export function metricsView(details: Record<string, unknown>, metric: string): Record<string, number | string> {
  const r = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? Math.round(x * 1000) / 1000 : undefined);
  const out: Record<string, number | string> = {};
  const put = (k: string, v: unknown) => {
    const n = r(v);
    if (n !== undefined) out[k] = n;
  };
  if ('observedStable' in details || 'recommendation' in details) {
    // KPA: the stable and panic averages of the scaling metric, and the per-instance target.
    out.metric = metric;
    put('stableValue', details.observedStable);
    put('panicValue', details.observedPanic);
    put('target', details.target);
    put('desiredStable', details.desiredStable);
    put('desiredPanic', details.desiredPanic);
    put('excessBurstCapacity', details.excessBurstCapacity);
  } else if ('metricName' in details) {
    out.metric = String(details.metricName);
    put('value', details.metric);
    put('target', details.target);
    put('ratio', details.ratio);
  } else {
    for (const [k, v] of Object.entries(details)) {
      if (typeof v === 'number') put(k, v);
      else if (typeof v === 'string' && k !== 'reason') out[k] = v;
    }
  }
  return out;
}
