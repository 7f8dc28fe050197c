// What every reconciler gets: the store, the runtime, the data plane, and cluster settings.

import type { GcConfig } from '../api/config-gc.js';
import type { KObject } from '../api/types.js';
import type { HostRoute, RevisionBackend } from '../dataplane/types.js';
import type { Runtime } from '../runtime/runtime.js';
import type { Store } from '../store/store.js';
import type { Listers } from './listers.js';

/** The part of the gateway the controllers drive (the gateway implements it). */
export interface DataPlaneSink {
  /** Sets the hosts of one route ("ns/name"), replacing the ones it had; [] removes them. */
  setRoute(owner: string, routes: HostRoute[]): void;
  setRevision(backend: RevisionBackend): void;
  removeRevision(key: string): void;
  /**
   * Resolves once the tables set so far are what the gateway serves. A gateway in other processes
   * applies them later; a Route is IngressReady only after this, as Knative's ingress is Ready only
   * once its prober saw every gateway pod serve the new configuration.
   */
  synced?(): Promise<void>;
}

/**
 * How many instances a revision should run; the autoscaler implements it, and is the one that
 * applies the count to the runtime (asking starts tracking the revision).
 */
export interface ScaleSource {
  desiredReplicas(revision: KObject): number;
}

export interface ControllerContext {
  /** Writes go to the store; reads come from the listers (kept by watches). */
  store: Store;
  listers: Listers;
  runtime: Runtime;
  dataplane: DataPlaneSink;
  scale: ScaleSource;
  /** Domain for route URLs, e.g. "example.com" → http://{name}.{namespace}.example.com */
  domain: () => string;
  enqueue: (kind: ReconcileKind, namespace: string, name: string) => void;
  /** Reconciles the object again after delayMs (a timed step, e.g. of a gradual rollout). */
  enqueueAfter: (kind: ReconcileKind, namespace: string, name: string, delayMs: number) => void;
  /** Wall-clock milliseconds (Date.now unless a test injects a clock). */
  now: () => number;
  log: (msg: string) => void;
  /** config-gc as currently parsed; without it revisions are never collected. */
  gcConfig?: () => GcConfig;
}

/** RoutingLabels is keyed by route, RevisionGC by configuration. */
export type ReconcileKind = 'Service' | 'Configuration' | 'Revision' | 'Route' | 'RoutingLabels' | 'RevisionGC' | 'DomainMapping';

/** Store keys of the resources the controllers use. */
export { R as RES } from '../api/resources.js';

export function ownerRef(owner: KObject) {
  return {
    apiVersion: owner.apiVersion,
    kind: owner.kind,
    name: owner.metadata.name!,
    uid: owner.metadata.uid!,
    controller: true,
    blockOwnerDeletion: true,
  };
}

export function isControlledBy(obj: KObject, owner: KObject): boolean {
  return !!obj.metadata.ownerReferences?.some((r) => r.uid === owner.metadata.uid && r.controller);
}
