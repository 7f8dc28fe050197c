// Leader election on a coordination.k8s.io/v1 Lease, with client-go's algorithm: a candidate takes
// the Lease only when its holder has not renewed it for a whole lease duration, measured on the
// candidate's own clock from when it last saw the record change (so clocks need not agree); every
// write carries the read resourceVersion, so of two candidates exactly one wins. The leader renews
// every retry period and steps down when it could not renew within the renew deadline.

import type { KObject } from '../api/types.js';
import { isAlreadyExists, isConflict, type KubeClient } from './client.js';
import { T } from './resources.js';

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity: string;
  /** How long a Lease holds without renewal (default 15 s, controller-runtime's). */
  leaseDurationMs?: number;
  /** How long the leader keeps trying to renew before it gives up (default 10 s). */
  renewDeadlineMs?: number;
  /** Pause between tries (default 2 s). */
  retryPeriodMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  log?: (msg: string) => void;
}

export interface LeaderCallbacks {
  onStartedLeading(): void;
  /** Leadership was lost (or released): stop reconciling. */
  onStoppedLeading(): void;
  onNewLeader?(identity: string): void;
}

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

/** metav1.MicroTime wants exactly six fractional digits. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

const sleepDefault = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

export class LeaderElector {
  private observed?: string; // the raw record last seen
  private observedAt = 0;
  private leading = false;
  private stopped = false;
  private wake?: () => void;
  private lease?: KObject;
  private readonly leaseMs: number;
  private readonly renewMs: number;
  private readonly retryMs: number;
  private readonly now: () => number;
  private lastLeader = '';

  constructor(
    private readonly client: KubeClient,
    private readonly o: LeaderElectionOptions,
    private readonly cb: LeaderCallbacks,
  ) {
    this.leaseMs = o.leaseDurationMs ?? 15_000;
    this.renewMs = o.renewDeadlineMs ?? 10_000;
    this.retryMs = o.retryPeriodMs ?? 2_000;
    if (this.renewMs >= this.leaseMs) throw new Error('leader election: the renew deadline must be shorter than the lease duration');
    this.now = o.now ?? Date.now;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** Campaigns until leading, leads until renewal fails or stop(); then campaigns again. */
  async run(): Promise<void> {
    while (!this.stopped) {
      await this.acquire();
      if (this.stopped) break;
      this.leading = true;
      this.o.log?.(`leader election: ${this.o.identity} leads ${this.o.namespace}/${this.o.name}`);
      this.cb.onStartedLeading();
      await this.renewLoop();
      this.leading = false;
      this.cb.onStoppedLeading();
    }
  }

  /** Stops campaigning; a leader releases the Lease so a successor need not wait it out. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    if (this.leading) await this.release();
  }

  private async pause(ms: number): Promise<void> {
    await Promise.race([(this.o.sleep ?? sleepDefault)(ms), new Promise<void>((r) => (this.wake = r))]);
  }

  private async acquire(): Promise<void> {
    while (!this.stopped) {
      if (await this.tryAcquireOrRenew()) return;
      // client-go waits a jittered retry period (factor 1.2) between tries.
      await this.pause(this.retryMs * (1 + Math.random() * 0.2));
    }
  }

  private async renewLoop(): Promise<void> {
    while (!this.stopped) {
      await this.pause(this.retryMs);
      if (this.stopped) return;
      const deadline = this.now() + this.renewMs;
      let renewed = false;
      while (!this.stopped && this.now() < deadline) {
        if (await this.tryAcquireOrRenew()) {
          renewed = true;
          break;
        }
        // Someone else holds it now: no point retrying until the deadline.
        if (this.lastLeader && this.lastLeader !== this.o.identity) break;
        await this.pause(Math.min(this.retryMs, Math.max(0, deadline - this.now())));
      }
      if (this.stopped) return;
      if (!renewed) {
        this.o.log?.(`leader election: ${this.o.identity} failed to renew ${this.o.namespace}/${this.o.name}; stepping down`);
        return;
      }
    }
  }

  private observe(spec: LeaseSpec): void {
    const raw = JSON.stringify(spec);
    if (raw !== this.observed) {
      this.observed = raw;
      this.observedAt = this.now();
    }
    const holder = spec.holderIdentity ?? '';
    if (holder !== this.lastLeader) {
      this.lastLeader = holder;
      if (holder) this.cb.onNewLeader?.(holder);
    }
  }

  /** One try; true when this candidate holds the Lease afterwards. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const now = this.now();
    const fresh: LeaseSpec = {
      holderIdentity: this.o.identity,
      leaseDurationSeconds: Math.max(1, Math.round(this.leaseMs / 1000)),
      acquireTime: microTime(now),
      renewTime: microTime(now),
      leaseTransitions: 0,
    };
    let current: KObject | undefined;
    try {
      current = await this.client.get(T.leases, this.o.namespace, this.o.name);
    } catch (e) {
      this.o.log?.(`leader election: reading the Lease failed: ${(e as Error).message}`);
      return false;
    }
    if (!current) {
      try {
        this.lease = await this.client.create(T.leases, {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { namespace: this.o.namespace, name: this.o.name },
          spec: fresh,
        });
        this.observe(fresh);
        return true;
      } catch (e) {
        if (!isAlreadyExists(e)) this.o.log?.(`leader election: creating the Lease failed: ${(e as Error).message}`);
        return false;
      }
    }
    const spec = (current.spec ?? {}) as LeaseSpec;
    this.observe(spec);
    const holder = spec.holderIdentity ?? '';
    const iHold = holder === this.o.identity;
    if (holder && !iHold && this.observedAt + (spec.leaseDurationSeconds ?? 0) * 1000 > now) return false;
    const next: LeaseSpec = iHold
      ? { ...fresh, acquireTime: spec.acquireTime ?? fresh.acquireTime, leaseTransitions: spec.leaseTransitions ?? 0 }
      : { ...fresh, leaseTransitions: (spec.leaseTransitions ?? 0) + 1 };
    try {
      this.lease = await this.client.update(T.leases, { ...current, spec: next });
      this.observe(next);
      return true;
    } catch (e) {
      if (!isConflict(e)) this.o.log?.(`leader election: updating the Lease failed: ${(e as Error).message}`);
      return false;
    }
  }

  private async release(): Promise<void> {
    if (!this.lease) return;
    // As client-go's ReleaseOnCancel: keep the record, clear the holder, shorten the duration.
    const spec = { ...(this.lease.spec as LeaseSpec), holderIdentity: '', leaseDurationSeconds: 1 };
    try {
      await this.client.update(T.leases, { ...this.lease, spec });
    } catch (e) {
      this.o.log?.(`leader election: releasing the Lease failed: ${(e as Error).message}`);
    }
    this.leading = false;
  }
}
