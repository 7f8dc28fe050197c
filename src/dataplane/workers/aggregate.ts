// The sum of every gateway worker's per-revision counters, in the main process: one RevisionStats
// per revision whose fields are the workers' latest reports added up, so StatsReader (the
// autoscaler, canary analysis, the console) and /metrics read it exactly as they read one
// gateway's. Counters stay monotonic when a worker dies or forgets a revision: its last report is
// folded into a base that is kept while any worker still knows the revision.

import { ConcurrencyMeter, RevisionStats } from '../stats.js';
import type { RevisionMetricsView } from '../metrics.js';
import { addSparse, type RevisionSnapshot } from './protocol.js';

/** level and integral summed over workers, each extrapolated from its report at its level. */
class SummedMeter extends ConcurrencyMeter {
  /** Integral of workers that are gone, and the sum of live reports at their receipt times. */
  baseArea = 0;
  parts = new Map<number, { area: number; level: number; at: number }>();

  override areaAt(now: number): number {
    let a = this.baseArea;
    for (const p of this.parts.values()) a += p.area + p.level * Math.max(0, now - p.at);
    return a;
  }

  recomputeLevel(): void {
    let l = 0;
    for (const p of this.parts.values()) l += p.level;
    this.level = l;
  }
}

interface Entry {
  snap: RevisionSnapshot;
  at: number;
}

const NO_COUNTS = new Float64Array(0);
/**
 * What a worker reports for a revision it knows and has seen nothing for (most revisions of a
 * large installation): kept as this one shared object instead of each report's own copy.
 */
const IDLE: RevisionSnapshot = Object.freeze({
  key: '',
  arrivals: 0,
  completed: 0,
  errors: 0,
  codes: NO_COUNTS,
  latency: NO_COUNTS,
  latencySum: NO_COUNTS,
  waitCounts: NO_COUNTS,
  waitSum: 0,
  area: 0,
  level: 0,
  queued: 0,
  inFlight: 0,
  oldestWait: 0,
  endpoints: [],
});

function isIdle(s: RevisionSnapshot): boolean {
  return (
    s.arrivals === 0 &&
    s.completed === 0 &&
    s.area === 0 &&
    s.level === 0 &&
    s.queued === 0 &&
    s.inFlight === 0 &&
    s.oldestWait === 0 &&
    s.waitSum === 0 &&
    s.endpoints.length === 0 &&
    s.codes.length + s.latency.length + s.latencySum.length + s.waitCounts.length === 0
  );
}

class Summed {
  readonly meter: SummedMeter;
  readonly stats: RevisionStats;
  readonly live = new Map<number, Entry>();
  /** Counters of reports folded in (workers gone or that forgot the revision); made on the first fold. */
  private base?: RevisionStats;

  constructor(now: number) {
    this.meter = new SummedMeter(now);
    this.stats = new RevisionStats(now, this.meter);
  }

  put(worker: number, snap: RevisionSnapshot, at: number): void {
    this.live.set(worker, { snap: isIdle(snap) ? IDLE : snap, at });
    this.meter.parts.set(worker, { area: snap.area, level: snap.level, at });
    this.recompute();
  }

  /** The worker's counters become history: kept in the sums, no longer live. */
  fold(worker: number, now: number): void {
    const e = this.live.get(worker);
    if (!e) return;
    this.live.delete(worker);
    addInto((this.base ??= new RevisionStats(now)), e.snap);
    const p = this.meter.parts.get(worker)!;
    this.meter.baseArea += p.area + p.level * Math.max(0, now - p.at);
    this.meter.parts.delete(worker);
    this.recompute();
  }

  private recompute(): void {
    const s = this.stats;
    copyInto(s, this.base);
    for (const { snap } of this.live.values()) addInto(s, snap);
    this.meter.recomputeLevel();
  }

  view(key: string): RevisionMetricsView {
    let queued = 0;
    let inFlight = 0;
    let oldestWait = 0;
    for (const { snap } of this.live.values()) {
      queued += snap.queued;
      inFlight += snap.inFlight;
      oldestWait = Math.max(oldestWait, snap.oldestWait);
    }
    return { key, stats: this.stats, queued, inFlight, oldestWait };
  }
}

/** s = from (zeros without from); histograms are allocated only when from has any. */
function copyInto(s: RevisionStats, from?: RevisionStats): void {
  s.clear();
  if (!from) return;
  s.arrivals = from.arrivals;
  s.completed = from.completed;
  s.errors = from.errors;
  s.waitSum = from.waitSum;
  if (!from.hasCounts) return;
  const w = s.writable();
  w.codes.set(from.codes);
  w.latency.set(from.latency);
  w.latencySum.set(from.latencySum);
  w.waitCounts.set(from.waitCounts);
}

function addInto(s: RevisionStats, snap: RevisionSnapshot): void {
  s.arrivals += snap.arrivals;
  s.completed += snap.completed;
  s.errors += snap.errors;
  s.waitSum += snap.waitSum;
  if (snap.codes.length + snap.latency.length + snap.latencySum.length + snap.waitCounts.length === 0) return;
  const w = s.writable();
  addSparse(w.codes, snap.codes);
  addSparse(w.latency, snap.latency);
  addSparse(w.latencySum, snap.latencySum);
  addSparse(w.waitCounts, snap.waitCounts);
}

export interface EndpointLoad {
  inFlight: number;
  /** Main-clock time the endpoint was last busy in any worker; -1 = never used. */
  lastBusy: number;
}

export class LoadAggregate {
  private readonly revs = new Map<string, Summed>();
  private readonly rejected = new Map<number, Map<string, number>>();
  private readonly rejectedBase = new Map<string, number>();
  /** Requests that arrived through each worker slot (1..N), over every generation of it. */
  private readonly arrivalsBySlot = new Map<number, { base: number; live: Map<number, number> }>();

  /** `retained`: revisions kept (with zero counters) while nothing is reported for them. */
  constructor(
    private readonly now: () => number,
    private readonly retained: (key: string) => boolean,
  ) {}

  /** A revision the control plane knows: shown (with zeros) before any worker reports it. */
  ensure(key: string): void {
    if (!this.revs.has(key)) this.revs.set(key, new Summed(this.now()));
  }

  /** Forgets a revision nobody reports and nobody retains. */
  collect(key: string): void {
    const s = this.revs.get(key);
    if (s && s.live.size === 0 && !this.retained(key)) this.revs.delete(key);
  }

  /**
   * A worker's report (`slot` is its 1..N position, `worker` the process's unique id, `requests`
   * every request it has taken so far).
   */
  report(
    worker: number,
    slot: number,
    msg: { revisions: readonly RevisionSnapshot[]; gone: readonly string[]; rejections?: [string, number][]; requests: number },
  ): void {
    const at = this.now();
    for (const snap of msg.revisions) {
      let s = this.revs.get(snap.key);
      if (!s) this.revs.set(snap.key, (s = new Summed(at)));
      s.put(worker, snap, at);
    }
    for (const key of msg.gone) this.foldOne(key, worker, at);
    if (msg.rejections) this.rejected.set(worker, new Map(msg.rejections));
    let bySlot = this.arrivalsBySlot.get(slot);
    if (!bySlot) this.arrivalsBySlot.set(slot, (bySlot = { base: 0, live: new Map() }));
    bySlot.live.set(worker, msg.requests);
  }

  /** A worker process exited: everything it counted becomes history. */
  workerGone(worker: number, slot: number): void {
    const at = this.now();
    for (const key of [...this.revs.keys()]) this.foldOne(key, worker, at);
    const rej = this.rejected.get(worker);
    if (rej) for (const [reason, n] of rej) this.rejectedBase.set(reason, (this.rejectedBase.get(reason) ?? 0) + n);
    this.rejected.delete(worker);
    const bySlot = this.arrivalsBySlot.get(slot);
    if (bySlot) {
      bySlot.base += bySlot.live.get(worker) ?? 0;
      bySlot.live.delete(worker);
    }
  }

  private foldOne(key: string, worker: number, at: number): void {
    const s = this.revs.get(key);
    if (!s) return;
    s.fold(worker, at);
    // No worker knows the revision any more: it starts afresh, as one gateway's state would.
    this.collect(key);
  }

  has(key: string): boolean {
    return this.revs.has(key);
  }

  stats(key: string): { stats: RevisionStats; queued: number; inFlight: number } | undefined {
    return this.revs.get(key)?.view(key);
  }

  views(): RevisionMetricsView[] {
    return [...this.revs].map(([key, s]) => s.view(key));
  }

  /** Per endpoint id: requests in flight in all workers and when it was last busy. */
  endpoints(key: string): Map<string, EndpointLoad> {
    const out = new Map<string, EndpointLoad>();
    const s = this.revs.get(key);
    if (!s) return out;
    for (const { snap, at } of s.live.values()) {
      for (const e of snap.endpoints) {
        const cur = out.get(e.id) ?? { inFlight: 0, lastBusy: -1 };
        cur.inFlight += e.inFlight;
        const busy = e.idleMs === null ? -1 : at - e.idleMs;
        if (busy > cur.lastBusy) cur.lastBusy = busy;
        out.set(e.id, cur);
      }
    }
    return out;
  }

  rejections(): Map<string, number> {
    const out = new Map(this.rejectedBase);
    for (const m of this.rejected.values()) for (const [reason, n] of m) out.set(reason, (out.get(reason) ?? 0) + n);
    return out;
  }

  /** Arrivals per worker slot (1..N), every generation of the slot included. */
  arrivalsPerSlot(): Map<number, number> {
    const out = new Map<number, number>();
    for (const [slot, v] of this.arrivalsBySlot) {
      let n = v.base;
      for (const a of v.live.values()) n += a;
      out.set(slot, n);
    }
    return out;
  }
}
