// Lease leader election's decisions with an injected clock over an in-memory Lease table that
// behaves as the API server does for one object (AlreadyExists, Conflict on a stale
// resourceVersion). The same elector runs against the real kube-apiserver in test/kubernetes.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiError } from '../../src/api/errors.js';
import type { KObject } from '../../src/api/types.js';
import type { KubeClient } from '../../src/kube/client.js';
import { LeaderElector, microTime } from '../../src/kube/leader.js';

function leaseTable() {
  let stored: KObject | undefined;
  let rv = 0;
  const clone = (o: KObject) => JSON.parse(JSON.stringify(o)) as KObject;
  const api = {
    async get() {
      return stored && clone(stored);
    },
    async create(_t: unknown, o: KObject) {
      if (stored) throw new ApiError(409, 'AlreadyExists', 'leases "l" already exists');
      stored = { ...clone(o), metadata: { ...o.metadata, resourceVersion: String(++rv) } };
      return clone(stored);
    },
    async update(_t: unknown, o: KObject) {
      if (o.metadata.resourceVersion !== stored?.metadata.resourceVersion)
        throw new ApiError(409, 'Conflict', 'the object has been modified');
      stored = { ...clone(o), metadata: { ...o.metadata, resourceVersion: String(++rv) } };
      return clone(stored);
    },
  };
  return { client: api as unknown as KubeClient, lease: () => stored };
}

function candidate(client: KubeClient, identity: string, clock: { t: number }) {
  const events: string[] = [];
  const e = new LeaderElector(
    client,
    {
      namespace: 'sluice-system',
      name: 'sluice-controller',
      identity,
      now: () => clock.t,
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
    },
    { onStartedLeading: () => events.push('start'), onStoppedLeading: () => events.push('stop') },
  );
  return { e, events };
}

test('microTime has the six fractional digits metav1.MicroTime parses', () => {
  assert.equal(microTime(Date.UTC(2026, 11, 1, 22, 40, 1, 123)), '2026-12-01T22:40:01.123000Z');
});

test('the first candidate creates the Lease; another takes it only a full lease duration after it stopped changing', async () => {
  const { client, lease } = leaseTable();
  const clock = { t: 1_000_000 };
  const a = candidate(client, 'a', clock);
  const b = candidate(client, 'b', clock);
  assert.equal(await a.e.tryAcquireOrRenew(), true);
  assert.equal(lease()?.spec.holderIdentity, 'a');
  assert.equal(lease()?.spec.leaseDurationSeconds, 15);

  assert.equal(await b.e.tryAcquireOrRenew(), false, 'a holds a fresh lease');
  clock.t += 10_000;
  assert.equal(await a.e.tryAcquireOrRenew(), true, 'a renews');
  const acquired = lease()?.spec.acquireTime;
  assert.equal(await b.e.tryAcquireOrRenew(), false);
  // b measures from when it saw the renewal, not from renewTime on a's clock.
  clock.t += 14_000;
  assert.equal(await b.e.tryAcquireOrRenew(), false, '14 s after the last change the lease still holds');
  clock.t += 1_001;
  assert.equal(await b.e.tryAcquireOrRenew(), true, 'after 15 s without a renewal b takes over');
  assert.equal(lease()?.spec.holderIdentity, 'b');
  assert.equal(lease()?.spec.leaseTransitions, 1);
  assert.notEqual(lease()?.spec.acquireTime, acquired);

  assert.equal(await a.e.tryAcquireOrRenew(), false, 'the old leader cannot renew a lease it lost');
});

test('a renewal keeps acquireTime and leaseTransitions', async () => {
  const { client, lease } = leaseTable();
  const clock = { t: 5_000_000 };
  const a = candidate(client, 'a', clock);
  await a.e.tryAcquireOrRenew();
  const first = lease()!.spec;
  clock.t += 2_000;
  await a.e.tryAcquireOrRenew();
  assert.equal(lease()!.spec.acquireTime, first.acquireTime);
  assert.notEqual(lease()!.spec.renewTime, first.renewTime);
  assert.equal(lease()!.spec.leaseTransitions, 0);
});

test('of two candidates racing for an expired lease exactly one wins', async () => {
  const { client, lease } = leaseTable();
  const clock = { t: 9_000_000 };
  const old = candidate(client, 'old', clock);
  await old.e.tryAcquireOrRenew();
  const b = candidate(client, 'b', clock);
  const c = candidate(client, 'c', clock);
  await b.e.tryAcquireOrRenew();
  await c.e.tryAcquireOrRenew();
  clock.t += 16_000;
  const results = await Promise.all([b.e.tryAcquireOrRenew(), c.e.tryAcquireOrRenew()]);
  assert.deepEqual(results.filter(Boolean).length, 1, `results ${results}`);
  assert.equal(lease()!.spec.holderIdentity, results[0] ? 'b' : 'c');
});

test('a renew deadline not shorter than the lease duration is refused', () => {
  const { client } = leaseTable();
  assert.throws(
    () =>
      new LeaderElector(
        client,
        { namespace: 'x', name: 'y', identity: 'z', leaseDurationMs: 5000, renewDeadlineMs: 5000 },
        { onStartedLeading() {}, onStoppedLeading() {} },
      ),
    /renew deadline must be shorter/,
  );
});
