// Per-revision autoscaling annotations: validation with Knative's messages and field paths
// (pkg/apis/autoscaling/annotation_validation.go + knative.dev/pkg apis.FieldError), and
// resolution into one ScalingSpec with every default filled in, so the deciders never read
// annotations or config themselves.

import type { AutoscalerConfig } from './config.js';
import {
  EVENT_GATEWAY_CLASS,
  HPA_CLASS,
  KPA_CLASS,
  PANIC_THRESHOLD_PERCENTAGE_MAX,
  PANIC_THRESHOLD_PERCENTAGE_MIN,
  PANIC_WINDOW_PERCENTAGE_MAX,
  PANIC_WINDOW_PERCENTAGE_MIN,
  PLUGIN_CLASS,
  TARGET_MIN,
  WINDOW_MAX_MS,
  WINDOW_MIN_MS,
  BUCKET_MS,
} from './config.js';
import { formatGoDuration, formatGoFloat, GoRangeError, parseGoDuration, parseGoFloat, parseGoInt } from './goparse.js';
import { parseSchedule, SCHEDULE_ANNOTATION, type ScheduledPeriod } from './schedule.js';

const G = 'autoscaling.knative.dev';

export const AnnotationKeys = {
  class: `${G}/class`,
  metric: `${G}/metric`,
  target: `${G}/target`,
  targetUtilizationPercentage: `${G}/target-utilization-percentage`,
  minScale: `${G}/min-scale`,
  maxScale: `${G}/max-scale`,
  initialScale: `${G}/initial-scale`,
  activationScale: `${G}/activation-scale`,
  window: `${G}/window`,
  panicWindowPercentage: `${G}/panic-window-percentage`,
  panicThresholdPercentage: `${G}/panic-threshold-percentage`,
  scaleDownDelay: `${G}/scale-down-delay`,
  scaleToZeroPodRetentionPeriod: `${G}/scale-to-zero-pod-retention-period`,
  targetBurstCapacity: `${G}/target-burst-capacity`,
  metricAggregationAlgorithm: `${G}/metric-aggregation-algorithm`,
  // Sluice
  scheduledCapacity: SCHEDULE_ANNOTATION,
  scalingPlugin: 'sluice.dev/scaling-plugin',
  eventGatewayIdleTimeout: 'sluice.dev/event-gateway-idle-timeout',
} as const;

/**
 * Accepted spellings of each annotation, first match wins (Knative's kmap.KeyPriority: the
 * kebab-case key, then the legacy camelCase one).
 */
const PRIORITY: Record<string, string[]> = {
  class: [AnnotationKeys.class],
  metric: [AnnotationKeys.metric],
  target: [AnnotationKeys.target],
  window: [AnnotationKeys.window],
  activationScale: [AnnotationKeys.activationScale],
  initialScale: [AnnotationKeys.initialScale, `${G}/initialScale`],
  minScale: [AnnotationKeys.minScale, `${G}/minScale`],
  maxScale: [AnnotationKeys.maxScale, `${G}/maxScale`],
  metricAggregationAlgorithm: [AnnotationKeys.metricAggregationAlgorithm, `${G}/metricAggregationAlgorithm`],
  panicThresholdPercentage: [AnnotationKeys.panicThresholdPercentage, `${G}/panicThresholdPercentage`],
  panicWindowPercentage: [AnnotationKeys.panicWindowPercentage, `${G}/panicWindowPercentage`],
  scaleDownDelay: [AnnotationKeys.scaleDownDelay, `${G}/scaleDownDelay`],
  scaleToZeroPodRetentionPeriod: [AnnotationKeys.scaleToZeroPodRetentionPeriod, `${G}/scaleToZeroPodRetentionPeriod`],
  targetBurstCapacity: [AnnotationKeys.targetBurstCapacity, `${G}/targetBurstCapacity`],
  targetUtilizationPercentage: [AnnotationKeys.targetUtilizationPercentage, `${G}/targetUtilizationPercentage`],
};

type Anns = Record<string, string> | undefined;

function get(anns: Anns, name: keyof typeof PRIORITY): [key: string, value: string] | undefined {
  if (!anns) return undefined;
  for (const k of PRIORITY[name]) {
    if (Object.prototype.hasOwnProperty.call(anns, k) && typeof anns[k] === 'string') return [k, anns[k]];
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// FieldError, shaped like knative.dev/pkg/apis.FieldError.

export interface FieldError {
  message: string;
  /** Paths relative to the annotations map (the annotation key); prefix with viaField(). */
  paths: string[];
  details?: string;
  level?: 'error' | 'warning';
}

const invalidValue = (value: unknown, path: string, details?: string): FieldError => ({
  message: `invalid value: ${value}`,
  paths: [path],
  ...(details ? { details } : {}),
});
const outOfBounds = (value: unknown, lower: unknown, upper: unknown, path: string): FieldError => ({
  message: `expected ${lower} <= ${value} <= ${upper}`,
  paths: [path],
});
const generic = (message: string, ...paths: string[]): FieldError => ({ message, paths });

/** Prefixes every path, like FieldError.ViaField("spec.template.metadata.annotations"). */
export function viaField(errors: FieldError[], prefix: string): FieldError[] {
  return errors.map((e) => ({ ...e, paths: e.paths.map((p) => (p ? `${prefix}.${p}` : prefix)) }));
}

/**
 * One string for all errors, like FieldError.Error(): errors with the same message are merged,
 * paths and errors sorted, one "message: path, path" per line.
 */
export function formatFieldErrors(errors: FieldError[]): string {
  const merged = new Map<string, FieldError>();
  for (const e of errors) {
    const k = `${e.level ?? 'error'}-${e.message}-${e.details ?? ''}`;
    const prev = merged.get(k);
    if (prev) prev.paths = [...prev.paths, ...e.paths.filter((p) => !prev.paths.includes(p))];
    else merged.set(k, { ...e, paths: [...e.paths] });
  }
  const list = [...merged.values()];
  for (const e of list) e.paths.sort();
  const cmp = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);
  list.sort((a, b) => cmp(a.message, b.message) || cmp(a.details ?? '', b.details ?? ''));
  return list.map((e) => `${e.message}: ${e.paths.join(', ')}${e.details ? `\n${e.details}` : ''}`).join('\n');
}

// ---------------------------------------------------------------------------------------------
// Validation.

const INT32_MAX = 2147483647;

function intGE0(anns: Anns, name: keyof typeof PRIORITY, errs: FieldError[]): number {
  const kv = get(anns, name);
  if (!kv) return 0;
  const [k, v] = kv;
  try {
    const i = parseGoInt(v, 32);
    if (i < 0) {
      errs.push(outOfBounds(v, 0, INT32_MAX, k));
      return 0;
    }
    return i;
  } catch (e) {
    errs.push(e instanceof GoRangeError ? outOfBounds(v, 0, INT32_MAX, k) : invalidValue(v, k));
    return 0;
  }
}

function tryFloat(v: string): number | undefined {
  try {
    const f = parseGoFloat(v);
    // Go accepts "NaN"/"Inf" and Knative's range checks then let NaN through; Sluice refuses.
    return Number.isFinite(f) ? f : undefined;
  } catch {
    return undefined;
  }
}

function tryDuration(v: string): number | undefined {
  try {
    return parseGoDuration(v);
  } catch {
    return undefined;
  }
}

export interface ValidateOptions {
  /** Names of loaded scaling plugins; when given, sluice.dev/scaling-plugin must name one of them. */
  knownPlugins?: Iterable<string>;
}

/**
 * Validates the autoscaling annotations of a revision template. Paths are the annotation keys;
 * callers add the prefix (Knative: "metadata.annotations", under "spec.template" for a Service).
 */
/**
 * A class that is neither Knative's nor Sluice's own names a scaling plugin directly
 * (`autoscaling.knative.dev/class: queue-depth`), as well as through the plugin class plus
 * sluice.dev/scaling-plugin. Returns the plugin's name, or undefined for the built-in classes.
 */
export function pluginNamedByClass(cls: string): string | undefined {
  if (cls === KPA_CLASS || cls === HPA_CLASS || cls === EVENT_GATEWAY_CLASS || cls === PLUGIN_CLASS) return undefined;
  if (cls.endsWith('.knative.dev') || cls.endsWith('.sluice.dev')) return undefined;
  return cls.trim() || undefined;
}

export function validateAnnotations(
  annotations: Record<string, string> | undefined,
  config: AutoscalerConfig,
  opts: ValidateOptions = {},
): FieldError[] {
  const anns = annotations ?? {};
  const errs: FieldError[] = [];

  // class: a *.knative.dev value must be one Knative knows; Sluice does the same for *.sluice.dev.
  const cls = get(anns, 'class');
  if (cls) {
    const [k, val] = cls;
    if (
      (val.endsWith('.knative.dev') && val !== KPA_CLASS && val !== HPA_CLASS) ||
      (val.endsWith('.sluice.dev') && val !== EVENT_GATEWAY_CLASS && val !== PLUGIN_CLASS)
    ) {
      errs.push(invalidValue(val, k));
    }
  }

  // min/max scale and activation scale.
  const min = intGE0(anns, 'minScale', errs);
  const max = intGE0(anns, 'maxScale', errs);
  if (max !== 0 && max < min) {
    errs.push(generic(`max-scale=${max} is less than min-scale=${min}`, AnnotationKeys.maxScale, AnnotationKeys.minScale));
  }
  const maxKv = get(anns, 'maxScale');
  if (maxKv && config.maxScaleLimit > 0) {
    if (max > config.maxScaleLimit) errs.push(outOfBounds(max, 1, config.maxScaleLimit, maxKv[0]));
    if (max === 0) errs.push(generic(`max-scale=0 (unlimited), must be less than ${config.maxScaleLimit}`, maxKv[0]));
  }
  const act = get(anns, 'activationScale');
  if (act) {
    const [k, v] = act;
    let nz: number | undefined;
    try {
      nz = parseGoInt(v, 32);
    } catch {
      errs.push(invalidValue(v, k));
    }
    if (nz !== undefined) {
      if (min > nz) errs.push(generic(`min-scale=${min} is greater than activation-scale=${nz}`, k));
      else if (max < nz && max !== 0) errs.push(generic(`max-scale=${max} is less than activation-scale=${nz}`, k));
      else if (nz < 2) errs.push(generic(`activation-scale=${nz} must be greater than 1`, k));
    }
  }

  // floats
  const pw = get(anns, 'panicWindowPercentage');
  if (pw) {
    const f = tryFloat(pw[1]);
    if (f === undefined) errs.push(invalidValue(pw[1], pw[0]));
    else if (f < PANIC_WINDOW_PERCENTAGE_MIN || f > PANIC_WINDOW_PERCENTAGE_MAX) {
      errs.push(outOfBounds(pw[1], formatGoFloat(PANIC_WINDOW_PERCENTAGE_MIN), formatGoFloat(PANIC_WINDOW_PERCENTAGE_MAX), pw[0]));
    }
  }
  const pt = get(anns, 'panicThresholdPercentage');
  if (pt) {
    const f = tryFloat(pt[1]);
    if (f === undefined) errs.push(invalidValue(pt[1], pt[0]));
    else if (f < PANIC_THRESHOLD_PERCENTAGE_MIN || f > PANIC_THRESHOLD_PERCENTAGE_MAX) {
      errs.push(outOfBounds(pt[1], formatGoFloat(PANIC_THRESHOLD_PERCENTAGE_MIN), formatGoFloat(PANIC_THRESHOLD_PERCENTAGE_MAX), pt[0]));
    }
  }
  const tg = get(anns, 'target');
  if (tg) {
    const f = tryFloat(tg[1]);
    if (f === undefined) errs.push(invalidValue(tg[1], tg[0]));
    else if (f < TARGET_MIN) errs.push(generic(`target ${tg[1]} should be at least ${formatGoFloat(TARGET_MIN)}`, tg[0]));
  }
  const tu = get(anns, 'targetUtilizationPercentage');
  if (tu) {
    const f = tryFloat(tu[1]);
    if (f === undefined) errs.push(invalidValue(tu[1], tu[0]));
    else if (f < 1 || f > 100) errs.push(outOfBounds(tu[1], 1, 100, tu[0]));
  }
  const tbc = get(anns, 'targetBurstCapacity');
  if (tbc) {
    const f = tryFloat(tbc[1]);
    if (f === undefined || (f < 0 && f !== -1)) errs.push(invalidValue(tbc[1], tbc[0]));
  }

  // window (Knative reports it under the canonical key)
  const w = get(anns, 'window');
  if (w) {
    const d = tryDuration(w[1]);
    if (d === undefined) errs.push(invalidValue(w[1], AnnotationKeys.window));
    else if (d < WINDOW_MIN_MS || d > WINDOW_MAX_MS) {
      errs.push(outOfBounds(w[1], formatGoDuration(WINDOW_MIN_MS), formatGoDuration(WINDOW_MAX_MS), AnnotationKeys.window));
    } else if (d % 1000 !== 0) errs.push(generic('must be specified with at most second precision', AnnotationKeys.window));
  }

  // last pod retention
  const rp = get(anns, 'scaleToZeroPodRetentionPeriod');
  if (rp) {
    const d = tryDuration(rp[1]);
    if (d === undefined) errs.push(invalidValue(rp[1], rp[0]));
    else if (d < 0 || d > WINDOW_MAX_MS) errs.push(outOfBounds(rp[1], '0s', formatGoDuration(WINDOW_MAX_MS), rp[0]));
  }

  // scale-down delay
  const sd = get(anns, 'scaleDownDelay');
  if (sd) {
    const d = tryDuration(sd[1]);
    if (d === undefined) errs.push(invalidValue(sd[1], sd[0]));
    else if (d < 0 || d > WINDOW_MAX_MS) errs.push(outOfBounds(sd[1], '0s', formatGoDuration(WINDOW_MAX_MS), sd[0]));
    else if (d % 1000 !== 0) errs.push(generic('must be specified with at most second precision', sd[0]));
  }

  // metric: KPA takes concurrency|rps, HPA anything non-empty, other classes are not checked.
  const metric = get(anns, 'metric');
  if (metric) {
    const m = metric[1];
    const clsValue = cls ? cls[1] : config.podAutoscalerClass;
    const bad = (clsValue === KPA_CLASS && m !== 'concurrency' && m !== 'rps') || (clsValue === HPA_CLASS && m === '');
    if (bad) errs.push(invalidValue(m, AnnotationKeys.metric));
    else if (clsValue === HPA_CLASS && !HPA_METRICS.has(m)) {
      // Kubernetes would read a custom Pods metric; Sluice has only these sources.
      errs.push({
        ...generic(`metric "${m}" has no source in Sluice; use one of cpu, memory, concurrency, rps`, AnnotationKeys.metric),
        level: 'warning',
      });
    }
  }

  // aggregation algorithm (validated only for an explicit KPA class, like Knative)
  if (cls && cls[1] === KPA_CLASS) {
    const alg = get(anns, 'metricAggregationAlgorithm');
    if (alg && alg[1] !== '' && !['linear', 'weighted-exponential', 'weightedExponential'].includes(alg[1])) {
      errs.push(invalidValue(alg[1], alg[0]));
    }
  }

  // initial scale
  const is = get(anns, 'initialScale');
  if (is) {
    const [k, v] = is;
    let n: number | undefined;
    try {
      n = parseGoInt(v, 64, 'strconv.Atoi');
    } catch {
      errs.push(invalidValue(v, k));
    }
    if (n !== undefined) {
      if (n < 0) errs.push(invalidValue(v, `${k} must be greater than 0`));
      else if (!config.allowZeroInitialScale && n === 0) errs.push(invalidValue(v, `${k}=0 not allowed by cluster`));
    }
  }

  // ---- Sluice annotations ----
  const sched = anns[AnnotationKeys.scheduledCapacity];
  if (sched !== undefined) {
    const r = parseSchedule(sched);
    if (!r.ok) for (const e of r.errors) errs.push(generic(e, AnnotationKeys.scheduledCapacity));
  }
  const effectiveClass = cls ? cls[1] : config.podAutoscalerClass;
  const byClass = pluginNamedByClass(effectiveClass);
  if (byClass !== undefined && opts.knownPlugins) {
    const known = [...opts.knownPlugins];
    if (!known.includes(byClass)) {
      errs.push(
        invalidValue(
          byClass,
          cls ? cls[0] : AnnotationKeys.class,
          known.length
            ? `not a Sluice class nor a loaded scaling plugin; loaded plugins: ${known.sort().join(', ')}`
            : 'not a Sluice class, and no scaling plugins are loaded',
        ),
      );
    }
  }
  const plugin = anns[AnnotationKeys.scalingPlugin];
  if (effectiveClass === PLUGIN_CLASS) {
    if (plugin === undefined || plugin.trim() === '') {
      errs.push(generic(`class ${PLUGIN_CLASS} needs the name of a scaling plugin`, AnnotationKeys.scalingPlugin));
    } else if (opts.knownPlugins) {
      const known = [...opts.knownPlugins];
      if (!known.includes(plugin.trim())) {
        errs.push(
          invalidValue(
            plugin,
            AnnotationKeys.scalingPlugin,
            known.length ? `loaded plugins: ${known.sort().join(', ')}` : 'no scaling plugins are loaded',
          ),
        );
      }
    }
  }
  const idle = anns[AnnotationKeys.eventGatewayIdleTimeout];
  if (idle !== undefined) {
    const d = tryDuration(idle);
    if (d === undefined) errs.push(invalidValue(idle, AnnotationKeys.eventGatewayIdleTimeout));
    else if (d < 0 || d > WINDOW_MAX_MS) {
      errs.push(outOfBounds(idle, '0s', formatGoDuration(WINDOW_MAX_MS), AnnotationKeys.eventGatewayIdleTimeout));
    }
  }
  return errs;
}

const HPA_METRICS = new Set(['cpu', 'memory', 'concurrency', 'rps']);

// ---------------------------------------------------------------------------------------------
// Resolution.

export type ScalingMetric = 'concurrency' | 'rps' | 'cpu' | 'memory' | 'custom';

export interface ScalingSpec {
  class: string;
  /** The metric the class scales on ('custom' for plugin/event-gateway classes). */
  metric: ScalingMetric;
  /** Raw metric annotation value (HPA may carry a name Sluice does not source). */
  metricName: string;
  /**
   * Per-instance value the autoscaler aims for: KPA = total x utilization (>= 0.01);
   * HPA cpu = utilization percent; HPA memory = MiB; HPA concurrency/rps = average per instance.
   */
  target: number;
  /** KPA: the most one instance may carry (the target before utilization). */
  total: number;
  /** KPA utilization as a fraction. */
  utilization: number;
  /** Whether the target came from the annotation (HPA: no target means Kubernetes' 80% CPU). */
  targetFromAnnotation: boolean;
  stableWindowMs: number;
  panicWindowMs: number;
  /** Panic threshold as a fraction (200% -> 2). */
  panicThreshold: number;
  maxScaleUpRate: number;
  maxScaleDownRate: number;
  /** Lower bound when routable; 0 means scale to zero allowed (KPA). */
  minScale: number;
  /** 0 = unlimited. */
  maxScale: number;
  initialScale: number;
  /** Minimum non-zero scale (1 = no effect). */
  activationScale: number;
  scaleDownDelayMs: number;
  scaleToZeroGracePeriodMs: number;
  scaleToZeroPodRetentionPeriodMs: number;
  enableScaleToZero: boolean;
  targetBurstCapacity: number;
  activatorCapacity: number;
  aggregation: 'linear' | 'weighted-exponential';
  tickIntervalMs: number;
  hpa: { scaleDownStabilizationMs: number; scaleUpStabilizationMs: number; tolerance: number };
  eventGatewayIdleTimeoutMs: number;
  pluginName?: string;
  pluginTimeoutMs: number;
  schedule: ScheduledPeriod[];
  /** Things worth telling the user (e.g. defaults that apply); never errors. */
  notes: string[];
}

function annFloat(anns: Anns, name: keyof typeof PRIORITY): number | undefined {
  const kv = get(anns, name);
  return kv ? tryFloat(kv[1]) : undefined;
}

function annInt(anns: Anns, name: keyof typeof PRIORITY): number | undefined {
  const kv = get(anns, name);
  if (!kv) return undefined;
  try {
    return parseGoInt(kv[1], 32);
  } catch {
    return undefined;
  }
}

function annDuration(anns: Anns, name: keyof typeof PRIORITY): number | undefined {
  const kv = get(anns, name);
  return kv ? tryDuration(kv[1]) : undefined;
}

/**
 * Everything a decider needs for one revision. Annotations are assumed validated; invalid ones
 * fall back to the cluster default, as Knative's accessors do.
 * containerConcurrency: the revision's spec.containerConcurrency (0 = unlimited).
 */
export function resolveScalingSpec(
  annotations: Record<string, string> | undefined,
  containerConcurrency: number | undefined,
  config: AutoscalerConfig,
): ScalingSpec {
  const anns = annotations ?? {};
  const notes: string[] = [];
  const declaredClass = get(anns, 'class')?.[1] ?? config.podAutoscalerClass;
  const pluginByClass = pluginNamedByClass(declaredClass);
  const cls = pluginByClass !== undefined ? PLUGIN_CLASS : declaredClass;
  const rawMetric = get(anns, 'metric')?.[1];
  const metricName = rawMetric ?? (cls === KPA_CLASS ? 'concurrency' : cls === HPA_CLASS ? 'cpu' : '');
  const cc = containerConcurrency ?? 0;

  let metric: ScalingMetric;
  let target: number;
  let total: number;
  let utilization: number;
  const annTarget = annFloat(anns, 'target');
  const annUtil = annFloat(anns, 'targetUtilizationPercentage');

  if (cls === HPA_CLASS) {
    utilization = 1;
    if (metricName === 'memory' && annTarget !== undefined) {
      metric = 'memory';
      target = Math.trunc(annTarget); // Knative builds the HPA with int64(target) MiB
    } else if ((metricName === 'concurrency' || metricName === 'rps') && annTarget !== undefined) {
      metric = metricName;
      target = Math.trunc(annTarget); // a Pods metric with an integer AverageValue
    } else if (annTarget !== undefined && metricName === 'cpu') {
      metric = 'cpu';
      target = Math.ceil(annTarget); // AverageUtilization = ceil(target)
    } else {
      // Knative builds an HPA without metrics when there is no target; Kubernetes then scales
      // on 80% average CPU utilization.
      metric = 'cpu';
      target = 80;
      if (metricName !== 'cpu' || annTarget === undefined) {
        notes.push(`no ${AnnotationKeys.target} for metric "${metricName}": the Kubernetes HPA default (80% CPU utilization) applies`);
      }
    }
    total = target;
  } else if (cls === KPA_CLASS) {
    metric = metricName === 'rps' ? 'rps' : 'concurrency';
    if (metric === 'rps') {
      total = config.rpsTargetDefault;
      utilization = config.targetUtilization;
    } else {
      total = cc === 0 ? config.containerConcurrencyTargetDefault : cc;
      utilization = config.containerConcurrencyTargetFraction;
    }
    if (annTarget !== undefined) {
      // The soft target never exceeds the hard limit the container can take.
      total = metric === 'concurrency' && cc !== 0 ? Math.min(annTarget, cc) : annTarget;
    }
    if (annUtil !== undefined) utilization = annUtil / 100;
    target = Math.max(TARGET_MIN, total * utilization);
  } else {
    metric = 'custom';
    total = annTarget ?? 0;
    utilization = 1;
    target = annTarget ?? 0;
  }

  const stableWindowMs = annDuration(anns, 'window') ?? config.stableWindowMs;
  const pwp = annFloat(anns, 'panicWindowPercentage') ?? config.panicWindowPercentage;
  // Knative rounds the panic window to whole seconds and keeps it at least one bucket.
  const panicWindowMs = Math.max(BUCKET_MS, Math.round((stableWindowMs * pwp) / 100 / 1000) * 1000);
  const ptp = annFloat(anns, 'panicThresholdPercentage') ?? config.panicThresholdPercentage;

  let minScale = annInt(anns, 'minScale') ?? config.minScale;
  const maxScale = annInt(anns, 'maxScale') ?? config.maxScale;
  // Knative: min-scale is effectively 0 only for KPA with scale to zero enabled, else 1. Sluice's
  // own on-demand classes (event gateway, plugin) may rest at zero too.
  const zeroAllowed = (cls === KPA_CLASS || cls === EVENT_GATEWAY_CLASS || cls === PLUGIN_CLASS) && config.enableScaleToZero;
  if (!zeroAllowed && minScale < 1) minScale = 1;

  let initialScale = config.initialScale;
  const annInitial = annInt(anns, 'initialScale');
  if (annInitial !== undefined && !(annInitial === 0 && !config.allowZeroInitialScale) && annInitial >= 0) {
    initialScale = annInitial;
  }
  const activationScale = Math.max(1, annInt(anns, 'activationScale') ?? config.activationScale);
  const alg = get(anns, 'metricAggregationAlgorithm')?.[1];
  const schedText = anns[AnnotationKeys.scheduledCapacity];
  const sched = schedText !== undefined ? parseSchedule(schedText) : undefined;
  const idle = anns[AnnotationKeys.eventGatewayIdleTimeout];
  const idleMs = idle !== undefined ? tryDuration(idle) : undefined;

  return {
    class: cls,
    metric,
    metricName,
    target,
    total,
    utilization,
    targetFromAnnotation: annTarget !== undefined,
    stableWindowMs,
    panicWindowMs,
    panicThreshold: ptp / 100,
    maxScaleUpRate: config.maxScaleUpRate,
    maxScaleDownRate: config.maxScaleDownRate,
    minScale,
    maxScale,
    initialScale,
    activationScale,
    scaleDownDelayMs: annDuration(anns, 'scaleDownDelay') ?? config.scaleDownDelayMs,
    scaleToZeroGracePeriodMs: config.scaleToZeroGracePeriodMs,
    scaleToZeroPodRetentionPeriodMs: annDuration(anns, 'scaleToZeroPodRetentionPeriod') ?? config.scaleToZeroPodRetentionPeriodMs,
    enableScaleToZero: config.enableScaleToZero,
    targetBurstCapacity: annFloat(anns, 'targetBurstCapacity') ?? config.targetBurstCapacity,
    activatorCapacity: config.activatorCapacity,
    aggregation: alg === 'weighted-exponential' || alg === 'weightedExponential' ? 'weighted-exponential' : 'linear',
    tickIntervalMs: config.tickIntervalMs,
    hpa: {
      // Knative maps the window annotation onto both HPA stabilization windows.
      scaleDownStabilizationMs: annDuration(anns, 'window') ?? config.hpaScaleDownStabilizationWindowMs,
      scaleUpStabilizationMs: annDuration(anns, 'window') ?? config.hpaScaleUpStabilizationWindowMs,
      tolerance: config.hpaTolerance,
    },
    eventGatewayIdleTimeoutMs: idleMs !== undefined && idleMs >= 0 ? idleMs : config.eventGatewayIdleTimeoutMs,
    pluginName: pluginByClass ?? (anns[AnnotationKeys.scalingPlugin]?.trim() || undefined),
    pluginTimeoutMs: config.pluginTimeoutMs,
    schedule: sched?.ok ? sched.periods : [],
    notes,
  };
}

/**
 * Replicas a brand-new revision starts with: Knative creates the Deployment at initial scale and
 * the first autoscaler pass lifts it to min-scale (and caps it at max-scale) straight away.
 */
export function initialReplicas(spec: ScalingSpec): number {
  let n = Math.max(spec.initialScale, spec.minScale);
  if (spec.maxScale > 0) n = Math.min(n, spec.maxScale);
  return n;
}
