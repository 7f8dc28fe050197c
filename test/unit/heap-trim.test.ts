// When `sluice server` runs a memory-reducing collection: only after a quiet spell, with much free
// space in the heap, and not again soon (src/heap.ts trimDecision; the clock is the sample's).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DEFAULT_TRIM_POLICY,
  initialTrimState,
  startHeapTrimmer,
  trimDecision,
  WORKER_TRIM_POLICY,
  type HeapSample,
  type TrimState,
} from '../../src/heap.js';

const MiB = 2 ** 20;
const p = DEFAULT_TRIM_POLICY;
const sample = (at: number, committedMiB: number, usedMiB: number, utilization: number): HeapSample => ({
  at,
  committedBytes: committedMiB * MiB,
  usedBytes: usedMiB * MiB,
  utilization,
});

/** Runs samples through trimDecision; returns the times at which it collected. */
function run(samples: HeapSample[], state: TrimState = initialTrimState(), policy = p): number[] {
  const at: number[] = [];
  for (const s of samples) {
    const d = trimDecision(state, s, policy);
    state = d.state;
    if (d.trim) at.push(s.at);
  }
  return at;
}

test('collects after three quiet samples in a row with a large free share, then not again within the gap', () => {
  const quiet = [1, 2, 3, 4, 5].map((i) => sample(i * 5_000, 600, 380, 0.01));
  assert.deepEqual(run(quiet), [15_000]);
  // Still quiet and still fragmented minutes later: once the gap has passed, once more.
  const later = [...quiet, ...[61, 62, 63, 64].map((i) => sample(i * 5_000, 600, 380, 0.01))];
  assert.deepEqual(run(later), [15_000, 315_000]);
});

test('a busy sample restarts the quiet spell', () => {
  const u = [0.01, 0.01, 0.5, 0.01, 0.01, 0.01];
  assert.deepEqual(run(u.map((x, i) => sample((i + 1) * 5_000, 600, 380, x))), [30_000]);
});

test('table: no collection without enough free space, in bytes and in share', () => {
  const cases: { committed: number; used: number; trims: boolean }[] = [
    { committed: 600, used: 380, trims: true }, // 220 MiB free, 37 %
    { committed: 200, used: 120, trims: false }, // 80 MiB free: under 96 MiB
    { committed: 1000, used: 800, trims: false }, // 200 MiB free but 20 %
    { committed: 320, used: 224, trims: true }, // 96 MiB, 30 %: both limits exactly
  ];
  for (const c of cases) {
    const got = run([1, 2, 3].map((i) => sample(i * 5_000, c.committed, c.used, 0))).length > 0;
    assert.equal(got, c.trims, `${c.committed} MiB committed, ${c.used} used`);
  }
});

test('table: a gateway worker trims smaller heaps, and only when nearly idle', () => {
  const cases: { committed: number; used: number; utilization: number; trims: boolean }[] = [
    { committed: 95, used: 40, utilization: 0.005, trims: true }, // 55 MiB free, 58 %
    { committed: 95, used: 40, utilization: 0.03, trims: false }, // more than a worker's 2 %
    { committed: 60, used: 46, utilization: 0, trims: false }, // 14 MiB free: under 16 MiB
  ];
  for (const c of cases) {
    const got = run(
      [1, 2, 3].map((i) => sample(i * 5_000, c.committed, c.used, c.utilization)),
      initialTrimState(),
      WORKER_TRIM_POLICY,
    );
    assert.equal(got.length > 0, c.trims, `${c.committed} MiB committed, ${c.used} used, ${c.utilization * 100} % busy`);
  }
});

test('the trimmer runs real collections and says what they gave back', async () => {
  const lines: string[] = [];
  const stop = startHeapTrimmer((m) => lines.push(m), 20, {
    ...p,
    minFreeBytes: 0,
    minFreeShare: 0,
    maxUtilization: 1.01,
    quietSamples: 1,
  });
  try {
    const deadline = Date.now() + 10_000;
    while (lines.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  } finally {
    stop();
  }
  assert.equal(lines.length, 1, 'one collection (the next one is at least minGapMs away)');
  assert.match(
    lines[0],
    /^heap: after a quiet spell, full collections gave back -?\d+ MiB of heap \(\d+ MiB committed now\), RSS \d+ -> \d+ MiB; the first took \d+ ms$/,
  );
});
