// Fan-out of store events to watchers, with a bounded history so a watcher can start from a
// recent resourceVersion (what kubectl does after a list). Older starts get 410 Gone, and the
// client relists — the same contract as Kubernetes' watch cache.

import { ApiError } from '../api/errors.js';
import type { WatchEvent } from './store.js';

interface Subscriber {
  resource: string;
  onEvent: (e: WatchEvent) => void;
}

export class WatchHub {
  private readonly history: { rv: number; event: WatchEvent }[] = [];
  private oldestKnownRv = 0; // events after this rv are all in history
  private readonly subscribers = new Set<Subscriber>();

  constructor(private readonly capacity = 10000) {}

  reset(currentRv: number): void {
    this.history.length = 0;
    this.oldestKnownRv = currentRv;
  }

  publish(event: WatchEvent, rv: number): void {
    this.history.push({ rv, event });
    if (this.history.length > this.capacity) {
      const dropped = this.history.splice(0, this.history.length - this.capacity);
      this.oldestKnownRv = dropped[dropped.length - 1].rv;
    }
    for (const s of this.subscribers) {
      if (s.resource === '*' || s.resource === event.resource) this.deliver(s, event);
    }
  }

  subscribe(resource: string, since: string | undefined, onEvent: (e: WatchEvent) => void): () => void {
    const sub: Subscriber = { resource, onEvent };
    if (since !== undefined && since !== '' && since !== '0') {
      const from = Number(since);
      if (!Number.isInteger(from) || from < 0) {
        throw new ApiError(400, 'BadRequest', `invalid resourceVersion "${since}"`);
      }
      if (from < this.oldestKnownRv) {
        throw new ApiError(410, 'Expired', `too old resource version: ${from} (${this.oldestKnownRv})`);
      }
      for (const h of this.history) {
        if (h.rv > from && (resource === '*' || h.event.resource === resource)) this.deliver(sub, h.event);
      }
    }
    this.subscribers.add(sub);
    return () => this.subscribers.delete(sub);
  }

  closeAll(): void {
    this.subscribers.clear();
  }

  private deliver(s: Subscriber, e: WatchEvent): void {
    try {
      s.onEvent(e);
    } catch (err) {
      // One broken watcher must not stop the others or the write that triggered it.
      console.error(`watch subscriber failed: ${(err as Error).message}`);
    }
  }
}
