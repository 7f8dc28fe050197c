// Per-revision state: the ready endpoints with their in-flight counts (the queue-proxy's breaker,
// enforced here so containerConcurrency holds no matter which path a request took), and the FIFO
// of requests held while there is no free slot (the activator).

import { Agent } from 'node:http';
import type { Endpoint } from './types.js';
import { RevisionStats } from './stats.js';
import { UpstreamPool } from './fastpath/upstream-pool.js';

/** Knative's default revision timeout; used until the control plane tells us the real one. */
export const DEFAULT_TIMEOUT_SECONDS = 300;

/**
 * What a gateway running in several processes plugs in (src/dataplane/workers/leases.ts): with
 * hooks, a new endpoint has no slots of its own (leased = 0) until the slot arbiter grants some,
 * so containerConcurrency holds across processes. Without hooks nothing changes.
 */
export interface SlotHooks {
  /** The number of held requests changed (held, forwarded, timed out, client gone, answered). */
  queueChanged(rev: RevisionState<QueueNode>): void;
  /** A slot on `ep` was released; called before held requests are forwarded to free slots. */
  released(rev: RevisionState<QueueNode>, ep: EndpointState): void;
  /** Endpoints were replaced, retired or drained. */
  endpointsChanged(rev: RevisionState<QueueNode>): void;
}

export class EndpointState {
  inFlight = 0;
  /** Gateway-clock time the last request on this endpoint finished; -1 = none yet (autoscaler idle tracking). */
  lastBusy = -1;
  /** Taken out of routing (removed or draining); kept until its in-flight requests finish. */
  retired = false;
  /** Slots this process may use here when another process arbitrates them (SlotHooks). */
  leased = Number.POSITIVE_INFINITY;
  private agent: Agent | null = null;
  private fast: UpstreamPool | null = null;
  /** HTTP/2 sessions to this instance, for revisions served over h2c (created by the gateway's h2 module). */
  h2: { destroy(): void } | null = null;
  private drainWaiters: (() => void)[] | null = null;

  constructor(
    readonly id: string,
    readonly host: string,
    readonly port: number,
  ) {}

  /** Keep-alive pool to this instance. Unbounded sockets: the breaker above already caps concurrency. */
  pool(): Agent {
    return (this.agent ??= new Agent({ keepAlive: true, scheduling: 'lifo' }));
  }

  /** The fast path's keep-alive sockets to this instance (fastpath/upstream-pool.ts). */
  fastPool(): UpstreamPool {
    return (this.fast ??= new UpstreamPool(this.host, this.port));
  }

  whenIdle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => (this.drainWaiters ??= []).push(resolve));
  }

  /** Called when in-flight reaches 0. */
  idle(): void {
    if (this.retired) this.destroyPool();
    const w = this.drainWaiters;
    if (w) {
      this.drainWaiters = null;
      for (const f of w) f();
    }
  }

  destroyPool(): void {
    this.agent?.destroy();
    this.agent = null;
    this.fast?.destroy();
    this.fast = null;
    this.h2?.destroy();
    this.h2 = null;
  }
}

/** Intrusive doubly-linked FIFO node: held requests can leave from the middle (client gone, timeout) in O(1). */
export interface QueueNode {
  qPrev: QueueNode | null;
  qNext: QueueNode | null;
  queued: boolean;
}

export class RevisionState<Held extends QueueNode = QueueNode> {
  containerConcurrency = 0;
  timeoutMs = DEFAULT_TIMEOUT_SECONDS * 1000;
  /** responseStartTimeoutSeconds and idleTimeoutSeconds in ms; 0 = not set. */
  responseStartMs = 0;
  idleMs = 0;
  /** The revision's port is named h2c: instances are spoken to over HTTP/2 cleartext. */
  h2c = false;

  /** Requests for it go through node:http, not the HTTP/1.1 fast path (which has neither HTTP/2 nor these deadlines). */
  get needsFullPath(): boolean {
    return this.h2c || this.responseStartMs > 0 || this.idleMs > 0;
  }
  /** setRevision was called and removeRevision was not. */
  known = false;
  /** Active endpoints (take new requests). */
  endpoints: EndpointState[] = [];
  readonly retiring = new Set<EndpointState>();
  private rr = 0;
  /** Slots in use across active and retiring endpoints. */
  inFlight = 0;
  private head: Held | null = null;
  private tail: Held | null = null;
  queued = 0;
  readonly stats: RevisionStats;

  constructor(
    readonly key: string,
    now: number,
    readonly hooks: SlotHooks | null = null,
  ) {
    this.stats = new RevisionStats(now);
  }

  /**
   * Applies a new endpoint set. Endpoints that stay (same id and address) keep their counters and
   * pools; endpoints that go are retired and finish their in-flight requests.
   */
  setEndpoints(eps: readonly Endpoint[]): void {
    const byId = new Map<string, EndpointState>();
    for (const e of this.endpoints) byId.set(e.id, e);
    for (const e of this.retiring) if (!byId.has(e.id)) byId.set(e.id, e);
    const next: EndpointState[] = [];
    const seen = new Set<string>();
    for (const e of eps) {
      if (seen.has(e.id)) continue;
      seen.add(e.id);
      const old = byId.get(e.id);
      if (old && old.host === e.host && old.port === e.port) {
        if (old.retired) {
          old.retired = false;
          this.retiring.delete(old);
        }
        next.push(old);
      } else {
        const fresh = new EndpointState(e.id, e.host, e.port);
        if (this.hooks) fresh.leased = 0;
        next.push(fresh);
      }
    }
    const keep = new Set(next);
    for (const e of this.endpoints) if (!keep.has(e)) this.retire(e);
    this.endpoints = next;
    if (this.rr >= next.length) this.rr = 0;
    this.hooks?.endpointsChanged(this);
  }

  /** Takes one endpoint out of routing; returns it (or a retiring one with that id) for draining. */
  retireById(id: string): EndpointState | undefined {
    const i = this.endpoints.findIndex((e) => e.id === id);
    if (i >= 0) {
      const e = this.endpoints[i];
      this.endpoints = this.endpoints.filter((x) => x !== e);
      if (this.rr >= this.endpoints.length) this.rr = 0;
      this.retire(e);
      this.hooks?.endpointsChanged(this);
      return e;
    }
    for (const e of this.retiring) if (e.id === id) return e;
    return undefined;
  }

  private retire(e: EndpointState): void {
    e.retired = true;
    if (e.inFlight > 0) this.retiring.add(e);
    else e.idle();
  }

  retireAll(): void {
    for (const e of this.endpoints) this.retire(e);
    this.endpoints = [];
    this.rr = 0;
    this.hooks?.endpointsChanged(this);
  }

  /**
   * Takes a slot on the least-loaded active endpoint with room (containerConcurrency 0 = no cap),
   * scanning from a rotating start so ties spread round-robin. `exclude` skips one endpoint (retry).
   * The scan is over this revision's instances, not over routes.
   */
  acquire(exclude?: EndpointState | null): EndpointState | null {
    const eps = this.endpoints;
    const n = eps.length;
    if (n === 0) return null;
    const cap = this.containerConcurrency;
    let best: EndpointState | null = null;
    let start = this.rr;
    for (let k = 0; k < n; k++) {
      let i = start + k;
      if (i >= n) i -= n;
      const e = eps[i];
      if (e === exclude) continue;
      if (cap > 0 && (e.inFlight >= cap || e.inFlight >= e.leased)) continue;
      if (best === null || e.inFlight < best.inFlight) {
        best = e;
        if (e.inFlight === 0) break;
      }
    }
    if (best === null) return null;
    this.rr = start + 1 >= n ? 0 : start + 1;
    best.inFlight++;
    this.inFlight++;
    return best;
  }

  release(e: EndpointState): void {
    e.inFlight--;
    this.inFlight--;
    if (e.inFlight === 0) {
      if (e.retired) this.retiring.delete(e);
      e.idle();
    }
    this.hooks?.released(this, e);
  }

  /** True when a slot could be taken right now. */
  hasCapacity(): boolean {
    const cap = this.containerConcurrency;
    for (const e of this.endpoints) if (cap === 0 || (e.inFlight < cap && e.inFlight < e.leased)) return true;
    return false;
  }

  // ---- held FIFO ----

  enqueue(h: Held): void {
    h.queued = true;
    h.qNext = null;
    h.qPrev = this.tail;
    if (this.tail) this.tail.qNext = h;
    else this.head = h;
    this.tail = h;
    this.queued++;
    this.hooks?.queueChanged(this);
  }

  /** The request held longest (next to be sent), or null. */
  oldest(): Held | null {
    return this.head;
  }

  /** The request held last (the first to be refused when a bound across processes is hit). */
  newest(): Held | null {
    return this.tail;
  }

  shift(): Held | null {
    const h = this.head;
    if (h) this.unlink(h);
    return h;
  }

  unlink(h: Held): void {
    if (!h.queued) return;
    h.queued = false;
    if (h.qPrev) h.qPrev.qNext = h.qNext;
    else this.head = h.qNext as Held | null;
    if (h.qNext) h.qNext.qPrev = h.qPrev;
    else this.tail = h.qPrev as Held | null;
    h.qPrev = h.qNext = null;
    this.queued--;
    this.hooks?.queueChanged(this);
  }

  /** Removes and returns every held request (oldest first). */
  takeAll(): Held[] {
    const all: Held[] = [];
    for (let h = this.shift(); h; h = this.shift()) all.push(h);
    return all;
  }

  /** Nothing refers to this state any more: no slots, no held requests, no retiring endpoints. */
  isIdle(): boolean {
    return this.inFlight === 0 && this.queued === 0 && this.retiring.size === 0 && this.stats.meter.level === 0;
  }

  destroyPools(): void {
    for (const e of this.endpoints) e.destroyPool();
    for (const e of this.retiring) e.destroyPool();
  }
}
