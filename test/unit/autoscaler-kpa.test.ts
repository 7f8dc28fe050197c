import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultAutoscalerConfig } from '../../src/autoscaler/config.js';
import { resolveScalingSpec, type ScalingSpec } from '../../src/autoscaler/annotations.js';
import { decideKpa, decideKpaOnDemand, newKpaState, type KpaState } from '../../src/autoscaler/kpa.js';
import { RevisionMetrics } from '../../src/autoscaler/metrics.js';

const A = 'autoscaling.knative.dev/';
const T0 = 1_700_000_000_000;
const sec = (n: number) => T0 + n * 1000;
const cfg = defaultAutoscalerConfig();
const spec = (anns: Record<string, string> = {}, cc = 0, config = cfg): ScalingSpec => resolveScalingSpec(anns, cc, config);
// Per-instance target 10 (target 100 x 10% utilization) keeps the numbers readable.
const S10 = spec({ [A + 'target']: '100', [A + 'target-utilization-percentage']: '10' });

/** An autoscaler that has been active for a long time with `ready` instances. */
function settled(ready: number): KpaState {
  return { ...newKpaState(T0 - 3_600_000, ready), panicTime: null, maxPanicPods: 0 };
}

test('steady state and step limits (table)', () => {
  const rows: Array<{ name: string; s: ScalingSpec; stable: number; panic: number; ready: number; want: number; mode?: string }> = [
    { name: 'on target', s: S10, stable: 50, panic: 50, ready: 5, want: 5 },
    { name: 'ceil', s: S10, stable: 51, panic: 51, ready: 5, want: 6 },
    { name: 'default target 70', s: spec(), stable: 350, panic: 350, ready: 5, want: 5 },
    { name: 'containerConcurrency 10 -> target 7', s: spec({}, 10), stable: 70, panic: 70, ready: 10, want: 10 },
    { name: 'scale down limited by max-scale-down-rate 2', s: S10, stable: 0, panic: 0, ready: 8, want: 4 },
    { name: 'scale down within rate', s: S10, stable: 30, panic: 30, ready: 5, want: 3 },
    {
      name: 'scale up limited by max-scale-up-rate',
      s: spec({ [A + 'target']: '100', [A + 'target-utilization-percentage']: '10' }, 0, { ...cfg, maxScaleUpRate: 2 }),
      stable: 1000,
      panic: 1000,
      ready: 3,
      want: 6,
      mode: 'panic',
    },
    { name: 'zero ready counts as one', s: S10, stable: 25, panic: 25, ready: 0, want: 3, mode: 'panic' },
    { name: 'max-scale clamps', s: { ...S10, maxScale: 4 }, stable: 100, panic: 100, ready: 4, want: 4, mode: 'panic' },
    { name: 'min-scale clamps', s: { ...S10, minScale: 3 }, stable: 0, panic: 0, ready: 3, want: 3 },
    { name: 'stable above panic is honoured in stable mode', s: S10, stable: 60, panic: 20, ready: 5, want: 6 },
    { name: 'exactly 200% enters panic', s: S10, stable: 20, panic: 40, ready: 2, want: 4, mode: 'panic' },
    { name: 'under 200% does not (ceil(39/10)=4 would)', s: S10, stable: 20, panic: 30, ready: 2, want: 2 },
  ];
  for (const r of rows) {
    const d = decideKpa(
      settled(r.ready),
      { spec: r.s, observed: { stable: r.stable, panic: r.panic }, ready: r.ready, current: r.ready },
      T0,
    );
    assert.equal(d.desired, r.want, r.name);
    assert.equal(d.mode, r.mode ?? 'stable', r.name);
  }
});

test('rps metric scales on requests per second', () => {
  const s = spec({ [A + 'metric']: 'rps' }); // target 200 x 0.7 = 140 rps per instance
  const d = decideKpa(settled(2), { spec: s, observed: { stable: 700, panic: 700 }, ready: 2, current: 2 }, T0);
  assert.equal(d.desired, 5);
  // and through the metric windows
  const m = new RevisionMetrics({ stableWindowMs: s.stableWindowMs, panicWindowMs: s.panicWindowMs });
  for (let i = 0; i < 60; i++) m.record(sec(i), { averageConcurrency: 1, requests: 420, queued: 0, inFlight: 1, intervalMs: 1000 });
  const d2 = decideKpa(settled(3), { spec: s, observed: m.observed('rps', sec(59)), ready: 3, current: 3 }, sec(59));
  assert.equal(d2.desired, 3);
});

test('panic: entry at 200%, no scale down while panicking, exit after a stable window', () => {
  let st = settled(2);
  let cur = 2;
  const tick = (t: number, stable: number, panic: number) => {
    const d = decideKpa(st, { spec: S10, observed: { stable, panic }, ready: cur, current: cur }, t);
    st = d.state;
    cur = d.desired;
    return d;
  };
  let d = tick(sec(0), 20, 30); // panic wants 3 of 2 ready = 150%: stable
  assert.equal(d.mode, 'stable');
  assert.equal(d.desired, 2);
  d = tick(sec(2), 20, 80); // 8/2 = 400%: panic, scale to the panic count
  assert.equal(d.mode, 'panic');
  assert.equal(d.desired, 8);
  d = tick(sec(4), 20, 20); // load gone from the panic window: hold 8, no scale down
  assert.equal(d.mode, 'panic');
  assert.equal(d.desired, 8);
  d = tick(sec(30), 30, 100); // over the threshold again? 10/8 = 125%: no, but higher -> grows
  assert.equal(d.desired, 10);
  assert.equal(d.mode, 'panic');
  d = tick(sec(60), 10, 10); // 60 s after the last threshold crossing (sec 2): not yet (strictly after)
  assert.equal(d.desired, 10);
  assert.equal(d.mode, 'panic');
  d = tick(sec(64), 10, 10); // stable window passed since sec 2: leave panic, stable decides (within down-rate)
  assert.equal(d.mode, 'stable');
  assert.equal(d.desired, 5); // floor(10 / 2)
});

test('panic is extended while the threshold keeps being crossed', () => {
  let st = settled(1);
  let cur = 1;
  for (let i = 0; i <= 100; i += 2) {
    const d = decideKpa(st, { spec: S10, observed: { stable: 5, panic: i < 50 ? 20 * cur : 5 }, ready: cur, current: cur }, sec(i));
    st = d.state;
    cur = Math.min(d.desired, 64);
  }
  // Last crossing at sec 48; 60 s later (sec 108) it may end — at sec 100 still panicking.
  assert.equal(st.panicTime, sec(48));
});

test('restarted autoscaler starts in panic with the current scale', () => {
  const st = newKpaState(T0, 6);
  const d = decideKpa(st, { spec: S10, observed: { stable: 0, panic: 0 }, ready: 6, current: 6 }, T0 + 2000);
  assert.equal(d.mode, 'panic');
  assert.equal(d.desired, 6);
});

test('scale-down-delay keeps the highest recommendation of the delay window', () => {
  const s = { ...S10, scaleDownDelayMs: 20_000 };
  let st = settled(5);
  let cur = 5;
  const log: number[] = [];
  for (let i = 0; i <= 40; i += 2) {
    const load = i === 0 ? 50 : 30;
    const d = decideKpa(st, { spec: s, observed: { stable: load, panic: load }, ready: cur, current: cur }, sec(i));
    st = d.state;
    cur = d.desired;
    log.push(cur);
  }
  // 5 is remembered for 20 s (10 ticks), then 3.
  assert.deepEqual(log.slice(0, 10), Array(10).fill(5));
  assert.equal(log[10], 3);
  // Scale up is immediate.
  const up = decideKpa(st, { spec: s, observed: { stable: 90, panic: 90 }, ready: 3, current: 3 }, sec(42));
  assert.equal(up.desired, 9);
});

test('activation-scale raises any non-zero decision', () => {
  const s = { ...S10, activationScale: 3 };
  assert.equal(decideKpa(settled(1), { spec: s, observed: { stable: 1, panic: 1 }, ready: 1, current: 1 }, T0).desired, 3);
  assert.equal(decideKpa(settled(1), { spec: s, observed: { stable: 60, panic: 60 }, ready: 5, current: 5 }, T0).desired, 6);
});

/** Drives decideKpa like the control plane: a sample every second, a decision every 2 s. */
function simulate(s: ScalingSpec, load: (i: number) => number, seconds: number, opts: { proxySince?: number; startReady?: number } = {}) {
  const m = new RevisionMetrics({ stableWindowMs: s.stableWindowMs, panicWindowMs: s.panicWindowMs });
  let st = newKpaState(sec(0), opts.startReady ?? 1);
  let cur = opts.startReady ?? 1;
  const log: Array<{ i: number; desired: number; status: string }> = [];
  for (let i = 0; i <= seconds; i++) {
    if (cur > 0 || load(i) > 0) {
      m.record(sec(i), { averageConcurrency: load(i), requests: load(i), queued: 0, inFlight: load(i), intervalMs: 1000 });
    }
    if (i % 2 === 0) {
      const observed = m.observed('concurrency', sec(i)) ?? (cur > 0 ? { stable: 0, panic: 0 } : null);
      const d = decideKpa(st, { spec: s, observed, ready: cur, current: cur, proxySince: opts.proxySince }, sec(i));
      st = d.state;
      cur = d.desired;
      log.push({ i, desired: cur, status: st.status });
    }
  }
  return log;
}

const firstZero = (log: Array<{ i: number; desired: number }>) => log.find((e) => e.desired === 0)?.i;

test('scale to zero: a stable window without traffic, then the grace period', () => {
  const log = simulate(S10, (i) => (i < 10 ? 5 : 0), 200);
  // Last traffic in second 9; the stable average reaches 0 at second 69 -> inactive at the
  // 70 s tick; 30 s grace -> zero at 100 s. Until then one instance stays.
  assert.equal(firstZero(log), 100);
  assert.equal(log.find((e) => e.i === 70)!.status, 'inactive');
  assert.ok(log.filter((e) => e.i < 100).every((e) => e.desired === 1));
  assert.ok(log.filter((e) => e.i >= 100).every((e) => e.desired === 0));
});

test('scale to zero: gateway already buffering skips the grace wait', () => {
  const log = simulate(S10, (i) => (i < 10 ? 5 : 0), 200, { proxySince: sec(-100) });
  assert.equal(firstZero(log), 72);
});

test('scale to zero: pod retention period keeps the last instance longer', () => {
  const s = { ...S10, scaleToZeroPodRetentionPeriodMs: 90_000 };
  assert.equal(firstZero(simulate(s, (i) => (i < 10 ? 5 : 0), 300)), 160);
  assert.equal(firstZero(simulate(s, (i) => (i < 10 ? 5 : 0), 300, { proxySince: sec(-100) })), 160);
});

test('scale to zero: never when disabled or min-scale > 0', () => {
  assert.equal(firstZero(simulate({ ...S10, enableScaleToZero: false }, (i) => (i < 10 ? 5 : 0), 300)), undefined);
  assert.equal(firstZero(simulate({ ...S10, minScale: 1 }, (i) => (i < 10 ? 5 : 0), 300)), undefined);
});

test('scale to zero: a revision must have been active for a stable window first', () => {
  // Becomes active at 0 with no traffic at all: stays at 1 for the stable window, inactive at 60,
  // zero after the grace period.
  assert.equal(firstZero(simulate(S10, () => 0, 200)), 90);
});

test('traffic returning before zero cancels the scale down', () => {
  const log = simulate(S10, (i) => (i < 10 || i >= 80 ? 5 : 0), 200);
  assert.equal(firstZero(log), undefined);
  assert.equal(log.find((e) => e.i === 82)!.status, 'active');
});

test('initial scale: a new revision starts at initial-scale and keeps it until reached', () => {
  const s = spec({ [A + 'initial-scale']: '3' });
  let st = newKpaState(T0);
  // No metrics yet, nothing ready: activating -> hold initial scale
  let d = decideKpa(st, { spec: s, observed: null, ready: 0, current: 3 }, T0);
  assert.equal(d.desired, 3);
  assert.equal(d.state.status, 'activating');
  st = d.state;
  d = decideKpa(st, { spec: s, observed: { stable: 0, panic: 0 }, ready: 1, current: 3 }, T0 + 2000);
  assert.equal(d.desired, 3, 'initial scale not reached yet');
  st = d.state;
  d = decideKpa(st, { spec: s, observed: { stable: 0, panic: 0 }, ready: 3, current: 3 }, T0 + 4000);
  assert.equal(d.state.initialized, true);
  st = d.state;
  d = decideKpa(st, { spec: s, observed: { stable: 0, panic: 0 }, ready: 3, current: 3 }, T0 + 6000);
  assert.equal(d.desired, 1, 'after reaching initial scale the metric decides (down-rate: floor(3/2))');
});

test('no metrics on an active revision keeps the current scale', () => {
  const d = decideKpa(settled(4), { spec: S10, observed: null, ready: 4, current: 4 }, T0);
  assert.equal(d.desired, 4);
});

test('request at zero: immediate decision with activation scale', () => {
  const inactive: KpaState = { ...settled(0), status: 'inactive', statusSince: T0 - 600_000, recommendation: 0 };
  const base = { spec: S10, observed: null, ready: 0, current: 0 };
  assert.equal(decideKpaOnDemand(inactive, { ...base, demand: 1 }, T0).desired, 1);
  assert.equal(decideKpaOnDemand(inactive, { ...base, demand: 35 }, T0).desired, 4);
  assert.equal(decideKpaOnDemand(inactive, { ...base, spec: { ...S10, activationScale: 3 }, demand: 1 }, T0).desired, 3);
  assert.equal(decideKpaOnDemand(inactive, { ...base, spec: { ...S10, maxScale: 2 }, demand: 100 }, T0).desired, 2);
  // Not at zero: the regular tick decides.
  assert.equal(decideKpaOnDemand(settled(2), { ...base, ready: 2, current: 2, demand: 100 }, T0).desired, 2);
  // The revision becomes activating right away.
  assert.equal(decideKpaOnDemand(inactive, { ...base, demand: 1 }, T0).state.status, 'activating');
});

test('unreachable revisions ignore min-scale and the down-rate', () => {
  const s = { ...S10, minScale: 3, scaleToZeroPodRetentionPeriodMs: 600_000 };
  const input = { spec: s, observed: { stable: 0, panic: 0 }, ready: 8, current: 8, reachable: false };
  const first = decideKpa(settled(8), input, T0);
  // Recommendation 0 straight away (no floor(8/2) step); the active revision is marked inactive.
  assert.equal(first.details.recommendation, 0);
  assert.equal(first.state.status, 'inactive');
  assert.equal(first.desired, 8);
  // No retention for unreachable revisions: zero once the grace period is over.
  assert.equal(decideKpa(first.state, input, T0 + 28_000).desired, 8);
  assert.equal(decideKpa(first.state, input, T0 + 30_000).desired, 0);
  // Reachable, min-scale holds.
  assert.equal(decideKpa(settled(8), { ...input, reachable: true }, T0).desired, 4);
});

test('activating too long without demand gives up and scales to zero', () => {
  const st = newKpaState(T0);
  const s = S10;
  const early = decideKpa(st, { spec: s, observed: { stable: 0, panic: 0 }, ready: 0, current: 1 }, T0 + 10_000);
  assert.equal(early.desired, 1);
  const late = decideKpa(st, { spec: s, observed: { stable: 0, panic: 0 }, ready: 0, current: 1 }, T0 + 700_000);
  assert.equal(late.desired, 0);
});

test('excess burst capacity is reported', () => {
  const d = decideKpa(settled(3), { spec: spec(), observed: { stable: 50, panic: 50 }, ready: 3, current: 3 }, T0);
  // 3 x 100 - 211 - 50
  assert.equal(d.details.excessBurstCapacity, 39);
});
