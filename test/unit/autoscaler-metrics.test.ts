import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MetricWindow, RevisionMetrics } from '../../src/autoscaler/metrics.js';

const T0 = 1_700_000_000_000; // whole second
const s = (n: number) => T0 + n * 1000;

test('average over a partially filled window uses only the seconds since the first write', () => {
  const w = new MetricWindow(60_000);
  w.record(s(0), 10);
  w.record(s(1), 20);
  w.record(s(2), 30);
  assert.equal(w.average(s(2)), 20);
});

test('full window: plain mean of all buckets', () => {
  const w = new MetricWindow(6_000);
  for (let i = 0; i < 10; i++) w.record(s(i), i);
  // Last 6 seconds: 4..9
  assert.equal(w.average(s(9)), (4 + 5 + 6 + 7 + 8 + 9) / 6);
});

test('gaps between writes count as zero', () => {
  const w = new MetricWindow(60_000);
  w.record(s(0), 30);
  w.record(s(2), 30); // second 1 had nothing
  assert.equal(w.average(s(2)), 20);
});

test('zeros recorded before the first traffic count in the average, as any other seconds', () => {
  for (const [name, algorithm, at, want] of [
    ['linear, 30 s of zeros then 6', 'linear', 30, 6 / 31],
    ['linear, zeros past the window then 6', 'linear', 70, 6 / 60],
    ['weighted, only zeros', 'weighted-exponential', -1, 0],
  ] as const) {
    const w = new MetricWindow(60_000, 1000, algorithm);
    for (let i = 0; i < (at < 0 ? 30 : at); i++) w.record(s(i), 0);
    if (at >= 0) w.record(s(at), 6);
    assert.equal(w.average(s(at < 0 ? 29 : at)), at < 0 ? want : Math.round(want * 1e6) / 1e6, name);
  }
});

test('several records in the same second add up', () => {
  const w = new MetricWindow(10_000);
  w.record(s(0) + 100, 1);
  w.record(s(0) + 900, 2);
  assert.equal(w.average(s(0) + 999), 3);
});

test('when writes stop, the missing tail is left out until the window is over', () => {
  const w = new MetricWindow(6_000);
  for (let i = 0; i < 6; i++) w.record(s(i), 12);
  assert.equal(w.average(s(5)), 12);
  // 2 seconds later, buckets 0 and 1 slid out; 2..5 remain, the silent seconds are not counted.
  assert.equal(w.average(s(7)), 12);
  assert.equal(w.isEmpty(s(7)), false);
  // A full window after the last write: nothing left.
  assert.equal(w.average(s(11)), 0);
  assert.equal(w.isEmpty(s(12)), true);
});

test('a write after a full silent window starts over', () => {
  const w = new MetricWindow(6_000);
  w.record(s(0), 100);
  w.record(s(20), 6);
  assert.equal(w.average(s(20)), 6);
});

test('values older than the window are ignored', () => {
  const w = new MetricWindow(6_000);
  w.record(s(10), 6);
  w.record(s(2), 1000);
  assert.equal(w.average(s(10)), 6);
});

test('weighted-exponential favours recent seconds', () => {
  const lin = new MetricWindow(10_000, 1000, 'linear');
  const exp = new MetricWindow(10_000, 1000, 'weighted-exponential');
  for (let i = 0; i < 10; i++) {
    const v = i < 5 ? 0 : 10;
    lin.record(s(i), v);
    exp.record(s(i), v);
  }
  assert.equal(lin.average(s(9)), 5);
  assert.ok(exp.average(s(9)) > 5);
  // A constant series averages (almost) to itself.
  const c = new MetricWindow(10_000, 1000, 'weighted-exponential');
  for (let i = 0; i < 10; i++) c.record(s(i), 4);
  assert.ok(Math.abs(c.average(s(9)) - 4) < 0.01);
});

test('RevisionMetrics: concurrency and rps, stable and panic', () => {
  const m = new RevisionMetrics({ stableWindowMs: 60_000, panicWindowMs: 6_000 });
  assert.equal(m.observed('concurrency', s(0)), null);
  for (let i = 0; i < 60; i++) {
    const burst = i >= 54;
    m.record(s(i), { averageConcurrency: burst ? 100 : 10, requests: burst ? 400 : 40, queued: 0, inFlight: 0, intervalMs: 1000 });
  }
  const c = m.observed('concurrency', s(59))!;
  assert.equal(c.panic, 100);
  assert.equal(c.stable, (54 * 10 + 6 * 100) / 60);
  const r = m.observed('rps', s(59))!;
  assert.equal(r.panic, 400);
  // rps is normalised by the interval
  const h = new RevisionMetrics({ stableWindowMs: 60_000, panicWindowMs: 6_000 });
  h.record(s(0), { averageConcurrency: 0, requests: 10, queued: 0, inFlight: 0, intervalMs: 500 });
  assert.equal(h.observed('rps', s(0))!.stable, 20);
  // samples of the last stable window are kept for plugins
  assert.equal(m.recentSamples().length, 60);
  m.record(s(130), { averageConcurrency: 1, requests: 1, queued: 3, inFlight: 1, intervalMs: 1000 });
  assert.equal(m.recentSamples().length, 1);
  assert.equal(m.latest()!.queued, 3);
});
