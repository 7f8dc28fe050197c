// Events as Kubernetes serves them: stored once in the core v1 shape and converted to and from
// events.k8s.io/v1 (regarding/note/series/deprecated*), so `kubectl get events` (core) and
// `kubectl events` or client-go's new recorder (events.k8s.io) see the same objects. Also the
// server-side Table for Events: kubectl prints LAST SEEN, TYPE, REASON, OBJECT, MESSAGE.

import type { KObject } from '../api/types.js';

export const EVENTS_API = 'events.k8s.io/v1';

type Rec = Record<string, unknown>;
const rec = (v: unknown): Rec => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Rec) : {});

/** Drops undefined values so a converted object carries only the fields that were set. */
function compact(o: Rec): Rec {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

/** core v1 → events.k8s.io/v1 */
export function coreToEventsV1(e: KObject): KObject {
  const source = rec(e.source);
  const series = rec(e.series);
  return compact({
    apiVersion: EVENTS_API,
    kind: 'Event',
    metadata: e.metadata,
    eventTime: e.eventTime ?? null,
    series: e.series ? compact({ count: series.count, lastObservedTime: series.lastObservedTime }) : undefined,
    reportingController: e.reportingComponent ?? (source.component as string | undefined),
    reportingInstance: e.reportingInstance ?? (source.host as string | undefined),
    action: e.action,
    reason: e.reason,
    regarding: e.involvedObject,
    related: e.related,
    note: e.message,
    type: e.type,
    deprecatedSource: e.source,
    deprecatedFirstTimestamp: e.firstTimestamp,
    deprecatedLastTimestamp: e.lastTimestamp,
    deprecatedCount: e.count,
  }) as KObject;
}

/** events.k8s.io/v1 → core v1 */
export function eventsV1ToCore(e: KObject): KObject {
  return compact({
    apiVersion: 'v1',
    kind: 'Event',
    metadata: e.metadata,
    involvedObject: e.regarding ?? {},
    reason: e.reason,
    message: e.note,
    source: e.deprecatedSource ?? (e.reportingController ? { component: e.reportingController } : undefined),
    firstTimestamp: e.deprecatedFirstTimestamp,
    lastTimestamp: e.deprecatedLastTimestamp,
    count: e.deprecatedCount,
    type: e.type,
    eventTime: e.eventTime ?? undefined,
    series: e.series,
    action: e.action,
    related: e.related,
    reportingComponent: e.reportingController ?? '',
    reportingInstance: e.reportingInstance ?? '',
  }) as KObject;
}

/** Wraps a converter so Events move between their two API groups. */
export function withEventConversion(inner: (obj: KObject, to: string) => KObject): (obj: KObject, to: string) => KObject {
  return (obj, to) => {
    if (obj.kind === 'Event') {
      if (obj.apiVersion === 'v1' && to === EVENTS_API) return coreToEventsV1(obj);
      if (obj.apiVersion === EVENTS_API && to === 'v1') return eventsV1ToCore(obj);
    }
    return inner(obj, to);
  };
}

/** When an Event last happened: lastTimestamp, else series.lastObservedTime, else eventTime. */
export function lastSeen(e: KObject): string | undefined {
  const t = e.lastTimestamp ?? rec(e.series).lastObservedTime ?? e.eventTime ?? e.deprecatedLastTimestamp ?? e.metadata?.creationTimestamp;
  return typeof t === 'string' ? t : undefined;
}

/** "service/stock-service-example", as kubectl shows an Event's object. */
export function eventObject(e: KObject): string {
  const o = rec(e.involvedObject ?? e.regarding);
  return `${String(o.kind ?? '').toLowerCase()}/${String(o.name ?? '')}`;
}
