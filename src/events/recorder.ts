// The event recorder: writes core v1 Events about Sluice's objects into the Store, the way
// client-go's recorder does for Kubernetes controllers. A repeat of the same event (same object,
// type, reason and message) bumps `count` and `lastTimestamp` on the existing Event instead of
// adding one; Events older than the retention period (Kubernetes' --event-ttl, 1 h) or beyond
// the per-namespace cap are deleted by a periodic sweep, so they never grow without bound.
// Writes are queued and never throw into the caller: an event is worth less than the work it
// reports on.

import { hostname } from 'node:os';
import { ApiError } from '../api/errors.js';
import type { KObject } from '../api/types.js';
import type { Store } from '../store/store.js';

export type EventType = 'Normal' | 'Warning';

export interface ObjectReference {
  apiVersion?: string;
  kind: string;
  namespace?: string;
  name: string;
  uid?: string;
  resourceVersion?: string;
  fieldPath?: string;
}

export interface EventRecorder {
  recordEvent(involvedObject: KObject | ObjectReference, type: EventType, reason: string, message: string): void;
}

export interface StoreEventRecorderOptions {
  store: Store;
  /** source.component / reportingComponent (default "sluice"). */
  component?: string;
  /** How long an Event is kept after it last happened (default 1 h, as Kubernetes). */
  ttlMs?: number;
  /** Most Events kept per namespace; the oldest go first (default 1000). */
  maxPerNamespace?: number;
  /** How often expired Events are deleted (default 60 s). */
  sweepIntervalMs?: number;
  /**
   * Most events waiting to be written; beyond it new ones are dropped (default 1000, client-go's
   * maxQueuedEvents, which drops too). Writes go one at a time, so a burst (10,000 Services
   * created) made a backlog of 13,500 held in memory (67 MiB).
   */
  maxQueued?: number;
  now?: () => number;
  log?: (msg: string) => void;
}

const EVENTS = 'events';
/** Kubernetes' limit for an Event's note. */
const MAX_MESSAGE = 1024;

export function referenceOf(o: KObject | ObjectReference): ObjectReference {
  if ('metadata' in o && o.metadata) {
    const m = o.metadata;
    return {
      apiVersion: o.apiVersion,
      kind: o.kind,
      namespace: m.namespace,
      name: m.name ?? '',
      ...(m.uid ? { uid: m.uid } : {}),
      ...(m.resourceVersion ? { resourceVersion: m.resourceVersion } : {}),
    };
  }
  return o as ObjectReference;
}

const rfc3339 = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

/** When an Event last happened, in epoch ms (lastTimestamp, else eventTime, else creation). */
function lastSeenMs(e: KObject): number {
  const t = (e.lastTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp) as string | undefined;
  const ms = t ? Date.parse(t) : NaN;
  return Number.isNaN(ms) ? 0 : ms;
}

/** Which Events retention removes: those past the TTL, then the oldest beyond the cap per namespace. */
export function expiredEvents(events: KObject[], now: number, ttlMs: number, maxPerNamespace: number): KObject[] {
  const out: KObject[] = [];
  // Appended in place and each time parsed once: a sweep over tens of thousands of Events in one
  // namespace (one per Service created) stays linear, plus the sort.
  const byNs = new Map<string, { e: KObject; at: number }[]>();
  for (const e of events) {
    const at = lastSeenMs(e);
    if (now - at > ttlMs) out.push(e);
    else {
      const ns = e.metadata.namespace ?? '';
      const list = byNs.get(ns);
      if (list) list.push({ e, at });
      else byNs.set(ns, [{ e, at }]);
    }
  }
  for (const list of byNs.values()) {
    if (list.length <= maxPerNamespace) continue;
    list.sort((a, b) => a.at - b.at);
    for (let i = 0; i < list.length - maxPerNamespace; i++) out.push(list[i].e);
  }
  return out;
}

export class StoreEventRecorder implements EventRecorder {
  private readonly store: Store;
  private readonly component: string;
  private readonly host = hostname();
  private readonly ttlMs: number;
  private readonly maxPerNamespace: number;
  private readonly now: () => number;
  private readonly log: (msg: string) => void;
  /** Aggregation key → name of the Event that records it. */
  private readonly seen = new Map<string, string>();
  private queue: Promise<void> = Promise.resolve();
  private queued = 0;
  private readonly maxQueued: number;
  /** Events dropped because the queue was full (logged when a burst of drops ends). */
  private dropped = 0;
  private seq = 0;
  private timer?: NodeJS.Timeout;

  constructor(private readonly o: StoreEventRecorderOptions) {
    this.store = o.store;
    this.component = o.component ?? 'sluice';
    this.ttlMs = o.ttlMs ?? 60 * 60 * 1000;
    this.maxPerNamespace = o.maxPerNamespace ?? 1000;
    this.now = o.now ?? Date.now;
    this.log = o.log ?? (() => {});
    this.maxQueued = o.maxQueued ?? 1000;
  }

  recordEvent(involvedObject: KObject | ObjectReference, type: EventType, reason: string, message: string): void {
    if (this.queued >= this.maxQueued) {
      this.dropped++;
      return;
    }
    if (this.dropped > 0) {
      this.log(`events: ${this.dropped} dropped while ${this.maxQueued} were waiting to be written`);
      this.dropped = 0;
    }
    const ref = referenceOf(involvedObject);
    const note = message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE - 3)}...` : message;
    this.queued++;
    this.queue = this.queue
      .then(() => this.write(ref, type, reason, note))
      .catch((e: unknown) => this.log(`events: could not record ${reason} for ${ref.kind} ${ref.name}: ${String(e)}`))
      .finally(() => {
        this.queued--;
      });
  }

  /** Resolves when every event recorded so far is written. */
  flush(): Promise<void> {
    return this.queue;
  }

  /** Starts the retention sweep. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.sweep(), this.o.sweepIntervalMs ?? 60_000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Deletes the Events retention no longer keeps. */
  async sweep(): Promise<number> {
    const { items } = await this.store.list(EVENTS);
    let n = 0;
    for (const e of expiredEvents(items, this.now(), this.ttlMs, this.maxPerNamespace)) {
      try {
        await this.store.delete(EVENTS, e.metadata.namespace, e.metadata.name!);
        n++;
      } catch (err) {
        if (!(err instanceof ApiError && err.code === 404)) throw err;
      }
    }
    return n;
  }

  private async write(ref: ObjectReference, type: EventType, reason: string, message: string): Promise<void> {
    const namespace = ref.namespace || 'default';
    const key = JSON.stringify([namespace, ref.kind, ref.name, ref.uid ?? '', type, reason, message]);
    const now = rfc3339(this.now());
    const existingName = this.seen.get(key);
    if (existingName) {
      const existing = await this.store.get(EVENTS, namespace, existingName);
      if (existing) {
        await this.store.update(EVENTS, {
          ...existing,
          count: ((existing.count as number | undefined) ?? 1) + 1,
          lastTimestamp: now,
          metadata: { ...existing.metadata, resourceVersion: undefined },
        });
        return;
      }
    }
    // client-go names events {object}.{unix nanoseconds in hex}; the sequence keeps them unique.
    const name = `${ref.name}.${(BigInt(this.now()) * 1_000_000n + BigInt(this.seq++ % 1_000_000)).toString(16)}`;
    const event: KObject = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace },
      involvedObject: { ...ref, namespace },
      reason,
      message,
      source: { component: this.component, host: this.host },
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
      type,
      reportingComponent: this.component,
      reportingInstance: this.host,
    };
    await this.store.create(EVENTS, event);
    this.seen.set(key, name);
    // The map only needs the recent keys; old ones would just start a new Event.
    if (this.seen.size > 4096) this.seen.delete(this.seen.keys().next().value!);
  }
}
