// The main process' sum of gateway workers' counters (src/dataplane/workers/aggregate.ts): a
// StatsReader over it sees the sum of both workers, the concurrency integral follows each worker's
// last level between reports, and a worker that dies never makes a counter go back.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LoadAggregate } from '../../src/dataplane/workers/aggregate.js';
import { toSparse, type RevisionSnapshot } from '../../src/dataplane/workers/protocol.js';
import { RevisionStats, StatsReader } from '../../src/dataplane/stats.js';

const KEY = 'ns/r';

/** A worker's report of a revision after `requests` 200s that each took `seconds`, at level `level`. */
function snap(requests: number, seconds: number, area: number, level: number): RevisionSnapshot {
  const s = new RevisionStats(0);
  for (let i = 0; i < requests; i++) s.observe(200, seconds);
  return {
    key: KEY,
    arrivals: requests + level,
    completed: requests,
    errors: 0,
    codes: toSparse(s.codes),
    latency: toSparse(s.latency),
    latencySum: toSparse(s.latencySum),
    waitCounts: toSparse(s.waitCounts),
    waitSum: 0,
    area,
    level,
    queued: 0,
    inFlight: level,
    oldestWait: 0,
    endpoints: [{ id: 'e1', inFlight: level, idleMs: level > 0 ? 0 : 5 }],
  };
}

function setup() {
  let now = 1000;
  const agg = new LoadAggregate(
    () => now,
    () => true,
  );
  agg.ensure(KEY);
  const reader = new StatsReader({ now: () => now, revision: (k) => agg.stats(k) });
  return { agg, reader, at: (t: number) => (now = t) };
}

test('the reader sees the sum of two workers', () => {
  const { agg, reader, at } = setup();
  reader.read(KEY);
  at(2000);
  agg.report(1, 1, { revisions: [snap(10, 0.01, 0, 2)], gone: [], requests: 12 });
  agg.report(2, 2, { revisions: [snap(5, 0.01, 0, 1)], gone: [], requests: 6 });
  at(3000);
  const w = reader.read(KEY);
  assert.equal(w.requests, 18);
  assert.equal(w.completed, 15);
  assert.equal(w.inFlight, 3);
  // Levels 2 and 1 held for the second since the reports: an average of 1.5 over the two seconds.
  assert.equal(w.averageConcurrency, 1.5);
  assert.deepEqual(
    [...agg.arrivalsPerSlot()],
    [
      [1, 12],
      [2, 6],
    ],
  );
  assert.equal(agg.endpoints(KEY).get('e1')?.inFlight, 3);
});

test('a worker that dies keeps its counts in the sums', () => {
  const { agg, reader, at } = setup();
  at(2000);
  agg.report(1, 1, { revisions: [snap(10, 0.01, 0, 0)], gone: [], requests: 10 });
  agg.report(2, 2, { revisions: [snap(4, 0.01, 0, 0)], gone: [], requests: 4 });
  assert.equal(reader.read(KEY).completed, 14);
  agg.workerGone(1, 1);
  // Its replacement in slot 1 starts from zero.
  agg.report(3, 1, { revisions: [snap(1, 0.01, 0, 0)], gone: [], requests: 1 });
  at(2500);
  assert.equal(reader.read(KEY).completed, 1);
  assert.equal(agg.stats(KEY)?.stats.completed, 15);
  assert.equal(agg.arrivalsPerSlot().get(1), 11);
});

test('idle reports read as zeros; the first traffic after them counts from zero', () => {
  const { agg, reader, at } = setup();
  at(2000);
  // Both workers know the revision and have seen nothing (most revisions at scale).
  agg.report(1, 1, { revisions: [{ ...snap(0, 0, 0, 0), endpoints: [] }], gone: [], requests: 0 });
  agg.report(2, 2, { revisions: [{ ...snap(0, 0, 0, 0), endpoints: [] }], gone: [], requests: 0 });
  const idle = reader.read(KEY);
  assert.equal(idle.completed, 0);
  assert.equal(idle.latency.count, 0);
  assert.equal(agg.stats(KEY)?.stats.classCount(2), 0);
  assert.equal(agg.stats(KEY)?.inFlight, 0);
  // Worker 1 dies idle; worker 2 then serves 3 requests.
  agg.workerGone(1, 1);
  at(3000);
  agg.report(2, 2, { revisions: [snap(3, 0.02, 500, 0)], gone: [], requests: 3 });
  const w = reader.read(KEY);
  assert.equal(w.completed, 3);
  assert.equal(w.latency.count, 3);
  assert.equal(agg.stats(KEY)?.stats.classCount(2), 3);
  assert.equal(agg.endpoints(KEY).get('e1')?.inFlight, 0);
});
