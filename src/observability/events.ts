// Recent events of the whole process, for people: scaling decisions with their reasons, cold
// starts and failed instances, reconcile failures, traffic changes. Kept in a bounded ring (the
// console shows the latest on load) and pushed to subscribers (the console's event stream).
// Every event is also a structured log line, so logs and console tell the same story.

import type { LogFields, Logger } from './log.js';

export type EventType = 'scale' | 'decision' | 'instance-ready' | 'instance-failed' | 'reconcile-failed' | 'traffic' | 'action';

export interface SluiceEvent {
  /** Increasing per process: a reconnecting stream asks for what came after the last id it saw. */
  id: number;
  /** Epoch ms. */
  time: number;
  type: EventType;
  /** "{namespace}/{name}" of the revision or route concerned, when there is one. */
  object?: string;
  message: string;
  fields: LogFields;
}

export interface EventLogOptions {
  logger: Logger;
  /** How many events are kept for late subscribers (default 500). */
  capacity?: number;
  now?: () => number;
}

export class EventLog {
  private readonly ring: SluiceEvent[] = [];
  private readonly subscribers = new Set<(e: SluiceEvent) => void>();
  private nextId = 1;
  private readonly capacity: number;
  private readonly now: () => number;

  constructor(private readonly o: EventLogOptions) {
    this.capacity = o.capacity ?? 500;
    this.now = o.now ?? Date.now;
  }

  /**
   * Records an event and logs it. `level: 'debug'` events (every unchanged scaling decision) are
   * logged at debug and not kept or streamed: they would drown the rest. `logged`: the caller has
   * already written the log line.
   */
  emit(
    type: EventType,
    message: string,
    fields: LogFields & { object?: string } = {},
    level: 'debug' | 'info' | 'warn' = 'info',
    logged = false,
  ): void {
    const { object, ...rest } = fields;
    if (!logged) this.o.logger[level](message, { event: type, ...(object ? { object } : {}), ...rest });
    if (level === 'debug') return;
    const e: SluiceEvent = { id: this.nextId++, time: this.now(), type, object, message, fields: rest };
    this.ring.push(e);
    if (this.ring.length > this.capacity) this.ring.shift();
    for (const s of this.subscribers) {
      try {
        s(e);
      } catch {
        // A broken subscriber (a closed stream) must not stop the others.
      }
    }
  }

  /** Kept events after `afterId` (all kept when omitted), oldest first. */
  recent(afterId = 0): SluiceEvent[] {
    return this.ring.filter((e) => e.id > afterId);
  }

  subscribe(cb: (e: SluiceEvent) => void): () => void {
    this.subscribers.add(cb);
    return () => this.subscribers.delete(cb);
  }
}
