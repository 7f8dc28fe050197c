// Revision reconciler: asks the runtime for the revision's instances (as many as the autoscaler
// wants), hands the ready ones to the gateway, and reports them on status as Knative does
// (ResourcesAvailable, ContainerHealthy → Ready; Active shown alongside; actual/desired replicas).

import { conditionOf, rollUp, type ConditionInput } from '../api/conditions.js';
import { DEFAULTS } from '../api/defaults.js';
import type { Container, KObject, RevisionStatus } from '../api/types.js';
import { Labels } from '../api/types.js';
import type { WorkloadFailure, WorkloadSpec, WorkloadStatus } from '../runtime/runtime.js';
import { type ControllerContext, RES, type ScaleSource } from './context.js';
import { writeStatus } from './status.js';

export const revisionKey = (ns: string, name: string) => `${ns}/${name}`;

/**
 * Optional extras a ScaleSource may offer: the autoscaler can require a tighter per-instance
 * limit than the revision declares (the event-gateway class serves one request per instance).
 */
export interface GatewayConcurrencyHint {
  gatewayConcurrency(rev: KObject): number | undefined;
}

function concurrencyHint(scale: ScaleSource | undefined, rev: KObject): number | undefined {
  const h = scale as (ScaleSource & Partial<GatewayConcurrencyHint>) | undefined;
  return typeof h?.gatewayConcurrency === 'function' ? h.gatewayConcurrency(rev) : undefined;
}

export function backendFor(rev: KObject, st: WorkloadStatus | undefined, scale?: ScaleSource) {
  return {
    key: revisionKey(rev.metadata.namespace!, rev.metadata.name!),
    endpoints: (st?.instances ?? []).filter((i) => i.ready).map((i) => ({ id: i.id, host: i.host, port: i.port })),
    containerConcurrency: concurrencyHint(scale, rev) ?? rev.spec?.containerConcurrency ?? DEFAULTS.containerConcurrency,
    timeoutSeconds: rev.spec?.timeoutSeconds ?? DEFAULTS.revisionTimeoutSeconds,
    responseStartTimeoutSeconds: rev.spec?.responseStartTimeoutSeconds,
    idleTimeoutSeconds: rev.spec?.idleTimeoutSeconds,
    protocol: servingProtocol(rev),
  };
}

/**
 * Knative's protocol rule: the serving container's port named `h2c` means HTTP/2 cleartext, any
 * other name (or none) HTTP/1.1. The serving container is the one that declares a port.
 */
export function servingProtocol(rev: KObject): 'http1' | 'h2c' {
  const containers: Array<{ ports?: Array<{ name?: string }> }> = Array.isArray(rev.spec?.containers) ? rev.spec.containers : [];
  const serving = containers.find((c) => Array.isArray(c?.ports) && c.ports.length > 0) ?? containers[0];
  return serving?.ports?.[0]?.name === 'h2c' ? 'h2c' : 'http1';
}

/** What the runtime needs to run `replicas` instances of the revision. */
export function workloadSpecFor(rev: KObject, replicas: number): WorkloadSpec {
  const ns = rev.metadata.namespace!;
  const name = rev.metadata.name!;
  return {
    key: revisionKey(ns, name),
    namespace: ns,
    revision: name,
    configuration: rev.metadata.labels?.[Labels.configuration] ?? '',
    service: rev.metadata.labels?.[Labels.service],
    podSpec: rev.spec,
    container: rev.spec.containers.find((c: Container) => Array.isArray(c.ports) && c.ports.length > 0) ?? rev.spec.containers[0],
    labels: rev.metadata.labels ?? {},
    annotations: rev.metadata.annotations ?? {},
    replicas,
  };
}

/** Pushes the revision's ready instances to the gateway (called on every runtime change). */
export async function pushBackend(ctx: ControllerContext, ns: string, name: string): Promise<void> {
  const rev = ctx.listers.revisions.get(ns, name);
  if (!rev) return;
  ctx.dataplane.setRevision(backendFor(rev, ctx.runtime.status(revisionKey(ns, name)), ctx.scale));
}

/**
 * A runtime failure as Knative's revision reconciler shows it: ContainerHealthy carries the
 * container's last termination (ExitCode<N>), ResourcesAvailable what keeps it from running
 * (CrashLoopBackOff, ContainerMissing for an image that cannot be had, …), both with its message.
 */
export function failureConditions(f: WorkloadFailure): { health: ConditionInput; resources: ConditionInput } {
  // An image with no local mapping is Sluice's "image cannot be pulled".
  const reason = f.reason === 'ImageNotMapped' ? 'ContainerMissing' : f.reason;
  // A container waiting for a ConfigMap or Secret never ran: Knative shows its waiting reason on
  // ResourcesAvailable only, and ContainerHealthy stays as it was while deploying.
  if (reason === 'CreateContainerConfigError' || reason === 'FailedMount')
    return { health: { status: 'Unknown', reason: 'Deploying' }, resources: { status: 'False', reason, message: f.message } };
  return {
    health: { status: 'False', reason: f.terminationReason ?? reason, message: f.message },
    resources: { status: 'False', reason, message: f.message },
  };
}

export function revisionConditions(
  prev: RevisionStatus | undefined,
  st: WorkloadStatus | undefined,
  desired: number,
): { dependents: Record<string, ConditionInput>; active: ConditionInput } {
  const ready = st?.readyReplicas ?? 0;
  const wasAvailable = conditionOf(prev?.conditions, 'ResourcesAvailable')?.status === 'True';
  let resources: ConditionInput;
  let health: ConditionInput;
  if (st?.failure) {
    const f = failureConditions(st.failure);
    health = f.health;
    resources = ready > 0 || wasAvailable ? { status: 'True' } : f.resources;
  } else if (ready > 0) {
    health = { status: 'True' };
    resources = { status: 'True' };
  } else if (desired === 0 || wasAvailable) {
    // Scaled to zero (or asked to start at zero with initial-scale 0), or starting again from zero
    // after having served: nothing is wrong with it, so it stays Ready (as in Knative) and nothing
    // that depends on it (configuration, route, service) flaps at every cold start.
    health = { status: 'True' };
    resources = { status: 'True' };
  } else {
    health = { status: 'Unknown', reason: 'Deploying' };
    resources = { status: 'Unknown', reason: 'Deploying' };
  }
  const active: ConditionInput =
    ready > 0
      ? { status: 'True' }
      : desired === 0
        ? { status: 'False', reason: 'NoTraffic', message: 'The target is not receiving traffic.' }
        : { status: 'Unknown', reason: 'Activating', message: 'The revision is starting its first instance.' };
  return { dependents: { ContainerHealthy: health, ResourcesAvailable: resources }, active };
}

export async function reconcileRevision(ctx: ControllerContext, ns: string, name: string): Promise<void> {
  const rev = ctx.listers.revisions.get(ns, name);
  const key = revisionKey(ns, name);
  if (!rev) {
    // Deleted (the API server cascades deletes along ownerReferences, as Kubernetes' garbage
    // collector does): stop its instances and forget it in the gateway.
    ctx.dataplane.removeRevision(key);
    await ctx.runtime.remove(key);
    return;
  }
  // The autoscaler is the one writer of the instance count (it applies it to the runtime, as
  // Knative's KPA scaler is the one writer of the Deployment's replicas); this only reports it.
  const desired = ctx.scale.desiredReplicas(rev);
  const st = ctx.runtime.status(key);
  ctx.dataplane.setRevision(backendFor(rev, st, ctx.scale));
  const { dependents, active } = revisionConditions(rev.status, st, desired);
  const status: RevisionStatus = {
    observedGeneration: rev.metadata.generation,
    conditions: rollUp(rev.status?.conditions, dependents, { Active: active }),
    actualReplicas: st?.readyReplicas ?? 0,
    desiredReplicas: desired,
    containerStatuses: (rev.spec?.containers ?? [{}]).map((c) => ({ name: c.name ?? DEFAULTS.containerNameTemplate })),
  };
  await writeStatus(ctx.store, RES.revisions, rev, status as Record<string, unknown>);
}
