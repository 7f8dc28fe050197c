import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultAutoscalerConfig } from '../../src/autoscaler/config.js';
import { resolveScalingSpec } from '../../src/autoscaler/annotations.js';
import { decide, decideOnDemand, initialAutoscalerState, type DecideInput } from '../../src/autoscaler/decide.js';
import { RevisionMetrics } from '../../src/autoscaler/metrics.js';
import type { ScalingPlugin } from '../../src/autoscaler/plugin.js';

const A = 'autoscaling.knative.dev/';
const cfg = defaultAutoscalerConfig();
const revision = { namespace: 'default', name: 'hello-00001', key: 'default/hello-00001' };
// Monday 2024-01-08 10:00 in Shanghai.
const MONDAY_10_CST = Date.parse('2024-01-08T02:00:00Z');
const SATURDAY = Date.parse('2024-01-13T02:00:00Z');
const office = '[{name: office, schedule: "0 9 * * 1-5", duration: 8h, timezone: Asia/Shanghai, replicas: 10}]';

function input(anns: Record<string, string>, over: Partial<DecideInput> = {}): DecideInput {
  const spec = resolveScalingSpec(anns, 0, cfg);
  return { spec, revision, annotations: anns, current: 1, ready: 1, ...over };
}

test('article: scheduled 10 + HPA CPU asking for 20 -> 20', async () => {
  const anns = { [A + 'class']: 'hpa.autoscaling.knative.dev', [A + 'target']: '50', 'sluice.dev/scheduled-capacity': office };
  // 10 instances at 100% CPU against a 50% target: the HPA wants 20.
  const inp = input(anns, { current: 10, ready: 10, cpu: { value: 100, measured: 10 } });
  const d = await decide(initialAutoscalerState(inp.spec, MONDAY_10_CST), inp, MONDAY_10_CST);
  assert.equal(d.planned, 10);
  assert.equal(d.metricDesired, 20);
  assert.equal(d.desired, 20);
});

test('article: scheduled 10 + HPA CPU asking for 4 -> 10', async () => {
  const anns = { [A + 'class']: 'hpa.autoscaling.knative.dev', [A + 'target']: '50', 'sluice.dev/scheduled-capacity': office };
  const inp = input(anns, { current: 10, ready: 10, cpu: { value: 20, measured: 10 } });
  const d = await decide({ hpa: { recommendations: [], scaleEvents: [] } }, inp, MONDAY_10_CST);
  assert.equal(d.metricDesired, 4);
  assert.equal(d.desired, 10);
  // Outside the period the metric alone decides.
  const weekend = await decide({ hpa: { recommendations: [], scaleEvents: [] } }, inp, SATURDAY);
  assert.equal(weekend.planned, 0);
  assert.equal(weekend.desired, 4);
});

test('scheduled capacity keeps a KPA revision warm instead of scaling to zero', async () => {
  const anns = { 'sluice.dev/scheduled-capacity': office };
  const inp = input(anns, { current: 0, ready: 0, metrics: new RevisionMetrics({ stableWindowMs: 60_000, panicWindowMs: 6_000 }) });
  const st = { kpa: { ...initialAutoscalerState(inp.spec, MONDAY_10_CST).kpa!, status: 'inactive' as const } };
  const d = await decide(st, inp, MONDAY_10_CST);
  assert.equal(d.desired, 10);
  // Unreachable revisions get no planned capacity.
  const un = await decide(st, { ...inp, reachable: false }, MONDAY_10_CST);
  assert.equal(un.planned, 0);
});

test('KPA through the dispatcher reads the metric windows', async () => {
  const anns = { [A + 'target']: '10', [A + 'target-utilization-percentage']: '100' };
  const metrics = new RevisionMetrics({ stableWindowMs: 60_000, panicWindowMs: 6_000 });
  const t0 = 1_700_000_000_000;
  for (let i = 0; i < 60; i++)
    metrics.record(t0 + i * 1000, { averageConcurrency: 30, requests: 30, queued: 0, inFlight: 30, intervalMs: 1000 });
  const inp = input(anns, { current: 3, ready: 3, metrics });
  const d = await decide(initialAutoscalerState(inp.spec, t0, 3), inp, t0 + 59_000);
  assert.equal(d.desired, 3);
  assert.equal(d.class, 'kpa.autoscaling.knative.dev');
});

test('on demand at zero: KPA activation scale and event gateway', () => {
  const kpa = input({ [A + 'activation-scale']: '2' }, { current: 0, ready: 0 });
  const st = { kpa: { ...initialAutoscalerState(kpa.spec, 0).kpa!, status: 'inactive' as const } };
  assert.equal(decideOnDemand(st, { ...kpa, demand: 1 }, 1000).desired, 2);

  const gw = input({ [A + 'class']: 'event-gateway.autoscaling.sluice.dev', [A + 'max-scale']: '4' }, { current: 0, ready: 0 });
  assert.equal(gw.spec.minScale, 0);
  assert.equal(decideOnDemand({}, { ...gw, demand: 3 }, 1000).desired, 3);
  assert.equal(decideOnDemand({}, { ...gw, demand: 9 }, 1000).desired, 4);
});

test('event gateway tick releases idle instances', async () => {
  const anns = { [A + 'class']: 'event-gateway.autoscaling.sluice.dev', 'sluice.dev/event-gateway-idle-timeout': '10s' };
  const now = 1_700_000_000_000;
  const inp = input(anns, {
    current: 2,
    ready: 2,
    gateway: {
      pending: 0,
      inFlight: 0,
      instances: [
        { id: 'a', busy: false, lastBusy: now - 11_000 },
        { id: 'b', busy: false, lastBusy: now - 1000 },
      ],
    },
  });
  const d = await decide({}, inp, now);
  assert.equal(d.desired, 1);
  assert.deepEqual(d.release, ['a']);
});

test('plugin class: result applied within bounds; faults keep the current scale', async () => {
  const anns = { [A + 'class']: 'plugin.autoscaling.sluice.dev', 'sluice.dev/scaling-plugin': 'fixed', [A + 'max-scale']: '5' };
  const fixed = (n: number): ScalingPlugin => ({ name: 'fixed', collect: () => ({}), decide: () => n });
  const plugins = new Map([['fixed', fixed(7)]]);
  const d = await decide({}, input(anns, { current: 2, plugins }), 0);
  assert.equal(d.desired, 5);
  assert.equal(d.error, undefined);

  const broken = new Map([['fixed', { name: 'fixed', collect: () => ({}), decide: () => NaN } as ScalingPlugin]]);
  const e = await decide({}, input(anns, { current: 2, plugins: broken }), 0);
  assert.equal(e.desired, 2);
  assert.match(e.error!, /returned NaN/);

  const missing = await decide({}, input(anns, { current: 2, plugins: new Map() }), 0);
  assert.equal(missing.desired, 2);
  assert.match(missing.error!, /scaling plugin "fixed" is not loaded/);
});

test('a class that names no loaded plugin keeps the current scale (within bounds) and says why', async () => {
  const d = await decide({}, input({ [A + 'class']: 'example.com/other', [A + 'max-scale']: '3' }, { current: 7 }), 0);
  assert.equal(d.mode, 'plugin');
  assert.equal(d.desired, 3);
  assert.match(d.error!, /scaling plugin "example.com\/other" is not loaded/);
});

test('event gateway: the initial scale holds until the first instance is ready, then idle instances may go; a failure (unreachable) ends it', async () => {
  const anns = { [A + 'class']: 'event-gateway.autoscaling.sluice.dev', [A + 'initial-scale']: '2' };
  const noDemand = { gateway: { pending: 0, inFlight: 0, instances: [] }, current: 2, ready: 0 };
  const rows: { name: string; over: Partial<DecideInput>; want: number }[] = [
    { name: 'still starting (nothing ready, no demand)', over: { ...noDemand, initialized: false }, want: 2 },
    { name: 'started once, no demand', over: { ...noDemand, initialized: true }, want: 0 },
    { name: 'never started but failing: unreachable', over: { ...noDemand, initialized: false, reachable: false }, want: 0 },
    { name: 'not told (other callers): no floor', over: noDemand, want: 0 },
  ];
  for (const r of rows) {
    const inp = input(anns, r.over);
    const d = await decide(initialAutoscalerState(inp.spec, 0), inp, 1000);
    assert.equal(d.desired, r.want, r.name);
  }
});
