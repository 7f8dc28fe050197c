// The slot arbiter: in the main process, the one owner of every revision's containerConcurrency
// slots when the gateway runs in several workers, and of the hold queue's bound across them.
//
// Each active endpoint of a revision with containerConcurrency cc > 0 has cc slots. A worker
// forwards a request only on a slot it holds (a lease); leases stay with the worker after the
// request, so a worker that keeps serving a revision needs no message at all. A worker that has no
// free slot holds the request and sends `want`; the arbiter grants a free slot at once, or queues
// the want (FIFO across workers, bounded by maxQueuedPerRevision: beyond it, `refuse`), fires the
// demand signal when the revision starts waiting, and asks every worker to give slots back as they
// free (`reclaim`) until nobody waits (`settle`). A wait that idle slots in other workers can serve
// is not demand: when every slot is leased, the signal waits for the lease holders' answers to the
// reclaim (`reclaimed`, after their idle slots came back) and fires only if requests still wait. cc = 0 needs no slots: wants only count held
// requests (scale from zero) against the bound and for the demand signal.
//
// Pure bookkeeping: messages go out through `send`, nothing here touches a process.

import type { ToWorker } from './protocol.js';

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
  /** Held requests waiting for a slot, oldest first. */
  waiting: Chunk[];
  waitingTotal: number;
  reclaiming: boolean;
  /** Lease holders whose answer to this episode's reclaim is due before demand may fire. */
  awaiting: Set<number> | null;
}

export interface ArbiterOptions {
  maxQueuedPerRevision: number;
  send(worker: number, msg: ToWorker): void;
  /** The live workers (reclaim and settle go to all of them). */
  workers(): Iterable<number>;
  /** A revision started holding requests (its wait queue went from empty to non-empty). */
  demand(key: string): void;
}

export class SlotArbiter {
  private readonly revs = new Map<string, RevisionSlots>();

  constructor(private readonly o: ArbiterOptions) {}

  private rev(key: string): RevisionSlots {
    let r = this.revs.get(key);
    if (!r) {
      r = { cc: 0, active: new Set(), leases: new Map(), waiting: [], waitingTotal: 0, reclaiming: false, awaiting: null };
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
    this.tidy(key, r);
  }

  /** An endpoint stops taking requests (drain); its leases come back as its requests finish. */
  deactivate(key: string, endpointId: string): void {
    const r = this.revs.get(key);
    if (!r) return;
    r.active.delete(endpointId);
    this.tidy(key, r);
  }

  removeBackend(key: string): void {
    const r = this.revs.get(key);
    if (!r) return;
    r.active.clear();
    r.cc = 0;
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

  want(worker: number, key: string, n: number): void {
    if (n <= 0) return;
    const r = this.rev(key);
    // FIFO: a new want is granted at once only when nobody is waiting already.
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
    const holders = this.holders(r);
    this.reclaim(key, r);
    if (!wasIdle) return;
    // Slots exist but are all leased: first see whether their holders had idle ones.
    if (r.cc > 0 && holders.size > 0) r.awaiting = holders;
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
    const out = new Set<number>();
    for (const byWorker of r.leases.values()) for (const w of byWorker.keys()) out.add(w);
    return out;
  }

  /** While requests wait and slots exist, every worker gives slots back as they free. */
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
      if (c.n === 0) r.waiting.splice(i, 1);
    }
    this.tidy(key, r);
  }

  returned(worker: number, key: string, endpointId: string, n: number): void {
    const r = this.revs.get(key);
    const byWorker = r?.leases.get(endpointId);
    const have = byWorker?.get(worker) ?? 0;
    if (!r || !byWorker || have === 0) return;
    const left = have - Math.min(have, n);
    if (left > 0) byWorker.set(worker, left);
    else byWorker.delete(worker);
    if (byWorker.size === 0) r.leases.delete(endpointId);
    this.grant(key, r);
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
      if (r.awaiting?.delete(worker)) this.settleAwaiting(key, r);
      const kept = r.waiting.filter((c) => c.worker !== worker);
      if (kept.length !== r.waiting.length) {
        r.waiting = kept;
        r.waitingTotal = kept.reduce((s, c) => s + c.n, 0);
      }
      this.grant(key, r);
      this.tidy(key, r);
    }
  }

  /** Hands free slots to the oldest waiting requests. */
  private grant(key: string, r: RevisionSlots): void {
    while (r.waiting.length > 0) {
      const head = r.waiting[0];
      const got = this.grantTo(key, r, head.worker, head.n);
      if (got === 0) break;
      head.n -= got;
      r.waitingTotal -= got;
      if (head.n === 0) r.waiting.shift();
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
      this.o.send(worker, { t: 'grant', key, ep: best, n: 1 });
      granted++;
    }
    return granted;
  }

  /** Ends a reclaim episode when nobody waits, and forgets revisions with nothing left. */
  private tidy(key: string, r: RevisionSlots): void {
    if (r.waitingTotal === 0) r.awaiting = null;
    if (r.waitingTotal === 0 && r.reclaiming) {
      r.reclaiming = false;
      for (const w of this.o.workers()) this.o.send(w, { t: 'settle', key });
    }
    if (r.waitingTotal === 0 && r.leases.size === 0 && r.active.size === 0) this.revs.delete(key);
  }
}
