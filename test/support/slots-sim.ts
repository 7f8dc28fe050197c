// A simulated multi-process gateway for slot arbitration tests: the real SlotArbiter, and per
// worker the real WorkerSlots over a real RevisionState, wired by FIFO message channels (one each
// way per worker, as node:cluster's IPC) and driven by a simulated clock. Requests are held,
// forwarded, released, timed out and refused as the gateway's Core does; which channel delivers
// next, and when time moves, is up to the caller's random source.

import { SlotArbiter } from '../../src/dataplane/workers/arbiter.js';
import { WorkerSlots } from '../../src/dataplane/workers/leases.js';
import type { FromWorker, ToWorker } from '../../src/dataplane/workers/protocol.js';
import { RevisionState, type EndpointState, type QueueNode } from '../../src/dataplane/revision.js';

export const KEY = 'ns/r';

export interface SimRequest extends QueueNode {
  id: number;
  worker: number;
  arrived: number;
  started: number;
  state: 'held' | 'running' | 'served' | 'refused' | 'timedout';
  ep: EndpointState | null;
  serviceMs: number;
  onEnd: ((r: SimRequest) => void) | undefined;
}

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

interface SimWorker {
  id: number;
  slots: WorkerSlots;
  rev: RevisionState<SimRequest>;
  toWorker: ToWorker[];
  toMain: FromWorker[];
}

export interface SimOptions {
  workers: number;
  endpoints: number;
  cc: number;
  maxQueued: number;
  /** Held requests time out after this (Infinity: never). */
  timeoutMs: number;
  /** 0 ≤ random() < 1. */
  random: () => number;
}

export class SlotSim {
  now = 0;
  readonly arbiter: SlotArbiter;
  readonly workers: SimWorker[] = [];
  readonly requests: SimRequest[] = [];
  /** Messages by type, both ways. */
  readonly messages = new Map<string, number>();
  demands = 0;
  /** Most requests in flight on one endpoint id over all workers, ever. */
  maxInFlight = 0;
  private readonly timers: Timer[] = [];
  private seq = 0;
  private deferred: (() => void)[] = [];

  constructor(readonly o: SimOptions) {
    this.arbiter = new SlotArbiter({
      maxQueuedPerRevision: o.maxQueued,
      send: (w, m) => {
        this.count(m.t);
        this.worker(w).toWorker.push(m);
      },
      workers: () => this.workers.map((w) => w.id),
      demand: () => this.demands++,
      clock: () => this.now,
      later: (fn, ms) => {
        const t = this.at(this.now + ms, fn);
        return () => (t.cancelled = true);
      },
    });
    const eps = Array.from({ length: o.endpoints }, (_, i) => ({ id: `e${i + 1}`, host: '127.0.0.1', port: 1000 + i }));
    for (let id = 1; id <= o.workers; id++) {
      const slots = new WorkerSlots({
        defer: (fn) => this.deferred.push(fn),
        later: (fn, ms) => void this.at(this.now + ms, fn),
      });
      const rev = new RevisionState<SimRequest>(KEY, 0, slots);
      const w: SimWorker = { id, slots, rev, toWorker: [], toMain: [] };
      slots.attach({
        send: (m) => {
          this.count(m.t);
          w.toMain.push(m);
        },
        revision: (k) => (k === KEY ? (rev as unknown as RevisionState<QueueNode>) : undefined),
        pump: () => this.pump(w),
        refuseNewest: (_k, n) => {
          for (let i = 0; i < n; i++) {
            const r = rev.newest();
            if (!r) break;
            rev.unlink(r);
            r.state = 'refused';
          }
        },
      });
      rev.containerConcurrency = o.cc;
      rev.known = true;
      rev.setEndpoints(eps);
      this.workers.push(w);
      this.arbiter.joined(id);
    }
    // As the cluster does: the workers get the endpoints before the arbiter may grant on them.
    this.arbiter.setBackend(
      KEY,
      eps.map((e) => e.id),
      o.cc,
    );
    this.settle();
  }

  private count(t: string): void {
    this.messages.set(t, (this.messages.get(t) ?? 0) + 1);
  }

  private worker(id: number): SimWorker {
    const w = this.workers.find((x) => x.id === id);
    if (!w) throw new Error(`no worker ${id}`);
    return w;
  }

  private at(at: number, fn: () => void): Timer {
    const t: Timer = { at, seq: this.seq++, fn, cancelled: false };
    this.push(t);
    return t;
  }

  /** The end of a turn of a process' event loop: its microtasks run. */
  private settle(): void {
    while (this.deferred.length > 0) this.deferred.shift()!();
  }

  /** A request arrives at worker `id` now and is served for `serviceMs` once it has a slot. */
  arrive(id: number, serviceMs: number, onEnd?: (r: SimRequest) => void): SimRequest {
    const w = this.worker(id);
    const rev = w.rev;
    const r: SimRequest = {
      id: this.requests.length,
      worker: id,
      arrived: this.now,
      started: -1,
      state: 'held',
      ep: null,
      serviceMs,
      onEnd,
      qPrev: null,
      qNext: null,
      queued: false,
    };
    this.requests.push(r);
    const ep = rev.queued === 0 ? rev.acquire() : null;
    if (ep) this.start(w, r, ep);
    else if (rev.queued >= this.o.maxQueued) {
      r.state = 'refused';
      onEnd?.(r);
    } else {
      rev.enqueue(r);
      if (Number.isFinite(this.o.timeoutMs))
        this.at(this.now + this.o.timeoutMs, () => {
          if (!r.queued) return;
          rev.unlink(r);
          r.state = 'timedout';
          onEnd?.(r);
        });
    }
    this.settle();
    return r;
  }

  private start(w: SimWorker, r: SimRequest, ep: EndpointState): void {
    r.state = 'running';
    r.started = this.now;
    r.ep = ep;
    let inFlight = 0;
    for (const x of this.workers) for (const e of [...x.rev.endpoints, ...x.rev.retiring]) if (e.id === ep.id) inFlight += e.inFlight;
    this.maxInFlight = Math.max(this.maxInFlight, inFlight);
    this.at(this.now + r.serviceMs, () => {
      r.state = 'served';
      r.ep = null;
      w.rev.release(ep);
      this.pump(w);
      r.onEnd?.(r);
    });
  }

  /** The gateway's pump: held requests, oldest first, onto free slots. */
  private pump(w: SimWorker): void {
    while (w.rev.queued > 0) {
      const ep = w.rev.acquire();
      if (!ep) break;
      this.start(w, w.rev.shift()!, ep);
    }
  }

  private deliverToWorker(w: SimWorker): void {
    const m = w.toWorker.shift()!;
    const s = w.slots;
    if (m.t === 'grant') s.grant(m.key, m.ep, m.n);
    else if (m.t === 'refuse') s.refuse(m.key, m.n, m.held);
    else if (m.t === 'reclaim') s.reclaim(m.key);
    else if (m.t === 'share') s.share(m.key, m.n);
    else if (m.t === 'settle') s.settle(m.key);
    this.settle();
  }

  private deliverToMain(w: SimWorker): void {
    const m = w.toMain.shift()!;
    const a = this.arbiter;
    if (m.t === 'want') a.want(w.id, m.key, m.n);
    else if (m.t === 'cancel') a.cancel(w.id, m.key, m.n);
    else if (m.t === 'return') a.returned(w.id, m.key, m.ep, m.n);
    else if (m.t === 'reclaimed') a.reclaimed(w.id, m.key);
  }

  /** Messages not delivered yet. */
  inTransit(): number {
    return this.workers.reduce((s, w) => s + w.toWorker.length + w.toMain.length, 0);
  }

  /**
   * One step: delivers a message on a random channel, or (with probability `timeBias`, or when no
   * message is in transit) moves the clock to the next timer and runs it. False when nothing is left.
   */
  step(timeBias = 0.2): boolean {
    const channels: (() => void)[] = [];
    for (const w of this.workers) {
      if (w.toWorker.length > 0) channels.push(() => this.deliverToWorker(w));
      if (w.toMain.length > 0) channels.push(() => this.deliverToMain(w));
    }
    while (this.timers.length > 0 && this.timers[0].cancelled) this.pop();
    if (channels.length > 0 && (this.timers.length === 0 || this.o.random() >= timeBias)) {
      channels[Math.floor(this.o.random() * channels.length)]();
      return true;
    }
    if (this.timers.length === 0) return false;
    const next = this.pop();
    this.now = Math.max(this.now, next.at);
    next.fn();
    this.settle();
    return true;
  }

  // The timers are a binary heap by (at, seq).
  private before(a: Timer, b: Timer): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private push(t: Timer): void {
    const h = this.timers;
    h.push(t);
    for (let i = h.length - 1; i > 0;) {
      const p = (i - 1) >> 1;
      if (!this.before(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }

  private pop(): Timer {
    const h = this.timers;
    const top = h[0];
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      for (let i = 0; ;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.before(h[l], h[m])) m = l;
        if (r < h.length && this.before(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }

  /** Schedules fn at a simulated time (arrivals, checks). */
  schedule(at: number, fn: () => void): void {
    this.at(at, () => {
      fn();
      this.settle();
    });
  }

  /** Requests held in the workers right now. */
  held(): number {
    return this.workers.reduce((s, w) => s + w.rev.queued, 0);
  }
}
