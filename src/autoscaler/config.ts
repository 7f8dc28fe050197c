// Cluster-wide autoscaler defaults, read from a config-autoscaler style map of strings.
// Keys, defaults, parsing and validation messages follow Knative Serving's config-autoscaler
// (pkg/autoscaler/config/config.go); the Sluice-only keys are listed at the end of KEYS.

import {
  formatGoDuration,
  formatGoFixed,
  formatGoFloat,
  GoParseError,
  parseGoBool,
  parseGoDuration,
  parseGoFloat,
  parseGoInt,
} from './goparse.js';

export const KPA_CLASS = 'kpa.autoscaling.knative.dev';
export const HPA_CLASS = 'hpa.autoscaling.knative.dev';
/** Sluice: 1:1 request-to-instance mode (the article's "event gateway"). */
export const EVENT_GATEWAY_CLASS = 'event-gateway.autoscaling.sluice.dev';
/** Sluice: scaling decided by a loaded custom plugin (see plugin.ts). */
export const PLUGIN_CLASS = 'plugin.autoscaling.sluice.dev';

/** Knative's bounds (pkg/apis/autoscaling/register.go). */
export const TARGET_MIN = 0.01;
export const WINDOW_MIN_MS = 6_000;
export const WINDOW_MAX_MS = 3_600_000;
export const PANIC_WINDOW_PERCENTAGE_MIN = 1;
export const PANIC_WINDOW_PERCENTAGE_MAX = 100;
export const PANIC_THRESHOLD_PERCENTAGE_MIN = 110;
export const PANIC_THRESHOLD_PERCENTAGE_MAX = 1000;
/** Knative's metric bucket size (config.BucketSize). */
export const BUCKET_MS = 1_000;

export interface AutoscalerConfig {
  enableScaleToZero: boolean;
  /** container-concurrency-target-percentage as a fraction (70 -> 0.7). */
  containerConcurrencyTargetFraction: number;
  containerConcurrencyTargetDefault: number;
  /**
   * Utilization applied to the rps target. Knative keeps this at 0.7 and has no key for it
   * (container-concurrency-target-percentage only changes the concurrency fraction).
   */
  targetUtilization: number;
  rpsTargetDefault: number;
  maxScaleUpRate: number;
  maxScaleDownRate: number;
  /** -1 = unlimited (activator always in path), 0 = none. */
  targetBurstCapacity: number;
  panicWindowPercentage: number;
  activatorCapacity: number;
  panicThresholdPercentage: number;
  stableWindowMs: number;
  scaleToZeroGracePeriodMs: number;
  scaleToZeroPodRetentionPeriodMs: number;
  scaleDownDelayMs: number;
  podAutoscalerClass: string;
  allowZeroInitialScale: boolean;
  initialScale: number;
  minScale: number;
  /** 0 = unlimited. */
  maxScale: number;
  /** 0 = no limit on max-scale annotations. */
  maxScaleLimit: number;
  // ---- Sluice keys ----
  /** Default activation scale (Knative only has the per-revision annotation). */
  activationScale: number;
  /** How often the control plane asks for a decision (Knative: fixed 2 s). */
  tickIntervalMs: number;
  hpaScaleDownStabilizationWindowMs: number;
  hpaScaleUpStabilizationWindowMs: number;
  hpaTolerance: number;
  eventGatewayIdleTimeoutMs: number;
  pluginTimeoutMs: number;
}

export function defaultAutoscalerConfig(): AutoscalerConfig {
  return {
    enableScaleToZero: true,
    containerConcurrencyTargetFraction: 0.7,
    containerConcurrencyTargetDefault: 100,
    targetUtilization: 0.7,
    rpsTargetDefault: 200,
    maxScaleUpRate: 1000,
    maxScaleDownRate: 2,
    targetBurstCapacity: 211,
    panicWindowPercentage: 10,
    activatorCapacity: 100,
    panicThresholdPercentage: 200,
    stableWindowMs: 60_000,
    scaleToZeroGracePeriodMs: 30_000,
    scaleToZeroPodRetentionPeriodMs: 0,
    scaleDownDelayMs: 0,
    podAutoscalerClass: KPA_CLASS,
    allowZeroInitialScale: false,
    initialScale: 1,
    minScale: 0,
    maxScale: 0,
    maxScaleLimit: 0,
    activationScale: 1,
    tickIntervalMs: 2_000,
    hpaScaleDownStabilizationWindowMs: 300_000,
    hpaScaleUpStabilizationWindowMs: 0,
    hpaTolerance: 0.1,
    eventGatewayIdleTimeoutMs: 60_000,
    pluginTimeoutMs: 1_000,
  };
}

/** Thrown by parseAutoscalerConfig; the message reads like Knative's. */
export class AutoscalerConfigError extends Error {
  constructor(
    message: string,
    readonly key?: string,
  ) {
    super(message);
    this.name = 'AutoscalerConfigError';
  }
}

type Kind = 'string' | 'bool' | 'float' | 'int32' | 'duration';
type NumericKey = { [K in keyof AutoscalerConfig]: AutoscalerConfig[K] extends number ? K : never }[keyof AutoscalerConfig];
type BoolKey = { [K in keyof AutoscalerConfig]: AutoscalerConfig[K] extends boolean ? K : never }[keyof AutoscalerConfig];

/** ConfigMap key -> field, in the order Knative parses them (the first bad key is reported). */
export const KEYS: ReadonlyArray<{ key: string; field: keyof AutoscalerConfig; kind: Kind; sluice?: boolean }> = [
  { key: 'pod-autoscaler-class', field: 'podAutoscalerClass', kind: 'string' },
  { key: 'enable-scale-to-zero', field: 'enableScaleToZero', kind: 'bool' },
  { key: 'allow-zero-initial-scale', field: 'allowZeroInitialScale', kind: 'bool' },
  { key: 'max-scale-up-rate', field: 'maxScaleUpRate', kind: 'float' },
  { key: 'max-scale-down-rate', field: 'maxScaleDownRate', kind: 'float' },
  { key: 'container-concurrency-target-percentage', field: 'containerConcurrencyTargetFraction', kind: 'float' },
  { key: 'container-concurrency-target-default', field: 'containerConcurrencyTargetDefault', kind: 'float' },
  { key: 'requests-per-second-target-default', field: 'rpsTargetDefault', kind: 'float' },
  { key: 'target-burst-capacity', field: 'targetBurstCapacity', kind: 'float' },
  { key: 'panic-window-percentage', field: 'panicWindowPercentage', kind: 'float' },
  { key: 'activator-capacity', field: 'activatorCapacity', kind: 'float' },
  { key: 'panic-threshold-percentage', field: 'panicThresholdPercentage', kind: 'float' },
  { key: 'initial-scale', field: 'initialScale', kind: 'int32' },
  { key: 'min-scale', field: 'minScale', kind: 'int32' },
  { key: 'max-scale', field: 'maxScale', kind: 'int32' },
  { key: 'max-scale-limit', field: 'maxScaleLimit', kind: 'int32' },
  { key: 'stable-window', field: 'stableWindowMs', kind: 'duration' },
  { key: 'scale-down-delay', field: 'scaleDownDelayMs', kind: 'duration' },
  { key: 'scale-to-zero-grace-period', field: 'scaleToZeroGracePeriodMs', kind: 'duration' },
  { key: 'scale-to-zero-pod-retention-period', field: 'scaleToZeroPodRetentionPeriodMs', kind: 'duration' },
  { key: 'activation-scale', field: 'activationScale', kind: 'int32', sluice: true },
  { key: 'tick-interval', field: 'tickIntervalMs', kind: 'duration', sluice: true },
  { key: 'hpa-scale-down-stabilization-window', field: 'hpaScaleDownStabilizationWindowMs', kind: 'duration', sluice: true },
  { key: 'hpa-scale-up-stabilization-window', field: 'hpaScaleUpStabilizationWindowMs', kind: 'duration', sluice: true },
  { key: 'hpa-tolerance', field: 'hpaTolerance', kind: 'float', sluice: true },
  { key: 'event-gateway-idle-timeout', field: 'eventGatewayIdleTimeoutMs', kind: 'duration', sluice: true },
  { key: 'plugin-timeout', field: 'pluginTimeoutMs', kind: 'duration', sluice: true },
];

const dur = formatGoDuration;
const v = formatGoFloat;

/**
 * Parses a config-autoscaler data map. Unknown keys are ignored (as in Knative); values are
 * parsed exactly like Go would (no trimming). Throws AutoscalerConfigError on the first problem.
 */
export function parseAutoscalerConfig(data: Record<string, string> = {}): AutoscalerConfig {
  const c = defaultAutoscalerConfig();
  for (const { key, field, kind } of KEYS) {
    if (!Object.prototype.hasOwnProperty.call(data, key)) continue;
    const raw = data[key];
    if (typeof raw !== 'string') {
      throw new AutoscalerConfigError(`failed to parse data: failed to parse "${key}": value must be a string`, key);
    }
    try {
      switch (kind) {
        case 'string':
          (c as any)[field] = raw.trim();
          break;
        case 'bool':
          c[field as BoolKey] = parseGoBool(raw);
          break;
        case 'float':
          c[field as NumericKey] = parseGoFloat(raw);
          break;
        case 'int32':
          c[field as NumericKey] = parseGoInt(raw, 32);
          break;
        case 'duration':
          c[field as NumericKey] = parseGoDuration(raw);
          break;
      }
    } catch (e) {
      if (!(e instanceof GoParseError)) throw e;
      throw new AutoscalerConfigError(`failed to parse data: failed to parse "${key}": ${e.message}`, key);
    }
  }
  // Legacy: values in (0, 1] are fractions already; anything above is a percentage.
  if (c.containerConcurrencyTargetFraction > 1) c.containerConcurrencyTargetFraction /= 100;
  validateAutoscalerConfig(c);
  return c;
}

function fail(message: string, key: string): never {
  throw new AutoscalerConfigError(message, key);
}

/** Knative's validate(), in its order, plus checks for the Sluice keys. */
export function validateAutoscalerConfig(c: AutoscalerConfig): void {
  if (!(c.scaleToZeroGracePeriodMs > 0)) {
    fail(`scale-to-zero-grace-period must be positive, was: ${dur(c.scaleToZeroGracePeriodMs)}`, 'scale-to-zero-grace-period');
  }
  if (c.scaleDownDelayMs < 0) fail(`scale-down-delay cannot be negative, was: ${dur(c.scaleDownDelayMs)}`, 'scale-down-delay');
  if (c.scaleDownDelayMs % 1000 !== 0) {
    fail(`scale-down-delay = ${dur(c.scaleDownDelayMs)}, must be specified with at most second precision`, 'scale-down-delay');
  }
  if (c.scaleToZeroPodRetentionPeriodMs < 0) {
    fail(
      `scale-to-zero-pod-retention-period cannot be negative, was: ${dur(c.scaleToZeroPodRetentionPeriodMs)}`,
      'scale-to-zero-pod-retention-period',
    );
  }
  if (c.targetBurstCapacity < 0 && c.targetBurstCapacity !== -1) {
    fail(
      `target-burst-capacity must be either non-negative or -1 (for unlimited), was: ${formatGoFixed(c.targetBurstCapacity)}`,
      'target-burst-capacity',
    );
  }
  const f = c.containerConcurrencyTargetFraction;
  if (!(f > 0 && f <= 1)) {
    fail(
      `container-concurrency-target-percentage = ${formatGoFixed(f)} is outside of valid range of (0, 100]`,
      'container-concurrency-target-percentage',
    );
  }
  const x = f * c.containerConcurrencyTargetDefault;
  if (!(x >= TARGET_MIN)) {
    fail(
      `container-concurrency-target-percentage and container-concurrency-target-default yield target concurrency of ${v(x)}, can't be less than ${v(TARGET_MIN)}`,
      'container-concurrency-target-default',
    );
  }
  if (!(c.rpsTargetDefault >= TARGET_MIN)) {
    fail(
      `requests-per-second-target-default must be at least ${v(TARGET_MIN)}, was: ${v(c.rpsTargetDefault)}`,
      'requests-per-second-target-default',
    );
  }
  if (!(c.activatorCapacity >= 1)) fail(`activator-capacity = ${v(c.activatorCapacity)}, must be at least 1`, 'activator-capacity');
  if (!(c.maxScaleUpRate > 1)) fail(`max-scale-up-rate = ${v(c.maxScaleUpRate)}, must be greater than 1.0`, 'max-scale-up-rate');
  if (!(c.maxScaleDownRate > 1)) {
    fail(`max-scale-down-rate = ${v(c.maxScaleDownRate)}, must be greater than 1.0`, 'max-scale-down-rate');
  }
  if (c.stableWindowMs < WINDOW_MIN_MS || c.stableWindowMs > WINDOW_MAX_MS) {
    fail(`stable-window = ${dur(c.stableWindowMs)}, must be in [${dur(WINDOW_MIN_MS)}; ${dur(WINDOW_MAX_MS)}] range`, 'stable-window');
  }
  if (c.stableWindowMs % 1000 !== 0) {
    fail(`stable-window = ${dur(c.stableWindowMs)}, must be specified with at most second precision`, 'stable-window');
  }
  if (!(c.panicWindowPercentage >= PANIC_WINDOW_PERCENTAGE_MIN && c.panicWindowPercentage <= PANIC_WINDOW_PERCENTAGE_MAX)) {
    fail(
      `panic-window-percentage = ${v(c.panicWindowPercentage)}, must be in [${v(PANIC_WINDOW_PERCENTAGE_MIN)}, ${v(PANIC_WINDOW_PERCENTAGE_MAX)}] interval`,
      'panic-window-percentage',
    );
  }
  // Knative does not range-check the cluster panic threshold; Sluice refuses values that would
  // make panic mode permanent or impossible (NaN, <= 100%).
  if (!(c.panicThresholdPercentage > 100) || !Number.isFinite(c.panicThresholdPercentage)) {
    fail(`panic-threshold-percentage = ${v(c.panicThresholdPercentage)}, must be greater than 100`, 'panic-threshold-percentage');
  }
  if (c.initialScale < 0 || (c.initialScale === 0 && !c.allowZeroInitialScale)) {
    fail(`initial-scale = ${c.initialScale}, must be at least 0 (or at least 1 when allow-zero-initial-scale is false)`, 'initial-scale');
  }
  if (c.minScale < 0) fail(`min-scale = ${c.minScale}, must be at least 0`, 'min-scale');
  const minMaxScale = c.maxScaleLimit > 0 ? 1 : 0;
  if (c.maxScale < minMaxScale || (c.maxScaleLimit > 0 && c.maxScale > c.maxScaleLimit)) {
    fail(`max-scale = ${c.maxScale}, must be in [${minMaxScale}, max-scale-limit(${c.maxScaleLimit})] range`, 'max-scale');
  }
  if (c.maxScaleLimit < 0) fail(`max-scale-limit = ${c.maxScaleLimit}, must be at least 0`, 'max-scale-limit');
  if (c.minScale > c.maxScale && c.maxScale > 0) {
    fail(`min-scale (${c.minScale}) must be less than max-scale (${c.maxScale})`, 'min-scale');
  }

  // ---- Sluice keys ----
  if (c.activationScale < 1) fail(`activation-scale = ${c.activationScale}, must be at least 1`, 'activation-scale');
  if (c.tickIntervalMs < 1000 || c.tickIntervalMs > 60_000 || c.tickIntervalMs % 1000 !== 0) {
    fail(`tick-interval = ${dur(c.tickIntervalMs)}, must be whole seconds in [1s; 1m0s] range`, 'tick-interval');
  }
  for (const [key, ms] of [
    ['hpa-scale-down-stabilization-window', c.hpaScaleDownStabilizationWindowMs],
    ['hpa-scale-up-stabilization-window', c.hpaScaleUpStabilizationWindowMs],
  ] as const) {
    // Same bounds as Kubernetes' stabilizationWindowSeconds: 0..3600 s.
    if (ms < 0 || ms > WINDOW_MAX_MS) fail(`${key} = ${dur(ms)}, must be in [0s; 1h0m0s] range`, key);
  }
  if (!(c.hpaTolerance >= 0 && c.hpaTolerance < 1)) {
    fail(`hpa-tolerance = ${v(c.hpaTolerance)}, must be in [0, 1) interval`, 'hpa-tolerance');
  }
  if (!(c.eventGatewayIdleTimeoutMs >= 0)) {
    fail(`event-gateway-idle-timeout cannot be negative, was: ${dur(c.eventGatewayIdleTimeoutMs)}`, 'event-gateway-idle-timeout');
  }
  if (!(c.pluginTimeoutMs > 0)) fail(`plugin-timeout must be positive, was: ${dur(c.pluginTimeoutMs)}`, 'plugin-timeout');
}
