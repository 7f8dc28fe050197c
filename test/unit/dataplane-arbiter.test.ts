// The slot arbiter of a multi-process gateway (src/dataplane/workers/arbiter.ts): leases never
// exceed containerConcurrency per endpoint, waits are granted oldest first across workers, the
// hold bound is one bound for all workers, and the demand signal fires once per episode.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SlotArbiter } from '../../src/dataplane/workers/arbiter.js';
import type { ToWorker } from '../../src/dataplane/workers/protocol.js';

function setup(maxQueued = 10, workers = [1, 2]) {
  const sent: [number, ToWorker][] = [];
  const demands: string[] = [];
  const a = new SlotArbiter({
    maxQueuedPerRevision: maxQueued,
    send: (w, m) => sent.push([w, m]),
    workers: () => workers,
    demand: (k) => demands.push(k),
  });
  const take = (t?: ToWorker['t']) => {
    const out = sent.filter(([, m]) => t === undefined || m.t === t).map(([w, m]) => ({ w, ...m }));
    sent.length = 0;
    return out;
  };
  return { a, take, demands };
}

test('a free slot is granted at once; a second want waits and gets it when it comes back', () => {
  const { a, take, demands } = setup();
  a.setBackend('ns/r', ['e1'], 1);
  a.want(1, 'ns/r', 1);
  assert.deepEqual(take(), [{ w: 1, t: 'grant', key: 'ns/r', ep: 'e1', n: 1 }]);
  assert.deepEqual(demands, []);

  a.want(2, 'ns/r', 1);
  assert.equal(a.held('ns/r'), 1);
  // Everyone is asked to give slots back while somebody waits.
  assert.deepEqual(take(), [
    { w: 1, t: 'reclaim', key: 'ns/r' },
    { w: 2, t: 'reclaim', key: 'ns/r' },
  ]);
  assert.deepEqual(demands, [], 'the slot may be idle in worker 1: not demand yet');
  a.reclaimed(1, 'ns/r');
  assert.deepEqual(demands, ['ns/r'], 'worker 1 had no idle slot: waiting at capacity is demand');

  a.returned(1, 'ns/r', 'e1', 1);
  assert.deepEqual(take(), [
    { w: 2, t: 'grant', key: 'ns/r', ep: 'e1', n: 1 },
    { w: 1, t: 'settle', key: 'ns/r' },
    { w: 2, t: 'settle', key: 'ns/r' },
  ]);
  assert.equal(a.leased('ns/r', 'e1'), 1);
  assert.equal(a.held('ns/r'), 0);
});

test('never more leases on an endpoint than containerConcurrency, spread over endpoints', () => {
  const { a, take } = setup(100);
  a.setBackend('ns/r', ['e1', 'e2'], 2);
  a.want(1, 'ns/r', 3);
  a.want(2, 'ns/r', 2);
  a.want(1, 'ns/r', 1);
  assert.deepEqual(
    take('grant').map((g) => g.w),
    [1, 1, 1, 2],
  );
  assert.equal(a.leased('ns/r', 'e1'), 2);
  assert.equal(a.leased('ns/r', 'e2'), 2);
  assert.equal(a.held('ns/r'), 2);
  // A new endpoint's slots go to the oldest waits first: worker 2's, then worker 1's.
  a.setBackend('ns/r', ['e1', 'e2', 'e3'], 2);
  assert.deepEqual(
    take('grant').map((g) => [g.w, g.t === 'grant' ? g.ep : '']),
    [
      [2, 'e3'],
      [1, 'e3'],
    ],
  );
});

test('the hold bound is one bound across workers: wants past it are refused', () => {
  const { a, take } = setup(3);
  a.setBackend('ns/r', [], 0);
  a.want(1, 'ns/r', 2);
  a.want(2, 'ns/r', 2);
  assert.deepEqual(take('refuse'), [{ w: 2, t: 'refuse', key: 'ns/r', n: 1, held: 3 }]);
  assert.equal(a.held('ns/r'), 3);
  a.cancel(1, 'ns/r', 1);
  a.want(2, 'ns/r', 1);
  assert.deepEqual(take('refuse'), []);
  assert.equal(a.held('ns/r'), 3);
});

test('demand fires when a revision starts waiting, once per episode', () => {
  const { a, demands } = setup();
  a.want(1, 'ns/zero', 1);
  a.want(2, 'ns/zero', 1);
  assert.deepEqual(demands, ['ns/zero']);
  a.cancel(1, 'ns/zero', 1);
  a.cancel(2, 'ns/zero', 1);
  a.want(2, 'ns/zero', 1);
  assert.deepEqual(demands, ['ns/zero', 'ns/zero']);
});

test('a drained endpoint gets no new leases; its slots count until they come back', () => {
  const { a, take } = setup();
  a.setBackend('ns/r', ['e1'], 1);
  a.want(1, 'ns/r', 1);
  take();
  a.deactivate('ns/r', 'e1');
  a.setBackend('ns/r', ['e1'], 1);
  // Listed again while worker 1 still holds its slot: nothing more to give.
  a.want(2, 'ns/r', 1);
  assert.deepEqual(take('grant'), []);
  a.returned(1, 'ns/r', 'e1', 1);
  assert.deepEqual(take('grant'), [{ w: 2, t: 'grant', key: 'ns/r', ep: 'e1', n: 1 }]);
});

test('a worker that dies frees its slots and its waits', () => {
  const { a, take } = setup();
  a.setBackend('ns/r', ['e1'], 1);
  a.want(1, 'ns/r', 1);
  a.want(1, 'ns/r', 2);
  a.want(2, 'ns/r', 1);
  take();
  assert.equal(a.held('ns/r'), 3);
  a.workerGone(1);
  assert.equal(a.held('ns/r'), 0);
  assert.deepEqual(take('grant'), [{ w: 2, t: 'grant', key: 'ns/r', ep: 'e1', n: 1 }]);
});

test('a wait that an idle slot in another worker serves is not demand', () => {
  const { a, take, demands } = setup();
  a.setBackend('ns/r', ['e1'], 1);
  a.want(1, 'ns/r', 1);
  a.want(2, 'ns/r', 1);
  take();
  // Worker 1's slot was idle: it comes back with the answer to the reclaim.
  a.returned(1, 'ns/r', 'e1', 1);
  a.reclaimed(1, 'ns/r');
  assert.deepEqual(take('grant'), [{ w: 2, t: 'grant', key: 'ns/r', ep: 'e1', n: 1 }]);
  assert.deepEqual(demands, []);
});
