// The slot arbiter: in the main process, the one owner of every revision's containerConcurrency
// slots when the gateway runs in several workers, and of the hold queue's bound across them.
//
// Each active endpoint of a revision with containerConcurrency cc > 0 has cc slots. A worker
// forwards a request only on a slot it holds (a lease), so leases per endpoint never exceed cc,
// whichever worker holds them. Leases stay with the worker after the request, so a worker that
// keeps serving a revision needs no message at all. A worker that has no free slot holds the
// request and sends `want`; the arbiter grants a free slot at once, or queues the want (bounded by
// maxQueuedPerRevision: beyond it, `refuse`), fires the demand signal when the revision starts
// waiting, and asks every worker to give idle slots back (`reclaim`) until nobody waits (`settle`).
// A wait that idle slots in other workers can serve is not demand: when every slot is leased, the
// signal waits for the lease holders' answers to the reclaim (`reclaimed`, after their idle slots
// came back) and fires only if requests still wait.
//
// Shares (while requests wait: an episode, from `reclaim` to `settle`). Handing every freed slot
// to the arbiter made each request under contention cost three messages (want, return, grant) and
// an idle slot for an IPC round trip. Instead the arbiter splits the revision's capacity
// (cc × active endpoints) among the workers by demand (slots leased + requests waiting), max-min
// fair (`fairShares`: nobody gets more than it asks for, the rest is split evenly), each share
// rounded down, and tells each worker its share (`share`). A worker within its share serves its
// own held requests from the slots it holds, oldest first, with no message; a worker over its
// share gives a slot back when a request on it ends (never takes one from a request in flight);
// a slot with nothing held behind it goes back within the worker's IDLE_GIVEBACK_MS (leases.ts).
// Slots that come back go first to workers below their share, oldest wait first, then to the
// oldest wait of all — so the slots the rounding leaves over circulate oldest-first across
// workers, as every slot did before shares (with fewer slots than workers that is all of them).
// Shares are recomputed when demand or capacity changes, at most every REBALANCE_MS per revision
// (the first change after a quiet period at once, later ones batched on a timer): a worker that
// starts waiting while others keep every slot busy gets its share within REBALANCE_MS, and slots
// over the others' new shares come back as their requests end, so its wait is bounded by that
// plus one request. An episode with shares in force ends only after nobody waited for SETTLE_MS:
// with about as many connections as slots, waits come and go from moment to moment, and each
// restart would send everybody back to per-request hand-offs until the next split. Under steady
// contention slots thus move when demand moves, not per request. The sum of shares never exceeds
// the capacity, and the cc bound does not depend on shares at all: it is the lease count.
//
// Workers tell a fall in their held requests up to CANCEL_DELAY_MS late during an episode
// (leases.ts), so the waiting count here may be a few too high for that long (never too low):
// the hold bound errs on the safe side, and a worker that gets a grant it has nothing to serve
// with sends the correction (a cancel) at once.
//
// cc = 0 needs no slots: wants only count held requests (scale from zero) against the bound and
// for the demand signal.
//
// Pure bookkeeping with an injected clock and timer: messages go out through `send`, nothing here
// touches a process.

import type { ToWorker } from './protocol.js';

/** At most one share recomputation per revision in this period, while its requests wait. */
export const REBALANCE_MS = 100;
/** With shares in force, an episode ends (`settle`) only after nobody waited this long. */
export const SETTLE_MS = 200;

interface Chunk {
  worker: number;
  n: number;
}

interface RevisionSlots {
  cc: number;
  /** Endpoints that take new requests. */
  active: Set<string>;
  /** Leases by endpoint, then by worker; kept for inactive endpoints until their slots come back. */
  leases: Map<string, Map<number, number>>;
  /** Leases per worker over all endpoints (the sums of `leases`). */
  leasedBy: Map<number, number>;
  /** Held requests waiting for a slot, oldest first. */
  waiting: Chunk[];
  waitingTotal: number;
  /** Waiting requests per worker (the sums of `waiting`). */
  waitingBy: Map<number, number>;
  reclaiming: boolean;
  /** Lease holders whose answer to this episode's reclaim is due before demand may fire. */
  awaiting: Set<number> | null;
  /** The shares workers were told in this reclaim episode (absent: 0). */
  shares: Map<number, number>;
  lastRebalance: number;
  cancelRebalance: (() => void) | null;
  /** Since when nobody waits (clock), while an episode with shares lingers; null while some wait. */
  quietSince: number | null;
  cancelSettle: (() => void) | null;
}

export interface ArbiterOptions {
  maxQueuedPerRevision: number;
  send(worker: number, msg: ToWorker): void;
  /** The live workers (reclaim and settle go to all of them). */
  workers(): Iterable<number>;
  /** A revision started holding requests (its wait queue went from empty to non-empty). */
  demand(key: string): void;
  /** Milliseconds, monotonic (default performance.now). */
  clock?: () => number;
  /** Runs fn after ms; returns a cancel function (default an unref'd setTimeout). */
  later?: (fn: () => void, ms: number) => () => void;
}

function realLater(fn: () => void, ms: number): () => void {
  const t = setTimeout(fn, ms);
  t.unref();
  return () => clearTimeout(t);
}

/**
 * Max-min fair split of `capacity` slots over demands (worker → slots it could use): a demand at
 * or below the even split of what is left gets all it asks for, the others get that split rounded
 * down. Workers without demand get nothing. The sum never exceeds capacity.
 */
export function fairShares(capacity: number, demands: ReadonlyMap<number, number>): Map<number, number> {
  const out = new Map<number, number>();
  const asks = [...demands].filter(([, d]) => d > 0).sort((a, b) => a[1] - b[1] || a[0] - b[0]);
  let left = Math.max(0, capacity);
  for (let i = 0; i < asks.length; i++) {
    const [w, d] = asks[i];
    const level = left / (asks.length - i);
    if (d <= level) {
      out.set(w, d);
      left -= d;
      continue;
    }
    // Sorted ascending: everybody from here asks for more than the even split.
    for (let j = i; j < asks.length; j++) out.set(asks[j][0], Math.floor(level));
    break;
  }
  return out;
}

function bump(m: Map<number, number>, k: number, by: number): void {
  const v = (m.get(k) ?? 0) + by;
  if (v > 0) m.set(k, v);
  else m.delete(k);
}

export class SlotArbiter {
  private readonly revs = new Map<string, RevisionSlots>();
  private readonly clock: () => number;
  private readonly later: (fn: () => void, ms: number) => () => void;

  constructor(private readonly o: ArbiterOptions) {
    this.clock = o.clock ?? (() => performance.now());
    this.later = o.later ?? realLater;
  }

  private rev(key: string): RevisionSlots {
    let r = this.revs.get(key);
    if (!r) {
      r = {
        cc: 0,
        active: new Set(),
        leases: new Map(),
        leasedBy: new Map(),
        waiting: [],
        waitingTotal: 0,
        waitingBy: new Map(),
        reclaiming: false,
        awaiting: null,
        shares: new Map(),
        lastRebalance: Number.NEGATIVE_INFINITY,
        cancelRebalance: null,
        quietSince: null,
        cancelSettle: null,
      };
      this.revs.set(key, r);
    }
    return r;
  }

  /** The control plane set the revision's endpoints and limit. */
  setBackend(key: string, endpointIds: readonly string[], cc: number): void {
    const r = this.rev(key);
    r.cc = cc;
    r.active = new Set(endpointIds);
    this.grant(key, r);
    this.changed(key, r);
    this.tidy(key, r);
  }

  /** An endpoint stops taking requests (drain); its leases come back as its requests finish. */
  deactivate(key: string, endpointId: string): void {
    const r = this.revs.get(key);
    if (!r) return;
    r.active.delete(endpointId);
    this.changed(key, r);
    this.tidy(key, r);
  }

  removeBackend(key: string): void {
    const r = this.revs.get(key);
    if (!r) return;
    r.active.clear();
    r.cc = 0;
    this.changed(key, r);
    this.tidy(key, r);
  }

  /** Requests held in all workers waiting for a slot or for any endpoint. */
  held(key: string): number {
    return this.revs.get(key)?.waitingTotal ?? 0;
  }

  /** Slots leased on one endpoint (all workers). */
  leased(key: string, endpointId: string): number {
    let n = 0;
    for (const c of this.revs.get(key)?.leases.get(endpointId)?.values() ?? []) n += c;
    return n;
  }

  /** The share a worker was told for the revision in the current reclaim episode (0 outside one). */
  share(key: string, worker: number): number {
    return this.revs.get(key)?.shares.get(worker) ?? 0;
  }

  want(worker: number, key: string, n: number): void {
    if (n <= 0) return;
    const r = this.rev(key);
    // A new want is granted at once only when nobody is waiting already (free slots never
    // coexist with waits: grant() hands them out as they come back).
    if (r.waitingTotal === 0) n -= this.grantTo(key, r, worker, n);
    if (n === 0) return;
    const room = Math.max(0, this.o.maxQueuedPerRevision - r.waitingTotal);
    const take = Math.min(n, room);
    if (n > take) this.o.send(worker, { t: 'refuse', key, n: n - take, held: r.waitingTotal + take });
    if (take === 0) return;
    const last = r.waiting[r.waiting.length - 1];
    if (last && last.worker === worker) last.n += take;
    else r.waiting.push({ worker, n: take });
    const wasIdle = r.waitingTotal === 0;
    r.waitingTotal += take;
    r.quietSince = null;
    bump(r.waitingBy, worker, take);
    const holders = this.holders(r);
    const fresh = !r.reclaiming;
    this.reclaim(key, r);
    this.changed(key, r);
    if (!wasIdle) return;
    // Slots exist but are all leased: first see whether their holders had idle ones. In an
    // episode that lingers (shares in force), idle slots are going back already.
    if (fresh && r.cc > 0 && holders.size > 0) r.awaiting = holders;
    else this.o.demand(key);
  }

  /** A worker answered the reclaim: its idle slots (sent before this answer) are back. */
  reclaimed(worker: number, key: string): void {
    const r = this.revs.get(key);
    if (!r?.awaiting) return;
    r.awaiting.delete(worker);
    this.settleAwaiting(key, r);
  }

  private settleAwaiting(key: string, r: RevisionSlots): void {
    if (!r.awaiting || r.awaiting.size > 0) return;
    r.awaiting = null;
    if (r.waitingTotal > 0) this.o.demand(key);
  }

  private holders(r: RevisionSlots): Set<number> {
    return new Set(r.leasedBy.keys());
  }

  /** While requests wait and slots exist, every worker gives idle slots back (and those over its share). */
  private reclaim(key: string, r: RevisionSlots): void {
    if (r.waitingTotal === 0 || r.cc === 0 || r.reclaiming) return;
    r.reclaiming = true;
    for (const w of this.o.workers()) this.o.send(w, { t: 'reclaim', key });
  }

  /** A worker's held requests left without a slot from here (timed out, answered, or given a slot it had). */
  cancel(worker: number, key: string, n: number): void {
    const r = this.revs.get(key);
    if (!r) return;
    for (let i = r.waiting.length - 1; i >= 0 && n > 0; i--) {
      const c = r.waiting[i];
      if (c.worker !== worker) continue;
      const k = Math.min(c.n, n);
      c.n -= k;
      n -= k;
      r.waitingTotal -= k;
      bump(r.waitingBy, worker, -k);
      if (c.n === 0) r.waiting.splice(i, 1);
    }
    this.changed(key, r);
    this.tidy(key, r);
  }

  returned(worker: number, key: string, endpointId: string, n: number): void {
    const r = this.revs.get(key);
    const byWorker = r?.leases.get(endpointId);
    const have = byWorker?.get(worker) ?? 0;
    if (!r || !byWorker || have === 0) return;
    const back = Math.min(have, n);
    if (have > back) byWorker.set(worker, have - back);
    else byWorker.delete(worker);
    if (byWorker.size === 0) r.leases.delete(endpointId);
    bump(r.leasedBy, worker, -back);
    this.grant(key, r);
    this.changed(key, r);
    this.tidy(key, r);
  }

  /** A new worker: it gives slots back too while a revision has requests waiting. */
  joined(worker: number): void {
    for (const [key, r] of this.revs) if (r.reclaiming) this.o.send(worker, { t: 'reclaim', key });
  }

  /** A worker died: its slots are free (its connections died with it), its held requests are gone. */
  workerGone(worker: number): void {
    for (const [key, r] of this.revs) {
      for (const [ep, byWorker] of r.leases) {
        byWorker.delete(worker);
        if (byWorker.size === 0) r.leases.delete(ep);
      }
      r.leasedBy.delete(worker);
      r.shares.delete(worker);
      if (r.awaiting?.delete(worker)) this.settleAwaiting(key, r);
      const kept = r.waiting.filter((c) => c.worker !== worker);
      if (kept.length !== r.waiting.length) {
        r.waiting = kept;
        r.waitingTotal = kept.reduce((s, c) => s + c.n, 0);
        r.waitingBy.delete(worker);
      }
      this.grant(key, r);
      this.changed(key, r);
      this.tidy(key, r);
    }
  }

  /**
   * Hands free slots to waiting requests: first to workers below their share (oldest wait first,
   * up to the share), then to the oldest waits.
   */
  private grant(key: string, r: RevisionSlots): void {
    while (r.waiting.length > 0) {
      let i = r.waiting.findIndex((c) => (r.leasedBy.get(c.worker) ?? 0) < (r.shares.get(c.worker) ?? 0));
      let want: number;
      if (i >= 0) {
        const c = r.waiting[i];
        want = Math.min(c.n, (r.shares.get(c.worker) ?? 0) - (r.leasedBy.get(c.worker) ?? 0));
      } else {
        i = 0;
        want = r.waiting[0].n;
      }
      const c = r.waiting[i];
      const got = this.grantTo(key, r, c.worker, want);
      if (got === 0) break;
      c.n -= got;
      r.waitingTotal -= got;
      bump(r.waitingBy, c.worker, -got);
      if (c.n === 0) r.waiting.splice(i, 1);
    }
    this.reclaim(key, r);
  }

  /** Grants up to n free slots to one worker, spreading over the least-leased endpoints; returns how many. */
  private grantTo(key: string, r: RevisionSlots, worker: number, n: number): number {
    if (r.cc === 0) return 0;
    let granted = 0;
    while (granted < n) {
      let best: string | undefined;
      let bestUsed = r.cc;
      for (const ep of r.active) {
        const used = this.leased(key, ep);
        if (used < bestUsed) {
          best = ep;
          bestUsed = used;
        }
      }
      if (best === undefined) break;
      let byWorker = r.leases.get(best);
      if (!byWorker) r.leases.set(best, (byWorker = new Map()));
      byWorker.set(worker, (byWorker.get(worker) ?? 0) + 1);
      bump(r.leasedBy, worker, 1);
      this.o.send(worker, { t: 'grant', key, ep: best, n: 1 });
      granted++;
    }
    return granted;
  }

  /** Demand or capacity changed: recompute the shares now, or once REBALANCE_MS after the last time. */
  private changed(key: string, r: RevisionSlots): void {
    if (!r.reclaiming || r.cancelRebalance) return;
    const now = this.clock();
    const due = r.lastRebalance + REBALANCE_MS;
    if (now >= due) {
      this.rebalance(key, r, now);
      return;
    }
    r.cancelRebalance = this.later(() => {
      r.cancelRebalance = null;
      if (this.revs.get(key) !== r || !r.reclaiming) return;
      this.rebalance(key, r, this.clock());
      this.tidy(key, r);
    }, due - now);
  }

  /** Tells every worker whose share changed its new one. */
  private rebalance(key: string, r: RevisionSlots, now: number): void {
    r.lastRebalance = now;
    const demands = new Map<number, number>();
    for (const [w, n] of r.leasedBy) bump(demands, w, n);
    for (const [w, n] of r.waitingBy) bump(demands, w, n);
    const next = fairShares(r.cc * r.active.size, demands);
    for (const w of new Set([...r.shares.keys(), ...next.keys()])) {
      const n = next.get(w) ?? 0;
      if (n === (r.shares.get(w) ?? 0)) continue;
      if (n > 0) r.shares.set(w, n);
      else r.shares.delete(w);
      this.o.send(w, { t: 'share', key, n });
    }
    // A larger share may be fillable from slots nobody holds right now (there are none while
    // requests wait, but capacity may have grown since the last grant).
    this.grant(key, r);
  }

  /**
   * Ends a reclaim episode when nobody waits — at once without shares, else once nobody waited
   * for SETTLE_MS (contention that pauses for a moment keeps its shares) — and forgets revisions
   * with nothing left.
   */
  private tidy(key: string, r: RevisionSlots): void {
    if (r.waitingTotal > 0) return;
    r.awaiting = null;
    const gone = r.leases.size === 0 && r.active.size === 0;
    if (r.reclaiming) {
      const now = this.clock();
      r.quietSince ??= now;
      if (r.shares.size === 0 || gone || now - r.quietSince >= SETTLE_MS) this.settle(key, r);
      else
        r.cancelSettle ??= this.later(
          () => {
            r.cancelSettle = null;
            if (this.revs.get(key) === r) this.tidy(key, r);
          },
          r.quietSince + SETTLE_MS - now,
        );
    }
    if (gone) this.revs.delete(key);
  }

  private settle(key: string, r: RevisionSlots): void {
    r.reclaiming = false;
    r.shares.clear();
    r.quietSince = null;
    r.cancelRebalance?.();
    r.cancelRebalance = null;
    r.cancelSettle?.();
    r.cancelSettle = null;
    for (const w of this.o.workers()) this.o.send(w, { t: 'settle', key });
  }
}
