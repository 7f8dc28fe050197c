// A gateway worker's side of slot arbitration (see arbiter.ts): the slots it holds per endpoint
// (EndpointState.leased, mirrored here by endpoint id so leases of endpoints that left routing are
// still given back), and its held requests told to the arbiter as wants.
//
// Invariant kept after every change, at most once per turn of the event loop per revision:
// wants sent and not yet answered == requests this worker holds. A grant answers one want and adds
// a slot; the gateway then forwards its oldest held request on it.

import type { EndpointState, QueueNode, RevisionState, SlotHooks } from '../revision.js';
import type { FromWorker } from './protocol.js';

type Rev = RevisionState<QueueNode>;

export interface LeaseHost {
  send(msg: FromWorker): void;
  revision(key: string): Rev | undefined;
  pump(key: string): void;
  refuseNewest(key: string, n: number, held: number): void;
}

export class WorkerSlots implements SlotHooks {
  /** Wants sent per revision and not yet granted, refused or cancelled. */
  private readonly wants = new Map<string, number>();
  /** Slots held per revision and endpoint id. */
  private readonly leases = new Map<string, Map<string, number>>();
  private readonly reclaiming = new Set<string>();
  private readonly dirty = new Set<Rev>();
  private flushScheduled = false;
  private host: LeaseHost | null = null;

  attach(host: LeaseHost): void {
    this.host = host;
  }

  // ---- SlotHooks (called by the gateway) ----

  queueChanged(rev: Rev): void {
    this.dirty.add(rev);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  released(rev: Rev, ep: EndpointState): void {
    if (ep.retired || this.reclaiming.has(rev.key)) this.giveBackIdle(rev.key, ep);
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
    if (this.reclaiming.has(key)) this.giveBackIdle(key, ep);
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

  settle(key: string): void {
    this.reclaiming.delete(key);
  }

  // ---- internals ----

  /** Gives back the slots on ep that no request of this worker uses. */
  private giveBackIdle(key: string, ep: EndpointState): void {
    const idle = Math.min(ep.leased, this.leases.get(key)?.get(ep.id) ?? 0) - ep.inFlight;
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
    const host = this.host!;
    for (const rev of this.dirty) {
      const key = rev.key;
      const sent = this.wants.get(key) ?? 0;
      const held = rev.queued;
      if (held > sent) host.send({ t: 'want', key, n: held - sent });
      else if (held < sent) host.send({ t: 'cancel', key, n: sent - held });
      if (held > 0) this.wants.set(key, held);
      else this.wants.delete(key);
    }
    this.dirty.clear();
  }
}

function findEndpoint(rev: Rev, id: string): EndpointState | undefined {
  for (const e of rev.endpoints) if (e.id === id) return e;
  for (const e of rev.retiring) if (e.id === id) return e;
  return undefined;
}
