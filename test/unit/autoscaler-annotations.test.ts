import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultAutoscalerConfig, parseAutoscalerConfig } from '../../src/autoscaler/config.js';
import {
  formatFieldErrors,
  initialReplicas,
  resolveScalingSpec,
  validateAnnotations,
  viaField,
  type FieldError,
} from '../../src/autoscaler/annotations.js';

const A = 'autoscaling.knative.dev/';
const cfg = defaultAutoscalerConfig();

function errs(anns: Record<string, string>, config = cfg): string {
  return formatFieldErrors(validateAnnotations(anns, config));
}

test('valid annotations produce no errors', () => {
  const anns = {
    [A + 'class']: 'kpa.autoscaling.knative.dev',
    [A + 'metric']: 'rps',
    [A + 'target']: '150',
    [A + 'target-utilization-percentage']: '80',
    [A + 'min-scale']: '1',
    [A + 'max-scale']: '10',
    [A + 'initial-scale']: '2',
    [A + 'activation-scale']: '3',
    [A + 'window']: '2m',
    [A + 'panic-window-percentage']: '5.0',
    [A + 'panic-threshold-percentage']: '150.0',
    [A + 'scale-down-delay']: '15m',
    [A + 'scale-to-zero-pod-retention-period']: '1m5s',
    [A + 'target-burst-capacity']: '-1',
    [A + 'metric-aggregation-algorithm']: 'weighted-exponential',
    'sluice.dev/scheduled-capacity': '[{schedule: "0 9 * * 1-5", duration: 8h, replicas: 10}]',
  };
  assert.deepEqual(validateAnnotations(anns, cfg), []);
});

const cases: Array<[string, Record<string, string>, string, typeof cfg?]> = [
  ['negative min-scale', { [A + 'min-scale']: '-1' }, `expected 0 <= -1 <= 2147483647: ${A}min-scale`],
  ['non-numeric max-scale', { [A + 'max-scale']: 'ten' }, `invalid value: ten: ${A}max-scale`],
  ['max-scale overflow', { [A + 'max-scale']: '99999999999' }, `expected 0 <= 99999999999 <= 2147483647: ${A}max-scale`],
  ['max < min', { [A + 'min-scale']: '3', [A + 'max-scale']: '2' }, `max-scale=2 is less than min-scale=3: ${A}max-scale, ${A}min-scale`],
  [
    'legacy camelCase keys',
    { [A + 'minScale']: '3', [A + 'maxScale']: '2' },
    `max-scale=2 is less than min-scale=3: ${A}max-scale, ${A}min-scale`,
  ],
  ['max over limit', { [A + 'max-scale']: '20' }, `expected 1 <= 20 <= 10: ${A}max-scale`, { ...cfg, maxScaleLimit: 10, maxScale: 5 }],
  [
    'unlimited with limit',
    { [A + 'max-scale']: '0' },
    `max-scale=0 (unlimited), must be less than 10: ${A}max-scale`,
    { ...cfg, maxScaleLimit: 10, maxScale: 5 },
  ],
  [
    'activation < min',
    { [A + 'min-scale']: '3', [A + 'activation-scale']: '2' },
    `min-scale=3 is greater than activation-scale=2: ${A}activation-scale`,
  ],
  [
    'activation > max',
    { [A + 'max-scale']: '2', [A + 'activation-scale']: '3' },
    `max-scale=2 is less than activation-scale=3: ${A}activation-scale`,
  ],
  ['activation 1', { [A + 'activation-scale']: '1' }, `activation-scale=1 must be greater than 1: ${A}activation-scale`],
  ['panic window', { [A + 'panic-window-percentage']: '0.5' }, `expected 1 <= 0.5 <= 100: ${A}panic-window-percentage`],
  ['panic threshold', { [A + 'panic-threshold-percentage']: '100' }, `expected 110 <= 100 <= 1000: ${A}panic-threshold-percentage`],
  ['panic threshold text', { [A + 'panic-threshold-percentage']: 'high' }, `invalid value: high: ${A}panic-threshold-percentage`],
  ['target too small', { [A + 'target']: '0.001' }, `target 0.001 should be at least 0.01: ${A}target`],
  ['utilization', { [A + 'target-utilization-percentage']: '120' }, `expected 1 <= 120 <= 100: ${A}target-utilization-percentage`],
  ['tbc', { [A + 'target-burst-capacity']: '-2' }, `invalid value: -2: ${A}target-burst-capacity`],
  ['window bad', { [A + 'window']: 'forever' }, `invalid value: forever: ${A}window`],
  ['window range', { [A + 'window']: '2s' }, `expected 6s <= 2s <= 1h0m0s: ${A}window`],
  ['window precision', { [A + 'window']: '6500ms' }, `must be specified with at most second precision: ${A}window`],
  [
    'retention range',
    { [A + 'scale-to-zero-pod-retention-period']: '2h' },
    `expected 0s <= 2h <= 1h0m0s: ${A}scale-to-zero-pod-retention-period`,
  ],
  ['delay range', { [A + 'scale-down-delay']: '-1s' }, `expected 0s <= -1s <= 1h0m0s: ${A}scale-down-delay`],
  ['delay precision', { [A + 'scale-down-delay']: '1.5s' }, `must be specified with at most second precision: ${A}scale-down-delay`],
  ['kpa metric', { [A + 'metric']: 'cpu' }, `invalid value: cpu: ${A}metric`],
  ['hpa empty metric', { [A + 'class']: 'hpa.autoscaling.knative.dev', [A + 'metric']: '' }, `invalid value: : ${A}metric`],
  ['unknown knative class', { [A + 'class']: 'foo.autoscaling.knative.dev' }, `invalid value: foo.autoscaling.knative.dev: ${A}class`],
  [
    'algorithm',
    { [A + 'class']: 'kpa.autoscaling.knative.dev', [A + 'metric-aggregation-algorithm']: 'median' },
    `invalid value: median: ${A}metric-aggregation-algorithm`,
  ],
  ['initial scale text', { [A + 'initial-scale']: 'x' }, `invalid value: x: ${A}initial-scale`],
  ['initial scale negative', { [A + 'initial-scale']: '-1' }, `invalid value: -1: ${A}initial-scale must be greater than 0`],
  ['initial scale zero', { [A + 'initial-scale']: '0' }, `invalid value: 0: ${A}initial-scale=0 not allowed by cluster`],
];

for (const [name, anns, want, config] of cases) {
  test(`annotation error: ${name}`, () => {
    assert.equal(errs(anns, config ?? cfg), want);
  });
}

test('initial-scale 0 is fine when the cluster allows it', () => {
  assert.deepEqual(validateAnnotations({ [A + 'initial-scale']: '0' }, { ...cfg, allowZeroInitialScale: true }), []);
});

test('other autoscaler classes are left alone when no plugin list is given', () => {
  assert.deepEqual(validateAnnotations({ [A + 'class']: 'example.com/custom', [A + 'metric']: 'anything' }, cfg), []);
});

test('a class naming a scaling plugin selects that plugin; an unknown one is refused when plugins are known', () => {
  const spec = resolveScalingSpec({ [A + 'class']: 'queue-depth' }, 0, cfg);
  assert.equal(spec.class, 'plugin.autoscaling.sluice.dev');
  assert.equal(spec.pluginName, 'queue-depth');
  assert.deepEqual(validateAnnotations({ [A + 'class']: 'queue-depth' }, cfg, { knownPlugins: ['queue-depth'] }), []);
  assert.equal(
    formatFieldErrors(validateAnnotations({ [A + 'class']: 'nope' }, cfg, { knownPlugins: ['queue-depth'] })),
    `invalid value: nope: ${A}class\nnot a Sluice class nor a loaded scaling plugin; loaded plugins: queue-depth`,
  );
  // Knative's own classes never name a plugin.
  assert.equal(resolveScalingSpec({ [A + 'class']: 'kpa.autoscaling.knative.dev' }, 0, cfg).pluginName, undefined);
});

test('several errors are merged and sorted like FieldError.Error()', () => {
  const list = validateAnnotations({ [A + 'min-scale']: '-1', [A + 'max-scale']: '-2', [A + 'window']: 'x' }, cfg);
  assert.equal(list.length, 3);
  assert.equal(
    formatFieldErrors(viaField(list, 'spec.template.metadata.annotations')),
    [
      `expected 0 <= -1 <= 2147483647: spec.template.metadata.annotations.${A}min-scale`,
      `expected 0 <= -2 <= 2147483647: spec.template.metadata.annotations.${A}max-scale`,
      `invalid value: x: spec.template.metadata.annotations.${A}window`,
    ].join('\n'),
  );
  const same: FieldError[] = [
    { message: 'invalid value: 1', paths: ['b'] },
    { message: 'invalid value: 1', paths: ['a'] },
  ];
  assert.equal(formatFieldErrors(same), 'invalid value: 1: a, b');
});

test('Sluice annotations are validated', () => {
  const bad = errs({ 'sluice.dev/scheduled-capacity': '[{schedule: "61 * * * *", duration: 1h, replicas: 2}]' });
  assert.match(bad, /\[0\]\.schedule: invalid cron expression "61 \* \* \* \*".*: sluice\.dev\/scheduled-capacity/);
  assert.equal(
    errs({ [A + 'class']: 'plugin.autoscaling.sluice.dev' }),
    'class plugin.autoscaling.sluice.dev needs the name of a scaling plugin: sluice.dev/scaling-plugin',
  );
  const unknown = validateAnnotations({ [A + 'class']: 'plugin.autoscaling.sluice.dev', 'sluice.dev/scaling-plugin': 'nope' }, cfg, {
    knownPlugins: ['queue-depth'],
  });
  assert.equal(formatFieldErrors(unknown), 'invalid value: nope: sluice.dev/scaling-plugin\nloaded plugins: queue-depth');
  assert.equal(errs({ [A + 'class']: 'magic.autoscaling.sluice.dev' }), `invalid value: magic.autoscaling.sluice.dev: ${A}class`);
  assert.equal(errs({ 'sluice.dev/event-gateway-idle-timeout': 'soon' }), 'invalid value: soon: sluice.dev/event-gateway-idle-timeout');
  const warn = validateAnnotations({ [A + 'class']: 'hpa.autoscaling.knative.dev', [A + 'metric']: 'queue_length' }, cfg);
  assert.equal(warn.length, 1);
  assert.equal(warn[0].level, 'warning');
});

test('resolve: KPA concurrency defaults', () => {
  const s = resolveScalingSpec({}, 0, cfg);
  assert.equal(s.class, 'kpa.autoscaling.knative.dev');
  assert.equal(s.metric, 'concurrency');
  assert.equal(s.total, 100);
  assert.equal(s.utilization, 0.7);
  assert.ok(Math.abs(s.target - 70) < 1e-9);
  assert.equal(s.stableWindowMs, 60_000);
  assert.equal(s.panicWindowMs, 6_000);
  assert.equal(s.panicThreshold, 2);
  assert.equal(s.minScale, 0);
  assert.equal(s.maxScale, 0);
  assert.equal(s.initialScale, 1);
  assert.equal(s.activationScale, 1);
  assert.equal(initialReplicas(s), 1);
});

const targetCases: Array<[string, Record<string, string>, number, number, number]> = [
  // name, annotations, containerConcurrency, expected total, expected target
  ['containerConcurrency is the total', {}, 10, 10, 7],
  ['target annotation', { [A + 'target']: '50' }, 0, 50, 35],
  ['target capped by containerConcurrency', { [A + 'target']: '50' }, 10, 10, 7],
  ['containerConcurrency above target', { [A + 'target']: '5' }, 10, 5, 3.5],
  ['utilization annotation', { [A + 'target-utilization-percentage']: '50' }, 10, 10, 5],
  ['rps default', { [A + 'metric']: 'rps' }, 10, 200, 140],
  ['rps target', { [A + 'metric']: 'rps', [A + 'target']: '150' }, 10, 150, 105],
  ['tiny target floored at 0.01', { [A + 'target']: '0.01', [A + 'target-utilization-percentage']: '1' }, 0, 0.01, 0.01],
];
for (const [name, anns, cc, total, target] of targetCases) {
  test(`resolve target: ${name}`, () => {
    const s = resolveScalingSpec(anns, cc, cfg);
    assert.equal(s.total, total);
    assert.ok(Math.abs(s.target - target) < 1e-9, `target ${s.target} != ${target}`);
  });
}

test('resolve: rps ignores container-concurrency-target-percentage (Knative keeps 0.7)', () => {
  const c = parseAutoscalerConfig({ 'container-concurrency-target-percentage': '50' });
  assert.equal(resolveScalingSpec({ [A + 'metric']: 'rps' }, 0, c).target, 140);
  assert.equal(resolveScalingSpec({}, 0, c).target, 50);
});

test('resolve: windows, bounds and delays', () => {
  const s = resolveScalingSpec(
    {
      [A + 'window']: '40s',
      [A + 'panic-window-percentage']: '20',
      [A + 'panic-threshold-percentage']: '150',
      [A + 'min-scale']: '2',
      [A + 'max-scale']: '8',
      [A + 'initial-scale']: '5',
      [A + 'activation-scale']: '3',
      [A + 'scale-down-delay']: '30s',
      [A + 'scale-to-zero-pod-retention-period']: '1m',
      [A + 'target-burst-capacity']: '0',
    },
    0,
    cfg,
  );
  assert.equal(s.stableWindowMs, 40_000);
  assert.equal(s.panicWindowMs, 8_000);
  assert.equal(s.panicThreshold, 1.5);
  assert.equal(s.minScale, 2);
  assert.equal(s.maxScale, 8);
  assert.equal(s.initialScale, 5);
  assert.equal(s.activationScale, 3);
  assert.equal(s.scaleDownDelayMs, 30_000);
  assert.equal(s.scaleToZeroPodRetentionPeriodMs, 60_000);
  assert.equal(s.targetBurstCapacity, 0);
  assert.equal(initialReplicas(s), 5);
  // The panic window is rounded to whole seconds and is at least one second.
  assert.equal(resolveScalingSpec({ [A + 'window']: '6s', [A + 'panic-window-percentage']: '1' }, 0, cfg).panicWindowMs, 1000);
});

test('resolve: HPA class', () => {
  const cpu = resolveScalingSpec({ [A + 'class']: 'hpa.autoscaling.knative.dev', [A + 'target']: '74.5' }, 0, cfg);
  assert.equal(cpu.metric, 'cpu');
  assert.equal(cpu.target, 75); // AverageUtilization = ceil(target)
  assert.equal(cpu.minScale, 1); // the HPA class never scales to zero
  assert.equal(cpu.hpa.scaleDownStabilizationMs, 300_000);
  const mem = resolveScalingSpec(
    { [A + 'class']: 'hpa.autoscaling.knative.dev', [A + 'metric']: 'memory', [A + 'target']: '100', [A + 'window']: '30s' },
    0,
    cfg,
  );
  assert.equal(mem.metric, 'memory');
  assert.equal(mem.target, 100);
  assert.equal(mem.hpa.scaleDownStabilizationMs, 30_000);
  assert.equal(mem.hpa.scaleUpStabilizationMs, 30_000);
  const none = resolveScalingSpec({ [A + 'class']: 'hpa.autoscaling.knative.dev', [A + 'metric']: 'memory' }, 0, cfg);
  assert.equal(none.metric, 'cpu');
  assert.equal(none.target, 80);
  assert.equal(none.notes.length, 1);
});

test('resolve: scale to zero disabled lifts min-scale to 1', () => {
  const s = resolveScalingSpec({}, 0, { ...cfg, enableScaleToZero: false });
  assert.equal(s.minScale, 1);
});

test('resolve: schedule and plugin annotations', () => {
  const s = resolveScalingSpec(
    {
      [A + 'class']: 'plugin.autoscaling.sluice.dev',
      'sluice.dev/scaling-plugin': ' queue-depth ',
      'sluice.dev/scheduled-capacity': '[{name: day, schedule: "0 9 * * *", duration: 8h, replicas: 3}]',
    },
    0,
    cfg,
  );
  assert.equal(s.pluginName, 'queue-depth');
  assert.equal(s.metric, 'custom');
  assert.equal(s.schedule.length, 1);
  assert.equal(s.schedule[0].replicas, 3);
});
