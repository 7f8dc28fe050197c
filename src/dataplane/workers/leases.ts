// A gateway worker's side of slot arbitration (see arbiter.ts): the slots it holds per endpoint
// (EndpointState.leased, mirrored here by endpoint id so leases of endpoints that left routing are
// still given back), and its held requests told to the arbiter as wants.
//
// Outside a reclaim episode every slot stays here after its request. Between `reclaim` and
// `settle` (somebody waits), a slot freed by a request's end (`released`, before the gateway
// forwards held requests) goes back when this worker holds more than its `share`; within the
// share it stays for this worker's own oldest held request, with no message. A slot left idle
// (nothing held here) goes back at the next idle check, at most IDLE_GIVEBACK_MS later, if still
// nothing is held then: a client that keeps its connection busy sends its next request sooner.
//
// Wants are sent at most once per turn of the event loop per revision, and never fall below the
// requests this worker holds: a grant answers one want and adds a slot; the gateway then forwards
// its oldest held request on it. During an episode a fall in held requests is told only after
// CANCEL_DELAY_MS: serving its own queue from its share, each request would otherwise cost a
// cancel (the held request forwarded) and a want (the next one held). For that long the arbiter
// counts a few held requests too many (against the hold bound, and in `load().queued`), never too
// few; a grant that finds nothing to serve corrects the count at once.

import type { EndpointState, QueueNode, RevisionState, SlotHooks } from '../revision.js';
import type { FromWorker } from './protocol.js';

type Rev = RevisionState<QueueNode>;

export interface LeaseHost {
  send(msg: FromWorker): void;
  revision(key: string): Rev | undefined;
  pump(key: string): void;
  refuseNewest(key: string, n: number, held: number): void;
}

/** How long a fall in held requests may wait to be told while the revision's requests wait. */
export const CANCEL_DELAY_MS = 50;

/** During an episode, how soon after a slot went idle here (nothing held) it is checked and given back. */
export const IDLE_GIVEBACK_MS = 20;

export interface WorkerSlotsOptions {
  /** Runs fn once the current work is done (default queueMicrotask: after this turn's changes). */
  defer?: (fn: () => void) => void;
  /** Runs fn after ms (default an unref'd setTimeout). */
  later?: (fn: () => void, ms: number) => void;
}

export class WorkerSlots implements SlotHooks {
  /** Wants sent per revision and not yet granted, refused or cancelled. */
  private readonly wants = new Map<string, number>();
  /** Slots held per revision and endpoint id. */
  private readonly leases = new Map<string, Map<string, number>>();
  private readonly reclaiming = new Set<string>();
  /** The arbiter's share per revision while reclaiming (absent: 0). */
  private readonly shares = new Map<string, number>();
  private readonly dirty = new Set<Rev>();
  private flushScheduled = false;
  /** Revisions whose cancel waits for the CANCEL_DELAY_MS timer. */
  private readonly lateCancels = new Set<string>();
  private cancelTimer = false;
  private idleTimer = false;
  private host: LeaseHost | null = null;
  private readonly defer: (fn: () => void) => void;
  private readonly later: (fn: () => void, ms: number) => void;

  constructor(opts: WorkerSlotsOptions = {}) {
    this.defer = opts.defer ?? queueMicrotask;
    this.later = opts.later ?? ((fn, ms) => setTimeout(fn, ms).unref());
  }

  attach(host: LeaseHost): void {
    this.host = host;
  }

  // ---- SlotHooks (called by the gateway) ----

  queueChanged(rev: Rev): void {
    this.dirty.add(rev);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      this.defer(() => this.flush());
    }
  }

  /** Called before the gateway forwards held requests on free slots (which then take this one). */
  released(rev: Rev, ep: EndpointState): void {
    this.tend(rev, ep);
  }

  endpointsChanged(rev: Rev): void {
    const mine = this.leases.get(rev.key);
    if (!mine) return;
    for (const [id, n] of mine) {
      const ep = findEndpoint(rev, id);
      if (ep === undefined) {
        // The endpoint left routing and has nothing in flight here: all its slots go back.
        mine.delete(id);
        this.host!.send({ t: 'return', key: rev.key, ep: id, n });
      } else {
        ep.leased = n;
        if (ep.retired) this.giveBackIdle(rev.key, ep);
      }
    }
    if (mine.size === 0) this.leases.delete(rev.key);
  }

  // ---- from the arbiter ----

  grant(key: string, id: string, n: number): void {
    const host = this.host!;
    this.wants.set(key, Math.max(0, (this.wants.get(key) ?? 0) - n));
    const rev = host.revision(key);
    const ep = rev?.endpoints.find((e) => e.id === id);
    if (!rev || !ep) {
      host.send({ t: 'return', key, ep: id, n });
      return;
    }
    this.add(key, id, n);
    ep.leased += n;
    host.pump(key);
    if (!this.reclaiming.has(key)) return;
    // A grant nothing here can use answered a want already served from this worker's own slots
    // (a cancel still waiting for CANCEL_DELAY_MS): correct the count now, so the arbiter does not
    // grant the slot straight back if it returns.
    if (rev.queued < (this.wants.get(key) ?? 0)) this.tell(key, rev.queued);
    this.tend(rev, ep);
  }

  refuse(key: string, n: number, held: number): void {
    this.wants.set(key, Math.max(0, (this.wants.get(key) ?? 0) - n));
    this.host!.refuseNewest(key, n, held);
  }

  reclaim(key: string): void {
    this.reclaiming.add(key);
    const rev = this.host!.revision(key);
    if (rev) for (const ep of rev.endpoints) this.giveBackIdle(key, ep);
    this.host!.send({ t: 'reclaimed', key });
  }

  share(key: string, n: number): void {
    if (!this.reclaiming.has(key)) return;
    if (n > 0) this.shares.set(key, n);
    else this.shares.delete(key);
  }

  settle(key: string): void {
    this.reclaiming.delete(key);
    this.shares.delete(key);
  }

  // ---- internals ----

  /** A slot on ep became free (or was granted): the episode's policy (see the header). */
  private tend(rev: Rev, ep: EndpointState): void {
    const key = rev.key;
    if (ep.retired) return this.giveBackIdle(key, ep);
    if (!this.reclaiming.has(key)) return;
    const over = this.leasedTotal(key) - (this.shares.get(key) ?? 0);
    if (over > 0) this.giveBackIdle(key, ep, over);
    if (rev.queued === 0 && !this.idleTimer) {
      this.idleTimer = true;
      this.later(() => this.giveBackLingering(), IDLE_GIVEBACK_MS);
    }
  }

  private giveBackLingering(): void {
    this.idleTimer = false;
    for (const key of this.reclaiming) {
      const rev = this.host!.revision(key);
      if (rev && rev.queued === 0) for (const ep of rev.endpoints) this.giveBackIdle(key, ep);
    }
  }

  /** Slots this worker holds for the revision, over all endpoints. */
  private leasedTotal(key: string): number {
    let n = 0;
    for (const v of this.leases.get(key)?.values() ?? []) n += v;
    return n;
  }

  /** Gives back the slots on ep that no request of this worker uses (at most `max`). */
  private giveBackIdle(key: string, ep: EndpointState, max = Number.POSITIVE_INFINITY): void {
    const idle = Math.min(max, Math.min(ep.leased, this.leases.get(key)?.get(ep.id) ?? 0) - ep.inFlight);
    if (idle <= 0) return;
    ep.leased -= idle;
    this.add(key, ep.id, -idle);
    this.host!.send({ t: 'return', key, ep: ep.id, n: idle });
  }

  private add(key: string, id: string, n: number): void {
    let mine = this.leases.get(key);
    if (!mine) this.leases.set(key, (mine = new Map()));
    const v = (mine.get(id) ?? 0) + n;
    if (v > 0) mine.set(id, v);
    else mine.delete(id);
    if (mine.size === 0) this.leases.delete(key);
  }

  private flush(): void {
    this.flushScheduled = false;
    for (const rev of this.dirty) {
      const key = rev.key;
      const sent = this.wants.get(key) ?? 0;
      if (rev.queued > sent) this.tell(key, rev.queued);
      else if (rev.queued < sent) {
        if (!this.reclaiming.has(key)) this.tell(key, rev.queued);
        else {
          this.lateCancels.add(key);
          if (!this.cancelTimer) {
            this.cancelTimer = true;
            this.later(() => this.flushCancels(), CANCEL_DELAY_MS);
          }
        }
      }
    }
    this.dirty.clear();
  }

  private flushCancels(): void {
    this.cancelTimer = false;
    for (const key of this.lateCancels) {
      const sent = this.wants.get(key) ?? 0;
      const held = this.host!.revision(key)?.queued ?? 0;
      if (held < sent) this.tell(key, held);
    }
    this.lateCancels.clear();
  }

  /** Brings the arbiter's count of this worker's wants to `held`. */
  private tell(key: string, held: number): void {
    const sent = this.wants.get(key) ?? 0;
    if (held > sent) this.host!.send({ t: 'want', key, n: held - sent });
    else if (held < sent) this.host!.send({ t: 'cancel', key, n: sent - held });
    if (held > 0) this.wants.set(key, held);
    else this.wants.delete(key);
  }
}

function findEndpoint(rev: Rev, id: string): EndpointState | undefined {
  for (const e of rev.endpoints) if (e.id === id) return e;
  for (const e of rev.retiring) if (e.id === id) return e;
  return undefined;
}
