// Lifecycle events derived from what the controllers and the autoscaler write: it watches the
// store and records an Event when a revision is created, becomes ready or fails, when a route's
// traffic changes and when a PodAutoscaler's desired scale changes (with the autoscaler's reason).
// Each is recorded on the object itself and, when it belongs to a Knative Service, on the Service
// too, so `kubectl describe ksvc NAME` tells the whole story. Watching the written state (rather
// than calling the recorder from inside each reconciler) reports exactly what became true.

import { conditionOf } from '../api/conditions.js';
import { Labels, type Condition, type KObject } from '../api/types.js';
import type { Store, WatchEvent } from '../store/store.js';
import type { EventRecorder, EventType, ObjectReference } from './recorder.js';

const REVISIONS = 'serving.knative.dev/revisions';
const ROUTES = 'serving.knative.dev/routes';
const SERVICES = 'serving.knative.dev/services';
const PODAUTOSCALERS = 'autoscaling.internal.knative.dev/podautoscalers';

export interface Observed {
  ready?: string;
  traffic?: string;
  scale?: number;
}

export interface LifecycleEvent {
  type: EventType;
  reason: string;
  message: string;
}

/** The state this module compares between writes of one object. */
export function observe(resource: string, o: KObject): Observed {
  switch (resource) {
    case REVISIONS: {
      const c = conditionOf(o.status?.conditions as Condition[] | undefined, 'Ready');
      return { ready: c ? `${c.status}|${c.reason ?? ''}|${c.message ?? ''}` : undefined };
    }
    case ROUTES:
      return { traffic: trafficText(o.status?.traffic) };
    case PODAUTOSCALERS:
      return { scale: typeof o.status?.desiredScale === 'number' ? o.status.desiredScale : undefined };
    default:
      return {};
  }
}

function trafficText(traffic: unknown): string | undefined {
  if (!Array.isArray(traffic) || traffic.length === 0) return undefined;
  return traffic
    .map(
      (t: { revisionName?: string; percent?: number; tag?: string }) =>
        `${t.revisionName ?? '?'} ${t.percent ?? 0}%${t.tag ? ` (tag ${t.tag})` : ''}`,
    )
    .join(', ');
}

/** The events a change from `before` to the object `o` calls for (pure: table-tested). */
export function lifecycleEvents(resource: string, type: WatchEvent['type'], before: Observed | undefined, o: KObject): LifecycleEvent[] {
  const name = o.metadata.name ?? '';
  const now = observe(resource, o);
  const out: LifecycleEvent[] = [];
  if (type === 'DELETED') return out;
  if (resource === REVISIONS) {
    if (type === 'ADDED' && before === undefined) out.push({ type: 'Normal', reason: 'Created', message: `Created Revision "${name}"` });
    if (now.ready !== before?.ready && now.ready) {
      const c = conditionOf(o.status?.conditions as Condition[] | undefined, 'Ready')!;
      if (c.status === 'True') out.push({ type: 'Normal', reason: 'RevisionReady', message: `Revision "${name}" is ready` });
      if (c.status === 'False') {
        out.push({
          type: 'Warning',
          reason: 'RevisionFailed',
          message: `Revision "${name}" failed with message: ${c.reason ?? 'Unknown'}: ${c.message ?? ''}`.trim(),
        });
      }
    }
  } else if (resource === ROUTES) {
    if (now.traffic !== before?.traffic && now.traffic) {
      out.push({ type: 'Normal', reason: 'TrafficShifted', message: `Route "${name}" sends traffic to ${now.traffic}` });
    }
  } else if (resource === PODAUTOSCALERS) {
    if (now.scale !== undefined && before?.scale !== undefined && now.scale !== before.scale) {
      const why = typeof o.status?.reason === 'string' && o.status.reason ? `: ${o.status.reason}` : '';
      const rev = o.metadata.labels?.[Labels.revision] ?? name;
      out.push({ type: 'Normal', reason: 'Scaled', message: `Revision "${rev}" scaled from ${before.scale} to ${now.scale}${why}` });
    }
  }
  return out;
}

/** Watches the store and records lifecycle events; resolves to a function that stops it. */
/** Where the Services and Revisions that events are about are found without reading the store (the controllers' caches). */
export interface LifecycleLookup {
  services: { get(namespace: string | undefined, name: string): KObject | undefined };
  revisions: { get(namespace: string | undefined, name: string): KObject | undefined };
}

export async function watchLifecycle(store: Store, recorder: EventRecorder, lookup: LifecycleLookup): Promise<() => void> {
  const state = new Map<string, Observed>();
  const id = (resource: string, o: KObject) => `${resource}/${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;
  // Recording an event needs only a reference to its object: taken from the caches, since reading
  // the object again would parse all of it (a Service with large annotations is hundreds of KB).
  const refTo = async (resource: string, ns: string | undefined, name: string): Promise<KObject | ObjectReference | undefined> =>
    (resource === SERVICES ? lookup.services : lookup.revisions).get(ns, name) ?? (await store.get(resource, ns, name));
  const report = async (resource: string, o: KObject, events: LifecycleEvent[]) => {
    // A PodAutoscaler's scale is news about its Revision.
    const subject =
      resource === PODAUTOSCALERS
        ? ((await refTo(REVISIONS, o.metadata.namespace, o.metadata.labels?.[Labels.revision] ?? o.metadata.name!)) ?? o)
        : o;
    const svcName = o.metadata.labels?.[Labels.service];
    const svc = svcName ? await refTo(SERVICES, o.metadata.namespace, svcName) : undefined;
    for (const ev of events) {
      recorder.recordEvent(subject, ev.type, ev.reason, ev.message);
      if (svc) recorder.recordEvent(svc, ev.type, ev.reason, ev.message);
    }
  };
  const stops: (() => void)[] = [];
  for (const resource of [REVISIONS, ROUTES, PODAUTOSCALERS]) {
    // The objects that exist when watching starts are the baseline, not news.
    let synced = false;
    stops.push(
      await store.watch(
        resource,
        {},
        {
          onEvent: (e) => {
            const k = id(resource, e.object);
            const before = state.get(k);
            if (e.type === 'DELETED') state.delete(k);
            else state.set(k, observe(resource, e.object));
            if (!synced) return;
            const events = lifecycleEvents(resource, e.type, before, e.object);
            if (events.length) void report(resource, e.object, events).catch(() => {});
          },
          onSynced: () => {
            synced = true;
          },
        },
      ),
    );
  }
  return () => {
    for (const stop of stops) stop();
  };
}
