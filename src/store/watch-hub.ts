// Fan-out of store events to watchers, with a bounded history so a watcher can start from a
// recent resourceVersion (what kubectl does after a list). Older starts get 410 Gone, and the
// client relists — the same contract as Kubernetes' watch cache. Subscribers are kept per
// resource, so a write only visits the watchers of its own resource.

import { ApiError } from '../api/errors.js';
import type { KObject } from '../api/types.js';
import type { WatchEvent, WatchHandlers } from './store.js';

interface Subscriber {
  namespace?: string;
  handlers: WatchHandlers;
}

export class WatchHub {
  private readonly history: { rv: number; event: WatchEvent }[] = [];
  private oldestKnownRv = 0; // events after this rv are all in history
  private readonly subscribers = new Map<string, Set<Subscriber>>();

  constructor(
    private readonly capacity = 10000,
    private readonly log: (msg: string) => void = (msg) => console.error(msg),
  ) {}

  reset(currentRv: number): void {
    this.history.length = 0;
    this.oldestKnownRv = currentRv;
  }

  publish(event: WatchEvent, rv: number): void {
    this.history.push({ rv, event });
    if (this.history.length > this.capacity * 2) {
      // Trimmed in batches: one splice per `capacity` writes instead of one per write.
      const dropped = this.history.splice(0, this.history.length - this.capacity);
      this.oldestKnownRv = dropped[dropped.length - 1].rv;
    }
    const subs = this.subscribers.get(event.resource);
    if (!subs) return;
    for (const s of subs) this.deliver(s, event);
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
      for (const h of this.history) {
        if (h.rv > start.since && h.event.resource === resource) this.deliver(sub, h.event);
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
