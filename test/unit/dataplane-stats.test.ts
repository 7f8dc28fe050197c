// Per-revision gateway stats read through independent cursors: no reader disturbs another.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LATENCY_BOUNDS_SECONDS, RevisionStats, StatsReader, histogramQuantile } from '../../src/dataplane/stats.js';

function setup() {
  let now = 0;
  let stats = new RevisionStats(0);
  const source = { now: () => now, revision: (key: string) => (key === 'ns/r' ? { stats, queued: 2, inFlight: 1 } : undefined) };
  return {
    source,
    stats: () => stats,
    replace: () => (stats = new RevisionStats(now)),
    at: (t: number) => (now = t),
  };
}

/** One request from arrival at `start` to its end at `end` (ms) with this status. */
function request(s: RevisionStats, start: number, end: number, status: number): void {
  s.arrivals++;
  s.meter.change(1, start);
  s.meter.change(-1, end);
  s.observe(status, (end - start) / 1000);
}

test('two readers see their own windows of the same revision', () => {
  const env = setup();
  const autoscaler = new StatsReader(env.source);
  const canary = new StatsReader(env.source);
  const s = env.stats();
  request(s, 0, 500, 200);
  env.at(1000);
  const a1 = autoscaler.read('ns/r');
  assert.equal(a1.requests, 1);
  assert.equal(a1.intervalMs, 1000);
  assert.equal(a1.averageConcurrency, 0.5);
  request(s, 1000, 1100, 503);
  env.at(2000);
  const a2 = autoscaler.read('ns/r');
  assert.equal(a2.requests, 1, 'only the second second');
  assert.equal(a2.errors, 1);
  // The canary analyser reads once over both seconds: the autoscaler's reads took nothing away.
  const c = canary.read('ns/r');
  assert.equal(c.intervalMs, 2000);
  assert.equal(c.requests, 2);
  assert.equal(c.completed, 2);
  assert.equal(c.errors, 1);
  assert.equal(c.latency.count, 2);
  assert.ok(Math.abs(c.latency.sum - 0.6) < 1e-9);
  assert.equal(c.averageConcurrency, 0.3);
  assert.equal(c.queued, 2);
  assert.equal(c.inFlight, 1);
});

test('peek leaves the cursor; a re-created revision state counts from its own start; unknown is empty', () => {
  const env = setup();
  const r = new StatsReader(env.source);
  request(env.stats(), 0, 10, 200);
  env.at(100);
  assert.equal(r.peek('ns/r').requests, 1);
  assert.equal(r.read('ns/r').requests, 1);
  assert.equal(r.read('ns/r').requests, 0);
  env.at(200);
  const fresh = env.replace();
  request(fresh, 200, 210, 200);
  request(fresh, 200, 220, 200);
  env.at(300);
  const w = r.read('ns/r');
  assert.equal(w.requests, 2);
  assert.equal(w.intervalMs, 100);
  assert.deepEqual(
    { ...r.read('ns/other'), latency: undefined },
    {
      averageConcurrency: 0,
      requests: 0,
      queued: 0,
      inFlight: 0,
      intervalMs: 0,
      completed: 0,
      errors: 0,
      latency: undefined,
    },
  );
});

test('status codes and classes are counted; latency buckets follow Knative bounds', () => {
  const s = new RevisionStats(0);
  s.observe(200, 0.004);
  s.observe(204, 0.03);
  s.observe(503, 200);
  s.observe(0, 1);
  assert.equal(s.codes[200], 1);
  assert.equal(s.classCount(2), 2);
  assert.equal(s.classCount(5), 1);
  assert.equal(s.classCount(0), 1);
  assert.equal(s.errors, 1, 'a dropped connection is not a 5xx');
  const all = s.latencyCounts();
  assert.equal(all[0], 1, '4 ms is in the 5 ms bucket');
  assert.equal(all[LATENCY_BOUNDS_SECONDS.indexOf(0.04)], 1);
  assert.equal(all[LATENCY_BOUNDS_SECONDS.length], 1, '200 s is beyond the last bound');
});

test('histogram quantiles interpolate inside the bucket', () => {
  const bounds = [1, 2, 4];
  assert.ok(Number.isNaN(histogramQuantile(0.5, bounds, [0, 0, 0, 0])));
  assert.equal(histogramQuantile(0.5, bounds, [0, 10, 0, 0]), 1.5);
  assert.equal(histogramQuantile(0.99, bounds, [0, 0, 10, 0]), 2 + 2 * 0.99);
  assert.equal(histogramQuantile(0.5, bounds, [5, 5, 0, 0]), 1);
  assert.equal(histogramQuantile(1, bounds, [0, 0, 0, 3]), 4, 'the +Inf bucket reports the last bound');
});

test('a revision without responses reads zeros everywhere, then counts its first response', () => {
  const env = setup();
  const reader = new StatsReader(env.source);
  const s = env.stats();
  env.at(1000);
  const w = reader.read('ns/r');
  assert.equal(w.completed, 0);
  assert.deepEqual([...w.latency.counts], new Array(LATENCY_BOUNDS_SECONDS.length + 1).fill(0));
  assert.equal(s.classCount(2), 0);
  assert.equal(s.latencyTotal(), 0);
  assert.equal(
    Array.prototype.some.call(s.codes, (n: number) => n !== 0),
    false,
  );
  request(s, 1000, 1004, 200);
  env.at(2000);
  const w2 = reader.read('ns/r');
  assert.equal(w2.completed, 1);
  assert.equal(w2.latency.counts[0], 1);
  assert.equal(s.codes[200], 1);
  // Another revision's zeros did not change with it.
  assert.equal(new RevisionStats(0).codes[200], 0);
});
