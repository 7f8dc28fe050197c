// Slot shares across gateway workers (src/dataplane/workers/arbiter.ts with leases.ts): the fair
// split itself, the episode's timing on an injected clock, and random interleavings of the real
// arbiter and real worker sides (test/support/slots-sim.ts) — containerConcurrency is never
// exceeded, the hold bound holds, every held request is served or answered, a worker that starts
// waiting is served while another keeps its slots busy, and under steady contention slots stay put.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fairShares, REBALANCE_MS, SETTLE_MS, SlotArbiter } from '../../src/dataplane/workers/arbiter.js';
import type { FromWorker, ToWorker } from '../../src/dataplane/workers/protocol.js';
import { WorkerSlots } from '../../src/dataplane/workers/leases.js';
import { RevisionState, type QueueNode } from '../../src/dataplane/revision.js';
import { prng } from '../support/prng.js';
import { KEY, SlotSim, type SimRequest } from '../support/slots-sim.js';

test('fairShares: max-min fair, rounded down, never more than capacity', () => {
  const table: [capacity: number, demands: [number, number][], shares: [number, number][]][] = [
    [16, [], []],
    [16, [[1, 16]], [[1, 16]]],
    [16, [[1, 40]], [[1, 16]]],
    [
      16,
      [
        [1, 16],
        [2, 16],
      ],
      [
        [1, 8],
        [2, 8],
      ],
    ],
    [
      16,
      [
        [1, 4],
        [2, 30],
      ],
      [
        [1, 4],
        [2, 12],
      ],
    ],
    [
      16,
      [
        [1, 10],
        [2, 10],
        [3, 10],
      ],
      [
        [1, 5],
        [2, 5],
        [3, 5],
      ],
    ],
    [
      4,
      [
        [1, 1],
        [2, 10],
        [3, 10],
      ],
      [
        [1, 1],
        [2, 1],
        [3, 1],
      ],
    ],
    [
      1,
      [
        [1, 1],
        [2, 1],
      ],
      [
        [1, 0],
        [2, 0],
      ],
    ],
    [
      16,
      [
        [1, 0],
        [2, 3],
      ],
      [[2, 3]],
    ],
  ];
  for (const [capacity, demands, want] of table) {
    const got = fairShares(capacity, new Map(demands));
    assert.deepEqual(
      [...got].sort((a, b) => a[0] - b[0]),
      want,
      `capacity ${capacity}, demands ${JSON.stringify(demands)}`,
    );
    assert.ok([...got.values()].reduce((s, n) => s + n, 0) <= capacity);
  }
});

function clocked(workers = [1, 2]) {
  let now = 1000;
  const timers: { at: number; fn: () => void; off: boolean }[] = [];
  const sent: [number, ToWorker][] = [];
  const demands: string[] = [];
  const a = new SlotArbiter({
    maxQueuedPerRevision: 100,
    send: (w, m) => sent.push([w, m]),
    workers: () => workers,
    demand: (k) => demands.push(k),
    clock: () => now,
    later: (fn, ms) => {
      const t = { at: now + ms, fn, off: false };
      timers.push(t);
      return () => (t.off = true);
    },
  });
  const advance = (ms: number) => {
    now += ms;
    for (const t of timers.splice(0)) {
      if (t.off) continue;
      if (t.at <= now) t.fn();
      else timers.push(t);
    }
  };
  const take = (t?: ToWorker['t']) => {
    const out = sent.filter(([, m]) => t === undefined || m.t === t).map(([w, m]) => ({ w, ...m }));
    sent.length = 0;
    return out;
  };
  return { a, advance, take, demands };
}

test('shares follow demand at once after a quiet period, then at most every REBALANCE_MS', () => {
  const { a, advance, take } = clocked();
  a.setBackend(KEY, ['e1', 'e2'], 8);
  a.want(1, KEY, 16);
  take();
  a.want(1, KEY, 4);
  // Worker 1 alone asks for more than there is: all of it is its share.
  assert.deepEqual(take('share'), [{ w: 1, t: 'share', key: KEY, n: 16 }]);
  a.want(2, KEY, 12);
  assert.deepEqual(take('share'), [], 'within REBALANCE_MS of the last split');
  advance(REBALANCE_MS);
  assert.deepEqual(take('share'), [
    { w: 1, t: 'share', key: KEY, n: 8 },
    { w: 2, t: 'share', key: KEY, n: 8 },
  ]);
  // Worker 1 over its share gives slots back as requests end: they go to worker 2 (below its share).
  a.returned(1, KEY, 'e1', 1);
  assert.deepEqual(
    take('grant').map((g) => g.w),
    [2],
  );
  assert.equal(a.share(KEY, 2), 8);
});

test('with shares in force the episode outlives a short pause in waiting; without, it ends at once', () => {
  const { a, advance, take, demands } = clocked();
  a.setBackend(KEY, ['e1', 'e2'], 8);
  a.want(1, KEY, 8);
  a.want(2, KEY, 8);
  a.want(1, KEY, 2);
  a.want(2, KEY, 2);
  a.reclaimed(1, KEY);
  a.reclaimed(2, KEY);
  assert.equal(demands.length, 1);
  advance(REBALANCE_MS);
  take();
  a.cancel(1, KEY, 2);
  a.cancel(2, KEY, 2);
  assert.deepEqual(take('settle'), [], 'nobody waits, but only for a moment so far');
  advance(SETTLE_MS / 2);
  // Waiting again inside the episode: demand at once (idle slots are going back already), no new reclaim.
  a.want(2, KEY, 1);
  assert.equal(demands.length, 2);
  assert.deepEqual(take('reclaim'), []);
  a.cancel(2, KEY, 1);
  advance(SETTLE_MS - 1);
  assert.deepEqual(take('settle'), []);
  advance(1);
  assert.deepEqual(
    take('settle').map((m) => m.w),
    [1, 2],
  );
  assert.equal(a.share(KEY, 1), 0);
});

interface Outcome {
  sim: SlotSim;
  steps: number;
}

/** Random arrivals at random workers over the first 300 ms, random service times; runs to the end. */
function randomRun(seed: number): Outcome {
  const random = prng(seed);
  const pick = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
  const sim = new SlotSim({
    workers: pick(2, 3),
    endpoints: pick(1, 3),
    cc: pick(1, 5),
    maxQueued: random() < 0.3 ? pick(1, 10) : 10_000,
    timeoutMs: random() < 0.3 ? pick(5, 200) : Number.POSITIVE_INFINITY,
    random,
  });
  const arrivals = pick(10, 150);
  for (let i = 0; i < arrivals; i++) {
    const at = random() * 300;
    const worker = pick(1, sim.workers.length);
    const service = 0.5 + random() * 20;
    sim.schedule(at, () => void sim.arrive(worker, service));
  }
  const eps = sim.workers[0].rev.endpoints.map((e) => e.id);
  let steps = 0;
  const check = () => {
    for (const ep of eps) assert.ok(sim.arbiter.leased(KEY, ep) <= sim.o.cc, `seed ${seed}: leases on ${ep} over cc`);
    assert.ok(sim.maxInFlight <= sim.o.cc, `seed ${seed}: ${sim.maxInFlight} in flight on one instance, cc ${sim.o.cc}`);
    assert.ok(sim.arbiter.held(KEY) <= sim.o.maxQueued, `seed ${seed}: the arbiter holds more than the bound`);
    if (sim.inTransit() === 0)
      assert.ok(sim.held() <= sim.arbiter.held(KEY), `seed ${seed}: ${sim.held()} held, the arbiter counts ${sim.arbiter.held(KEY)}`);
  };
  while (sim.step()) {
    check();
    if (++steps > 500_000) assert.fail(`seed ${seed}: no end after ${steps} steps (livelock)`);
  }
  return { sim, steps };
}

test('random interleavings: cc never exceeded, hold bound kept, every request served or answered', () => {
  for (let seed = 1; seed <= 300; seed++) {
    const { sim } = randomRun(seed);
    const left = sim.requests.filter((r) => r.state === 'held' || r.state === 'running');
    assert.deepEqual(left, [], `seed ${seed}: requests neither served nor answered`);
    if (!Number.isFinite(sim.o.timeoutMs))
      assert.ok(!sim.requests.some((r) => r.state === 'timedout'), `seed ${seed}: timed out without a timeout`);
    if (sim.o.maxQueued >= sim.requests.length)
      assert.ok(
        sim.requests.every((r) => r.state === 'served' || r.state === 'timedout'),
        `seed ${seed}: refused below the bound`,
      );
    assert.equal(sim.arbiter.held(KEY), 0, `seed ${seed}: the arbiter still counts held requests`);
  }
});

/** Clients that send their next request `thinkMs` after each answer, from `from` to `until`. */
function closedLoop(
  sim: SlotSim,
  worker: number,
  clients: number,
  from: number,
  until: number,
  serviceMs: () => number,
  thinkMs = 0.2,
): void {
  const next = (): void => {
    if (sim.now >= until) return;
    sim.arrive(worker, serviceMs(), () => sim.schedule(sim.now + thinkMs, next));
  };
  for (let c = 0; c < clients; c++) sim.schedule(from, next);
}

function runAll(sim: SlotSim): void {
  let steps = 0;
  while (sim.step()) if (++steps > 2_000_000) assert.fail('no end');
}

test('steady contention: slots stay with their workers instead of moving per request', () => {
  const random = prng(7);
  const sim = new SlotSim({ workers: 2, endpoints: 2, cc: 8, maxQueued: 1000, timeoutMs: 30_000, random });
  const service = () => 0.5 + random();
  closedLoop(sim, 1, 16, 0, 2000, service);
  closedLoop(sim, 2, 16, 0, 2000, service);
  runAll(sim);
  const served = sim.requests.filter((r) => r.state === 'served').length;
  assert.equal(served, sim.requests.length);
  assert.ok(sim.maxInFlight <= 8);
  const moves = (sim.messages.get('grant') ?? 0) + (sim.messages.get('return') ?? 0);
  assert.ok(moves / served < 0.01, `${moves} grants + returns for ${served} requests`);
  // Each worker got about half of the slots' time.
  const per = [1, 2].map((w) => sim.requests.filter((r) => r.worker === w).length);
  assert.ok(Math.min(...per) / Math.max(...per) > 0.8, `requests per worker: ${per.join(' / ')}`);
});

test('a worker that starts waiting while another keeps every slot busy is served within a bounded wait', () => {
  const random = prng(11);
  const sim = new SlotSim({ workers: 2, endpoints: 2, cc: 4, maxQueued: 1000, timeoutMs: 30_000, random });
  const serviceMax = 5;
  const service = () => 1 + random() * (serviceMax - 1);
  closedLoop(sim, 1, 40, 0, 1500, service);
  const late: SimRequest[] = [];
  sim.schedule(500, () => {
    for (let i = 0; i < 3; i++) late.push(sim.arrive(2, service()));
  });
  closedLoop(sim, 2, 3, 700, 1500, service);
  runAll(sim);
  const bound = REBALANCE_MS + serviceMax;
  for (const r of late) assert.ok(r.started - r.arrived <= bound, `waited ${(r.started - r.arrived).toFixed(1)} ms, bound ${bound} ms`);
  const w2 = sim.requests.filter((r) => r.worker === 2);
  const worst = Math.max(...w2.map((r) => r.started - r.arrived));
  assert.ok(worst <= bound, `worker 2's longest wait ${worst.toFixed(1)} ms while worker 1 has 40 clients on 8 slots`);
  assert.ok(sim.maxInFlight <= 4);
});

/** One worker's side alone: a RevisionState with WorkerSlots as its hooks, timers run by hand. */
function oneWorker(endpoints = ['e1', 'e2']) {
  const sent: FromWorker[] = [];
  const timers: (() => void)[] = [];
  const deferred: (() => void)[] = [];
  const slots = new WorkerSlots({ defer: (fn) => deferred.push(fn), later: (fn) => void timers.push(fn) });
  const rev = new RevisionState<QueueNode>(KEY, 0, slots);
  rev.containerConcurrency = 8;
  rev.setEndpoints(endpoints.map((id, i) => ({ id, host: '127.0.0.1', port: 1000 + i })));
  slots.attach({ send: (m) => sent.push(m), revision: () => rev, pump: () => {}, refuseNewest: () => {} });
  const turn = () => {
    for (const fn of deferred.splice(0)) fn();
  };
  const fire = () => {
    for (const fn of timers.splice(0)) fn();
    turn();
  };
  const take = () =>
    sent.splice(0).map((m) => (m.t === 'return' ? `return ${m.ep} ${m.n}` : m.t === 'want' || m.t === 'cancel' ? `${m.t} ${m.n}` : m.t));
  const node = (): QueueNode => ({ qPrev: null, qNext: null, queued: false });
  return { slots, rev, turn, fire, take, node };
}

test('a worker within its share keeps a freed slot for its own queue; over it, the slot goes back', () => {
  const { slots, rev, turn, fire, take, node } = oneWorker(['e1']);
  const held = [node(), node(), node()];
  for (const h of held) rev.enqueue(h);
  turn();
  assert.deepEqual(take(), ['want 3']);
  slots.reclaim(KEY);
  slots.share(KEY, 2);
  slots.grant(KEY, 'e1', 1);
  slots.grant(KEY, 'e1', 1);
  assert.deepEqual(take(), ['reclaimed']);
  // The gateway forwards two held requests on the two slots.
  const a = rev.acquire()!;
  rev.shift();
  rev.acquire();
  rev.shift();
  turn();
  assert.deepEqual(take(), [], 'wants answered by grants: nothing to tell');
  // Within the share: the freed slot stays for the request still held.
  rev.release(a);
  assert.deepEqual(take(), []);
  assert.equal(rev.hasCapacity(), true);
  rev.acquire();
  rev.shift();
  turn();
  assert.deepEqual(take(), [], 'a fall in held requests waits for the cancel timer');
  fire();
  assert.deepEqual(take(), ['cancel 1'], 'the third held request was served from its own slots');
  // The share shrinks to 1: the next slot that frees goes back; the last one stays, then idles out.
  slots.share(KEY, 1);
  rev.release(a);
  assert.deepEqual(take(), ['return e1 1']);
  rev.release(a);
  assert.deepEqual(take(), [], 'an idle slot within the share lingers a moment');
  fire();
  assert.deepEqual(take(), ['return e1 1'], 'still idle with nothing held: back to the arbiter');
});

test('outside an episode a worker keeps its slots and tells every change in held requests at once', () => {
  const { slots, rev, turn, take, node } = oneWorker(['e1']);
  rev.enqueue(node());
  turn();
  slots.grant(KEY, 'e1', 1);
  const ep = rev.acquire()!;
  rev.shift();
  turn();
  assert.deepEqual(take(), ['want 1']);
  rev.release(ep);
  assert.deepEqual(take(), []);
  assert.equal(rev.hasCapacity(), true, 'the slot stayed after its request');
  const h = node();
  rev.enqueue(h);
  turn();
  rev.unlink(h);
  turn();
  assert.deepEqual(take(), ['want 1', 'cancel 1']);
});
