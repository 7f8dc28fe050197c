// Fan-out of store events to watchers, with a bounded history so a watcher can start from a
// recent resourceVersion (what kubectl does after a list). Older starts get 410 Gone, and the
// client relists — the same contract as Kubernetes' watch cache, which also keeps a bounded
// window. Subscribers are kept per resource, so a write only visits the watchers of its own
// resource.
//
// The history keeps each event's object serialized (the JSON the store wrote), not the object:
// live watchers get the object itself, only a watch that starts from a resourceVersion parses
// the events it replays. It is bounded by count and by size, whichever is reached first, so large
// objects cannot make it hold more memory than the bound. While an event is delivered its JSON is
// at hand (serializedObject), so watchers that send the object as it is serialize it once for all.

import { ApiError } from '../api/errors.js';
import type { KObject } from '../api/types.js';
import type { WatchEvent, WatchEventType, WatchHandlers } from './store.js';

interface Subscriber {
  namespace?: string;
  handlers: WatchHandlers;
}

interface Entry {
  rv: number;
  type: WatchEventType;
  resource: string;
  namespace: string;
  json: string;
}

export interface HistoryLimits {
  /** Most events kept (default 10,000). */
  events?: number;
  /** Most characters of serialized objects kept (default 16 Mi). */
  chars?: number;
}

const DEFAULT_EVENTS = 10_000;
// 10,000 events of Knative objects as Sluice writes them average about 1.2 KB each (12 Mi
// characters at 2,000 Services), so the count bound is the one that applies; the size bound is
// for large objects (annotations of 100 KB and more), which would otherwise hold far more memory
// than the same number of ordinary events (64 MiB at 10,000 Services with 60 such objects).
const DEFAULT_CHARS = 16 * 2 ** 20;

/** The event being delivered now and its JSON (see serializedObject). */
let delivering: { object: KObject; json: string } | undefined;

/**
 * JSON of an object: the stored serialization when it is the object of the event being
 * delivered (so N watchers cost one serialization), else JSON.stringify.
 */
export function serializedObject(obj: unknown): string {
  return delivering !== undefined && delivering.object === obj ? delivering.json : JSON.stringify(obj);
}

export class WatchHub {
  /** Entries before `head` are dropped (undefined), so their JSON is garbage at once. */
  private history: (Entry | undefined)[] = [];
  /** Index of the oldest entry kept (entries before it are dropped, removed in batches). */
  private head = 0;
  private chars = 0;
  private oldestKnownRv = 0; // events after this rv are all in history
  private readonly subscribers = new Map<string, Set<Subscriber>>();
  private readonly maxEvents: number;
  private readonly maxChars: number;

  constructor(
    limits: HistoryLimits | number = {},
    private readonly log: (msg: string) => void = (msg) => console.error(msg),
  ) {
    const l = typeof limits === 'number' ? { events: limits } : limits;
    this.maxEvents = Math.max(1, l.events ?? DEFAULT_EVENTS);
    this.maxChars = Math.max(1, l.chars ?? DEFAULT_CHARS);
  }

  reset(currentRv: number): void {
    this.history = [];
    this.head = 0;
    this.chars = 0;
    this.oldestKnownRv = currentRv;
  }

  /** Records and delivers one committed event; `json` is its object as the store serialized it. */
  publish(event: WatchEvent, rv: number, json = JSON.stringify(event.object)): void {
    this.history.push({ rv, type: event.type, resource: event.resource, namespace: event.object.metadata.namespace ?? '', json });
    this.chars += json.length;
    this.trim();
    const subs = this.subscribers.get(event.resource);
    if (!subs) return;
    delivering = { object: event.object, json };
    try {
      for (const s of subs) this.deliver(s, event);
    } finally {
      delivering = undefined;
    }
  }

  /** Checks a watch's starting resourceVersion; throws 400 or 410 as the API server reports them. */
  checkSince(since: string): number {
    const from = Number(since);
    if (!/^\d+$/.test(since) || !Number.isSafeInteger(from)) {
      throw new ApiError(400, 'BadRequest', `invalid resourceVersion "${since}": must be a non-negative integer`);
    }
    if (from < this.oldestKnownRv) throw new ApiError(410, 'Expired', `too old resource version: ${from} (${this.oldestKnownRv})`);
    return from;
  }

  /**
   * Starts a watcher: `initial` objects as ADDED (a list), or the history after `since`; then
   * onSynced and live events. Synchronous, so no write can fall between the start and the live
   * events.
   */
  subscribe(
    resource: string,
    start: { since: number } | { initial: KObject[] },
    namespace: string | undefined,
    handlers: WatchHandlers,
  ): () => void {
    const sub: Subscriber = { namespace, handlers };
    if ('since' in start) {
      for (let i = this.head; i < this.history.length; i++) {
        const h = this.history[i]!;
        if (h.rv <= start.since || h.resource !== resource) continue;
        if (namespace !== undefined && h.namespace !== namespace) continue;
        this.deliver(sub, { type: h.type, resource, object: JSON.parse(h.json) as KObject });
      }
    } else {
      for (const object of start.initial) this.deliver(sub, { type: 'ADDED', resource, object });
    }
    let subs = this.subscribers.get(resource);
    if (!subs) this.subscribers.set(resource, (subs = new Set()));
    subs.add(sub);
    this.call(() => handlers.onSynced?.());
    return () => {
      subs.delete(sub);
    };
  }

  closeAll(): void {
    const all = [...this.subscribers.values()].flatMap((s) => [...s]);
    this.subscribers.clear();
    for (const s of all) this.call(() => s.handlers.onClosed?.());
  }

  /** Events kept and their serialized size (for tests and diagnostics). */
  get size(): { events: number; chars: number } {
    return { events: this.history.length - this.head, chars: this.chars };
  }

  private trim(): void {
    // Always keep the newest event, however large.
    while (this.history.length - this.head > 1 && (this.history.length - this.head > this.maxEvents || this.chars > this.maxChars)) {
      const dropped = this.history[this.head]!;
      // Cleared now: with large objects, the up to 1024 dropped entries awaiting the next cut held
      // more than the bound itself (87 MiB for a 64 Mi bound at 3,000 Services with 200 KB ones).
      this.history[this.head++] = undefined;
      this.chars -= dropped.json.length;
      this.oldestKnownRv = dropped.rv;
    }
    // Dropped slots are cut off in batches: one splice per many writes instead of one per write.
    if (this.head > 1024 && this.head * 2 > this.history.length) {
      this.history = this.history.slice(this.head);
      this.head = 0;
    }
  }

  private deliver(s: Subscriber, e: WatchEvent): void {
    if (s.namespace !== undefined && (e.object.metadata.namespace ?? '') !== s.namespace) return;
    this.call(() => s.handlers.onEvent(e));
  }

  private call(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      // One broken watcher must not stop the others or the write that triggered it.
      this.log(`watch subscriber failed: ${(err as Error).message}`);
    }
  }
}
