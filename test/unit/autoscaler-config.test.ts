import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AutoscalerConfigError, defaultAutoscalerConfig, parseAutoscalerConfig } from '../../src/autoscaler/config.js';
import { formatGoDuration, formatGoFloat, parseGoDuration } from '../../src/autoscaler/goparse.js';

test('defaults match Knative config-autoscaler', () => {
  const c = parseAutoscalerConfig({});
  assert.deepEqual(c, defaultAutoscalerConfig());
  assert.equal(c.containerConcurrencyTargetDefault, 100);
  assert.equal(c.containerConcurrencyTargetFraction, 0.7);
  assert.equal(c.rpsTargetDefault, 200);
  assert.equal(c.targetBurstCapacity, 211);
  assert.equal(c.stableWindowMs, 60_000);
  assert.equal(c.panicWindowPercentage, 10);
  assert.equal(c.panicThresholdPercentage, 200);
  assert.equal(c.maxScaleUpRate, 1000);
  assert.equal(c.maxScaleDownRate, 2);
  assert.equal(c.enableScaleToZero, true);
  assert.equal(c.scaleToZeroGracePeriodMs, 30_000);
  assert.equal(c.scaleToZeroPodRetentionPeriodMs, 0);
  assert.equal(c.scaleDownDelayMs, 0);
  assert.equal(c.initialScale, 1);
  assert.equal(c.allowZeroInitialScale, false);
  assert.equal(c.minScale, 0);
  assert.equal(c.maxScale, 0);
  assert.equal(c.maxScaleLimit, 0);
  assert.equal(c.activationScale, 1);
  assert.equal(c.podAutoscalerClass, 'kpa.autoscaling.knative.dev');
  assert.equal(c.tickIntervalMs, 2_000);
  assert.equal(c.hpaScaleDownStabilizationWindowMs, 300_000);
});

test('values are parsed like Go does', () => {
  const c = parseAutoscalerConfig({
    'container-concurrency-target-percentage': '80',
    'container-concurrency-target-default': '10',
    'stable-window': '2m',
    'scale-to-zero-grace-period': '1m30s',
    'enable-scale-to-zero': 'False',
    'max-scale': '10',
    'min-scale': '2',
    'pod-autoscaler-class': ' hpa.autoscaling.knative.dev ',
    'hpa-scale-down-stabilization-window': '60s',
    'event-gateway-idle-timeout': '10s',
    'unknown-key': 'whatever',
  });
  assert.equal(c.containerConcurrencyTargetFraction, 0.8);
  assert.equal(c.containerConcurrencyTargetDefault, 10);
  assert.equal(c.stableWindowMs, 120_000);
  assert.equal(c.scaleToZeroGracePeriodMs, 90_000);
  assert.equal(c.enableScaleToZero, false);
  assert.equal(c.maxScale, 10);
  assert.equal(c.minScale, 2);
  assert.equal(c.podAutoscalerClass, 'hpa.autoscaling.knative.dev');
  assert.equal(c.hpaScaleDownStabilizationWindowMs, 60_000);
  assert.equal(c.eventGatewayIdleTimeoutMs, 10_000);
  // Legacy fractions in (0, 1] stay fractions.
  assert.equal(parseAutoscalerConfig({ 'container-concurrency-target-percentage': '0.5' }).containerConcurrencyTargetFraction, 0.5);
});

const errorCases: Array<[string, Record<string, string>, string]> = [
  ['bad duration', { 'stable-window': 'sixty' }, 'failed to parse data: failed to parse "stable-window": time: invalid duration "sixty"'],
  [
    'duration without unit',
    { 'scale-down-delay': '10' },
    'failed to parse data: failed to parse "scale-down-delay": time: missing unit in duration "10"',
  ],
  [
    'unknown unit',
    { 'stable-window': '10d' },
    'failed to parse data: failed to parse "stable-window": time: unknown unit "d" in duration "10d"',
  ],
  [
    'bad float',
    { 'max-scale-up-rate': 'fast' },
    'failed to parse data: failed to parse "max-scale-up-rate": strconv.ParseFloat: parsing "fast": invalid syntax',
  ],
  ['bad int', { 'max-scale': '1.5' }, 'failed to parse data: failed to parse "max-scale": strconv.ParseInt: parsing "1.5": invalid syntax'],
  [
    'int32 overflow',
    { 'min-scale': '3000000000' },
    'failed to parse data: failed to parse "min-scale": strconv.ParseInt: parsing "3000000000": value out of range',
  ],
  [
    'bad bool',
    { 'enable-scale-to-zero': 'yes' },
    'failed to parse data: failed to parse "enable-scale-to-zero": strconv.ParseBool: parsing "yes": invalid syntax',
  ],
  ['grace period 0', { 'scale-to-zero-grace-period': '0s' }, 'scale-to-zero-grace-period must be positive, was: 0s'],
  ['negative delay', { 'scale-down-delay': '-1s' }, 'scale-down-delay cannot be negative, was: -1s'],
  ['sub-second delay', { 'scale-down-delay': '1.5s' }, 'scale-down-delay = 1.5s, must be specified with at most second precision'],
  [
    'negative retention',
    { 'scale-to-zero-pod-retention-period': '-1m' },
    'scale-to-zero-pod-retention-period cannot be negative, was: -1m0s',
  ],
  ['tbc', { 'target-burst-capacity': '-2' }, 'target-burst-capacity must be either non-negative or -1 (for unlimited), was: -2.000000'],
  [
    'percentage too big',
    { 'container-concurrency-target-percentage': '200' },
    'container-concurrency-target-percentage = 2.000000 is outside of valid range of (0, 100]',
  ],
  [
    'percentage zero',
    { 'container-concurrency-target-percentage': '0' },
    'container-concurrency-target-percentage = 0.000000 is outside of valid range of (0, 100]',
  ],
  [
    'target too small',
    { 'container-concurrency-target-default': '0.001' },
    "container-concurrency-target-percentage and container-concurrency-target-default yield target concurrency of 0.0007, can't be less than 0.01",
  ],
  ['rps target', { 'requests-per-second-target-default': '0' }, 'requests-per-second-target-default must be at least 0.01, was: 0'],
  ['up rate', { 'max-scale-up-rate': '1' }, 'max-scale-up-rate = 1, must be greater than 1.0'],
  ['down rate', { 'max-scale-down-rate': '0.5' }, 'max-scale-down-rate = 0.5, must be greater than 1.0'],
  ['window too small', { 'stable-window': '5s' }, 'stable-window = 5s, must be in [6s; 1h0m0s] range'],
  ['window too big', { 'stable-window': '2h' }, 'stable-window = 2h0m0s, must be in [6s; 1h0m0s] range'],
  ['window precision', { 'stable-window': '6500ms' }, 'stable-window = 6.5s, must be specified with at most second precision'],
  ['panic window', { 'panic-window-percentage': '0.5' }, 'panic-window-percentage = 0.5, must be in [1, 100] interval'],
  [
    'initial scale 0',
    { 'initial-scale': '0' },
    'initial-scale = 0, must be at least 0 (or at least 1 when allow-zero-initial-scale is false)',
  ],
  ['min scale', { 'min-scale': '-1' }, 'min-scale = -1, must be at least 0'],
  ['max vs limit', { 'max-scale-limit': '5', 'max-scale': '10' }, 'max-scale = 10, must be in [1, max-scale-limit(5)] range'],
  ['max unset with limit', { 'max-scale-limit': '5' }, 'max-scale = 0, must be in [1, max-scale-limit(5)] range'],
  ['min > max', { 'min-scale': '5', 'max-scale': '3' }, 'min-scale (5) must be less than max-scale (3)'],
  ['tick interval', { 'tick-interval': '500ms' }, 'tick-interval = 500ms, must be whole seconds in [1s; 1m0s] range'],
  [
    'hpa window',
    { 'hpa-scale-down-stabilization-window': '2h' },
    'hpa-scale-down-stabilization-window = 2h0m0s, must be in [0s; 1h0m0s] range',
  ],
];

for (const [name, data, message] of errorCases) {
  test(`config error: ${name}`, () => {
    assert.throws(
      () => parseAutoscalerConfig(data),
      (e: unknown) => e instanceof AutoscalerConfigError && e.message === message,
      message,
    );
  });
}

test('allow-zero-initial-scale permits initial-scale 0', () => {
  assert.equal(parseAutoscalerConfig({ 'initial-scale': '0', 'allow-zero-initial-scale': 'true' }).initialScale, 0);
});

test('Go duration and float formatting', () => {
  const cases: Array<[string, number, string]> = [
    ['0', 0, '0s'],
    ['1h', 3_600_000, '1h0m0s'],
    ['1m30s', 90_000, '1m30s'],
    ['1.5s', 1500, '1.5s'],
    ['300ms', 300, '300ms'],
    ['2h45m', 9_900_000, '2h45m0s'],
    ['-5s', -5000, '-5s'],
    ['1500us', 1.5, '1.5ms'],
  ];
  for (const [text, ms, formatted] of cases) {
    assert.equal(parseGoDuration(text), ms, text);
    assert.equal(formatGoDuration(ms), formatted, text);
  }
  assert.equal(formatGoFloat(1), '1');
  assert.equal(formatGoFloat(0.5), '0.5');
  assert.equal(formatGoFloat(1e6), '1e+06');
  assert.equal(formatGoFloat(123456), '123456');
  assert.equal(formatGoFloat(0.00001), '1e-05');
});
