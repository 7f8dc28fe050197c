import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  averageCpuUtilization,
  averageMemoryMiB,
  cpuRequestCores,
  cpuUtilizationPercent,
  decideHpa,
  newHpaState,
  parseCpuQuantity,
  type HpaSpec,
  type HpaState,
} from '../../src/autoscaler/hpa.js';

const T0 = 1_700_000_000_000;
const sec = (n: number) => T0 + n * 1000;
const spec = (over: Partial<HpaSpec> = {}): HpaSpec => ({
  target: 50,
  minScale: 1,
  maxScale: 0,
  hpa: { scaleDownStabilizationMs: 300_000, scaleUpStabilizationMs: 0, tolerance: 0.1 },
  ...over,
});

test('desired = ceil(current x metric / target), with 10% tolerance (table)', () => {
  const rows: Array<[string, number, number, number]> = [
    // name, current, metric (target 50), want
    ['on target', 4, 50, 4],
    ['within +10%', 4, 54, 4],
    ['at +10% (float: 55/50 - 1 > 0.1, as in Kubernetes)', 4, 55, 5],
    ['within -10%', 4, 45, 4],
    ['just over +10%', 4, 55.5, 5], // ceil(4 x 1.11) = 5
    ['double', 4, 100, 8],
    ['quarter (no history yet: immediate, as in Kubernetes)', 4, 12.5, 1],
  ];
  for (const [name, current, metric, want] of rows) {
    assert.equal(decideHpa(newHpaState(), { spec: spec(), current, metric }, T0).desired, want, name);
  }
});

test('scale down uses the highest recommendation of the stabilization window', () => {
  let st: HpaState = newHpaState();
  let cur = 4;
  const step = (t: number, metric: number) => {
    const d = decideHpa(st, { spec: spec(), current: cur, metric }, t);
    st = d.state;
    cur = d.desired;
    return cur;
  };
  assert.equal(step(sec(0), 100), 8);
  // Load drops: proposals of 2, but the 8 recommended at 0 s is remembered for 300 s.
  assert.equal(step(sec(15), 12.5), 8);
  assert.equal(step(sec(299), 12.5), 8);
  assert.equal(step(sec(300), 12.5), 2);
});

test('taking over running instances seeds the history, so scale down waits', () => {
  const st = newHpaState(sec(0), 4);
  assert.equal(decideHpa(st, { spec: spec(), current: 4, metric: 12.5 }, sec(10)).desired, 4);
  assert.equal(decideHpa(st, { spec: spec(), current: 4, metric: 12.5 }, sec(300)).desired, 1);
});

test('a short stabilization window (window annotation) applies to both directions', () => {
  const s = spec({ hpa: { scaleDownStabilizationMs: 30_000, scaleUpStabilizationMs: 30_000, tolerance: 0.1 } });
  let st = newHpaState();
  let cur = 4;
  const step = (t: number, metric: number) => {
    const d = decideHpa(st, { spec: s, current: cur, metric }, t);
    st = d.state;
    cur = d.desired;
    return cur;
  };
  assert.equal(step(sec(0), 50), 4);
  // Scale up waits until no lower proposal is left in the up window.
  assert.equal(step(sec(10), 100), 4);
  assert.equal(step(sec(29), 100), 4);
  assert.equal(step(sec(31), 100), 8);
  // Scale down waits 30 s instead of 300 s.
  assert.equal(step(sec(45), 10), 8);
  assert.equal(step(sec(62), 10), 2);
});

test('scale up is limited to double or +4 per 15 s', () => {
  let st = newHpaState();
  let d = decideHpa(st, { spec: spec(), current: 2, metric: 1000 }, sec(0));
  assert.equal(d.desired, 6); // max(2 x 2, 2 + 4)
  st = d.state;
  d = decideHpa(st, { spec: spec(), current: 6, metric: 1000 }, sec(5));
  assert.equal(d.desired, 6); // same period: counted from 2
  st = d.state;
  d = decideHpa(st, { spec: spec(), current: 6, metric: 1000 }, sec(16));
  assert.equal(d.desired, 12);
  d = decideHpa(newHpaState(), { spec: spec(), current: 10, metric: 1000 }, sec(0));
  assert.equal(d.desired, 20);
});

test('bounds: never below 1, min and max honoured', () => {
  assert.equal(decideHpa(newHpaState(), { spec: spec({ minScale: 0 }), current: 0, metric: null }, T0).desired, 1);
  assert.equal(decideHpa(newHpaState(), { spec: spec({ minScale: 3 }), current: 1, metric: 1 }, T0).desired, 3);
  assert.equal(decideHpa(newHpaState(), { spec: spec({ maxScale: 5 }), current: 4, metric: 500 }, T0).desired, 5);
  assert.equal(decideHpa(newHpaState(), { spec: spec({ maxScale: 5 }), current: 9, metric: 50 }, T0).desired, 5);
  // Scale down never goes below 1 even at zero load after the window.
  let st = newHpaState();
  st = decideHpa(st, { spec: spec({ minScale: 0 }), current: 3, metric: 0 }, sec(0)).state;
  assert.equal(decideHpa(st, { spec: spec({ minScale: 0 }), current: 3, metric: 0 }, sec(301)).desired, 1);
});

test('missing metric keeps the current scale', () => {
  const d = decideHpa(newHpaState(), { spec: spec(), current: 3, metric: null }, T0);
  assert.equal(d.desired, 3);
  assert.match(d.details.reason, /metric unavailable/);
});

test('measured instances: the ratio applies to the instances that have metrics', () => {
  const d = decideHpa(newHpaState(), { spec: spec(), current: 4, measured: 2, metric: 100 }, T0);
  assert.equal(d.desired, 4); // ceil(2 x 2) = 4
});

test('cpu helpers', () => {
  assert.equal(parseCpuQuantity('500m'), 0.5);
  assert.equal(parseCpuQuantity('2'), 2);
  assert.equal(parseCpuQuantity('1.5'), 1.5);
  assert.equal(parseCpuQuantity('0'), undefined);
  assert.equal(parseCpuQuantity('lots'), undefined);
  assert.equal(cpuRequestCores({ resources: { requests: { cpu: '250m' } } }), 0.25);
  assert.equal(cpuRequestCores({ resources: { limits: { cpu: '2' } } }), 2);
  assert.equal(cpuRequestCores({}), 1);
  // 0.5 core-seconds over 1 s on a 0.5 core request = 100%
  assert.equal(cpuUtilizationPercent(10, 10.5, 1000, 0.5), 100);
  const prev = [
    { id: 'a', cpuSeconds: 1, rssBytes: 0 },
    { id: 'b', cpuSeconds: 2, rssBytes: 0 },
  ];
  const cur = [
    { id: 'a', cpuSeconds: 1.5, rssBytes: 100 * 1024 * 1024 },
    { id: 'b', cpuSeconds: 2.1, rssBytes: 50 * 1024 * 1024 },
    { id: 'c', cpuSeconds: 9, rssBytes: 0 }, // new: no rate yet
  ];
  const avg = averageCpuUtilization(prev, cur, 2000, 1)!;
  assert.equal(avg.measured, 2);
  assert.ok(Math.abs(avg.value - 15) < 1e-9); // (25% + 5%) / 2
  assert.equal(averageCpuUtilization([], cur, 2000, 1), null);
  const mem = averageMemoryMiB(cur.slice(0, 2))!;
  assert.equal(mem.value, 75);
});
