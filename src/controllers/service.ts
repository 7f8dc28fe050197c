// Service reconciler: a Service owns a Configuration and a Route of its name; its status is
// theirs, rolled up (ConfigurationsReady, RoutesReady → Ready), as Knative's does.

import { isDeepStrictEqual } from 'node:util';
import { conditionOf, rollUp, type ConditionInput } from '../api/conditions.js';
import type { KObject, ServiceStatus, TrafficTarget } from '../api/types.js';
import { Annotations, Labels } from '../api/types.js';
import { type ControllerContext, RES, isControlledBy, ownerRef } from './context.js';
import { writeStatus } from './status.js';

const childLabels = (svc: KObject) => ({
  ...(svc.metadata.labels ?? {}),
  [Labels.service]: svc.metadata.name!,
  [Labels.serviceUID]: svc.metadata.uid!,
});

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** Knative gives a Service's Configuration and Route all its annotations but kubectl's last-applied copy. */
const childAnnotations = (svc: KObject) => {
  const a: Record<string, string> = { ...(svc.metadata.annotations ?? {}) };
  delete a[LAST_APPLIED];
  return a;
};

/** The Route's traffic: latestRevision targets point at the Service's own configuration. */
export function routeTrafficFor(svc: KObject): TrafficTarget[] {
  const traffic: TrafficTarget[] = svc.spec?.traffic ?? [{ latestRevision: true, percent: 100 }];
  return traffic.map((t) => (t.latestRevision ? { ...t, configurationName: svc.metadata.name } : { ...t }));
}

async function ensureChild(
  ctx: ControllerContext,
  resource: typeof RES.configurations | typeof RES.routes,
  svc: KObject,
  desired: KObject,
): Promise<{ child?: KObject; problem?: ConditionInput }> {
  const ns = svc.metadata.namespace!;
  const lister = resource === RES.configurations ? ctx.listers.configurations : ctx.listers.routes;
  const existing: KObject | undefined = lister.get(ns, desired.metadata.name!);
  if (!existing) return { child: await ctx.store.create(resource, desired) };
  if (!isControlledBy(existing, svc)) {
    return {
      problem: {
        status: 'False',
        reason: 'NotOwned',
        message: `There is an existing ${desired.kind} "${desired.metadata.name}" that we do not own.`,
      },
    };
  }
  // The Service owns its children's labels and annotations (an annotation it drops goes from them
  // too), except the routes annotation the labeler keeps on them.
  const annotations = { ...(desired.metadata.annotations ?? {}) };
  const routes = existing.metadata.annotations?.[Annotations.routes];
  if (routes !== undefined) annotations[Annotations.routes] = routes;
  const same =
    isDeepStrictEqual(existing.spec, desired.spec) &&
    isDeepStrictEqual(existing.metadata.labels ?? {}, desired.metadata.labels) &&
    isDeepStrictEqual(existing.metadata.annotations ?? {}, annotations);
  if (same) return { child: existing };
  return {
    child: await ctx.store.update(resource, {
      ...existing,
      spec: desired.spec,
      metadata: {
        ...existing.metadata,
        labels: desired.metadata.labels,
        annotations,
      },
    }),
  };
}

const fromChild = (child: KObject | undefined, kindLabel: string): ConditionInput => {
  if (!child) return { status: 'Unknown', reason: `${kindLabel}Missing` };
  if (child.status?.observedGeneration !== child.metadata.generation) {
    return {
      status: 'Unknown',
      reason: 'OutOfDate',
      message: `The ${kindLabel} is still working to reflect the latest desired specification.`,
    };
  }
  const ready = conditionOf(child.status?.conditions, 'Ready');
  if (!ready) return { status: 'Unknown' };
  return { status: ready.status, reason: ready.reason, message: ready.message };
};

export async function reconcileService(ctx: ControllerContext, ns: string, name: string): Promise<void> {
  const svc = ctx.listers.services.get(ns, name);
  if (!svc?.spec || svc.metadata.deletionTimestamp) return;
  const spec = svc.spec;
  const labels = childLabels(svc);
  const owner = [ownerRef(svc)];

  const cfgRes = await ensureChild(ctx, RES.configurations, svc, {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Configuration',
    metadata: { name, namespace: ns, labels, annotations: childAnnotations(svc), ownerReferences: owner },
    spec: { template: spec.template },
  });
  const routeRes = await ensureChild(ctx, RES.routes, svc, {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Route',
    metadata: { name, namespace: ns, labels, annotations: childAnnotations(svc), ownerReferences: owner },
    spec: { traffic: routeTrafficFor(svc) },
  });

  const cfg = cfgRes.child;
  const route = routeRes.child;
  const cfgCond = cfgRes.problem ?? fromChild(cfg, 'Configuration');
  let routeCond = routeRes.problem ?? fromChild(route, 'Route');
  // Knative reports a Route still pointing at an older revision as not ready yet.
  const status: ServiceStatus = {
    observedGeneration: svc.metadata.generation,
    conditions: [],
  };
  if (cfg?.status?.latestCreatedRevisionName) status.latestCreatedRevisionName = cfg.status.latestCreatedRevisionName;
  if (cfg?.status?.latestReadyRevisionName) status.latestReadyRevisionName = cfg.status.latestReadyRevisionName;
  if (route?.status?.url) status.url = route.status.url;
  if (route?.status?.address) status.address = route.status.address;
  if (route?.status?.traffic) {
    status.traffic = route.status.traffic.map((t: TrafficTarget) => {
      // The Service's status shows targets without the internal configurationName.
      const { configurationName: _c, ...rest } = t;
      return rest;
    });
  }
  if (routeCond.status === 'True' && cfgCond.status === 'True' && cfg?.status?.latestReadyRevisionName) {
    const traffic = spec.traffic ?? [];
    const wantsLatest = traffic.length === 0 || traffic.some((t) => t.latestRevision);
    const latestInRoute = route?.status?.traffic?.some(
      (t: TrafficTarget) => t.latestRevision && t.revisionName === cfg.status.latestReadyRevisionName,
    );
    if (wantsLatest && !latestInRoute) {
      routeCond = { status: 'Unknown', reason: 'RevisionMissing', message: 'Route is not yet pointing at the latest ready revision.' };
    }
  }
  status.conditions = rollUp(svc.status?.conditions, { ConfigurationsReady: cfgCond, RoutesReady: routeCond });
  await writeStatus(ctx.store, RES.services, svc, status as Record<string, unknown>);
}
