// The HPA class: Kubernetes' HorizontalPodAutoscaler rule, as Knative configures it
// (pkg/reconciler/autoscaling/hpa/resources/hpa.go), decided in-process.
//
//   ratio    = metric / target                       (metric = average per measured instance)
//   proposal = current                 if |ratio - 1| <= tolerance (default 0.1)
//            = ceil(ratio x measured)  otherwise
//   stabilized: never above the highest proposal of the scale-down window (default 300 s) and
//   never below the lowest proposal of the scale-up window (default 0 s = none), compared with the
//   current count. Knative's window annotation sets both windows.
//   Scale-up rate: Kubernetes' default policies — per 15 s, at most double or +4, whichever is more.
//   Bounds: [max(1, min-scale), max-scale or unlimited]. The HPA class never scales to zero.
//
// Metrics: cpu = percent of the instance's CPU request (Sluice: of one core when none is set),
// memory = MiB of resident memory, concurrency/rps = per-instance averages from the data plane.

import type { Container } from '../api/types.js';
import type { ResourceUsage } from '../runtime/runtime.js';
import type { ScalingSpec } from './annotations.js';
import { clampScale } from './schedule.js';

export type HpaSpec = Pick<ScalingSpec, 'target' | 'minScale' | 'maxScale' | 'hpa'>;

export interface HpaState {
  /** Raw proposals, newest last, for the stabilization windows. */
  recommendations: Array<{ time: number; value: number }>;
  /** Scale changes this decider made, for the rate policies. */
  scaleEvents: Array<{ time: number; delta: number }>;
}

/**
 * Fresh state. Kubernetes starts with no history, so its first scale down is immediate; pass
 * `current` when taking over instances that already run (a control-plane restart) to treat them
 * as a recommendation made now, so a scale down waits for the stabilization window.
 */
export function newHpaState(now?: number, current?: number): HpaState {
  const recommendations = now !== undefined && current !== undefined && current > 0 ? [{ time: now, value: current }] : [];
  return { recommendations, scaleEvents: [] };
}

export interface HpaInput {
  spec: HpaSpec;
  /** Instances currently asked of the runtime. */
  current: number;
  /** Average metric value per measured instance; null when not available. */
  metric: number | null;
  /** How many instances the average covers (default: current). */
  measured?: number;
}

export interface HpaDecision {
  desired: number;
  state: HpaState;
  details: { ratio?: number; proposal?: number; stabilized?: number; scaleUpLimit?: number; reason: string };
}

/** Kubernetes' default scale-up policies (HPAScalingRules defaults). */
export const SCALE_UP_POLICY = { periodMs: 15_000, percent: 100, pods: 4 };

const INT32_MAX = 2147483647;

export function decideHpa(prev: HpaState, input: HpaInput, now: number): HpaDecision {
  const { spec } = input;
  const min = Math.max(1, spec.minScale);
  const max = spec.maxScale > 0 ? spec.maxScale : INT32_MAX;
  const current = Math.max(0, input.current);
  const keepWindow = Math.max(spec.hpa.scaleDownStabilizationMs, spec.hpa.scaleUpStabilizationMs);
  const state: HpaState = {
    recommendations: prev.recommendations.filter((r) => r.time > now - keepWindow),
    scaleEvents: prev.scaleEvents.filter((e) => e.time > now - SCALE_UP_POLICY.periodMs),
  };
  const finish = (desired: number, details: HpaDecision['details']): HpaDecision => {
    if (desired !== current) state.scaleEvents.push({ time: now, delta: desired - current });
    return { desired, state, details };
  };

  // Out-of-bounds counts are fixed before looking at metrics, as Kubernetes does.
  if (current === 0) return finish(min, { reason: 'no instances: the HPA class keeps at least one' });
  if (current > max) return finish(max, { reason: 'above max-scale' });
  if (current < min) return finish(min, { reason: 'below min-scale' });
  if (input.metric === null || !Number.isFinite(input.metric) || !(spec.target > 0)) {
    return finish(current, { reason: spec.target > 0 ? 'metric unavailable: keeping the current scale' : 'no usable target' });
  }

  const measured = Math.max(1, input.measured ?? current);
  const ratio = input.metric / spec.target;
  const proposal = Math.abs(ratio - 1) <= spec.hpa.tolerance ? current : Math.ceil(ratio * measured);

  let up = proposal;
  let down = proposal;
  for (const r of state.recommendations) {
    if (r.time > now - spec.hpa.scaleUpStabilizationMs) up = Math.min(up, r.value);
    if (r.time > now - spec.hpa.scaleDownStabilizationMs) down = Math.max(down, r.value);
  }
  state.recommendations.push({ time: now, value: proposal });
  let stabilized = current;
  if (stabilized < up) stabilized = up;
  if (stabilized > down) stabilized = down;

  let desired = stabilized;
  let scaleUpLimit: number | undefined;
  let reason = desired === current ? (proposal === current ? 'within tolerance' : 'stabilized') : 'metric';
  if (desired > current) {
    // Count from where the current period started, so repeated ticks cannot compound.
    let added = 0;
    let deleted = 0;
    for (const e of state.scaleEvents) {
      if (e.delta > 0) added += e.delta;
      else deleted -= e.delta;
    }
    const start = current - added + deleted;
    scaleUpLimit = Math.max(start + SCALE_UP_POLICY.pods, Math.ceil(start * (1 + SCALE_UP_POLICY.percent / 100)), current);
    if (desired > Math.min(max, scaleUpLimit)) {
      desired = Math.min(max, scaleUpLimit);
      reason = desired === max ? 'capped at max-scale' : 'scale-up rate limit';
    }
  }
  desired = clampScale(desired, min, max);
  return finish(desired, { ratio, proposal, stabilized, scaleUpLimit, reason });
}

// ---------------------------------------------------------------------------------------------
// Metric helpers.

/** Kubernetes CPU quantity to cores: "500m" -> 0.5, "2" -> 2, "1.5" -> 1.5. Undefined if unparsable. */
export function parseCpuQuantity(q: string | number | undefined): number | undefined {
  if (typeof q === 'number') return q > 0 && Number.isFinite(q) ? q : undefined;
  if (typeof q !== 'string') return undefined;
  const m = /^\s*(\d+(?:\.\d*)?|\.\d+)(?:e([+-]?\d+))?(n|u|m|k|M|G)?\s*$/.exec(q);
  if (!m) return undefined;
  const scale: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, k: 1e3, M: 1e6, G: 1e9 };
  const v = Number(m[1]) * Math.pow(10, m[2] ? Number(m[2]) : 0) * (m[3] ? scale[m[3]] : 1);
  return v > 0 && Number.isFinite(v) ? v : undefined;
}

/**
 * The CPU (cores) utilization is measured against: the container's request, else its limit (a
 * Kubernetes request defaults to the limit), else — Sluice's rule — one core.
 */
export function cpuRequestCores(container?: Pick<Container, 'resources'>): number {
  return parseCpuQuantity(container?.resources?.requests?.cpu) ?? parseCpuQuantity(container?.resources?.limits?.cpu) ?? 1;
}

/** Utilization percent from two cumulative CPU readings `elapsedMs` apart. */
export function cpuUtilizationPercent(prevCpuSeconds: number, curCpuSeconds: number, elapsedMs: number, requestCores: number): number {
  if (!(elapsedMs > 0) || !(requestCores > 0)) return 0;
  const used = Math.max(0, curCpuSeconds - prevCpuSeconds) / (elapsedMs / 1000);
  return (used / requestCores) * 100;
}

export interface AverageMetric {
  value: number;
  measured: number;
}

/**
 * Average CPU utilization over the instances present in both readings (new instances have no
 * rate yet and are left out, as Kubernetes leaves out pods without metrics).
 */
export function averageCpuUtilization(
  prev: readonly ResourceUsage[],
  cur: readonly ResourceUsage[],
  elapsedMs: number,
  requestCores: number,
): AverageMetric | null {
  const before = new Map(prev.map((u) => [u.id, u]));
  let sum = 0;
  let n = 0;
  for (const u of cur) {
    const p = before.get(u.id);
    if (!p) continue;
    sum += cpuUtilizationPercent(p.cpuSeconds, u.cpuSeconds, elapsedMs, requestCores);
    n++;
  }
  return n ? { value: sum / n, measured: n } : null;
}

export const MIB = 1024 * 1024;

/** Average resident memory in MiB. */
export function averageMemoryMiB(cur: readonly ResourceUsage[]): AverageMetric | null {
  if (!cur.length) return null;
  return { value: cur.reduce((s, u) => s + u.rssBytes, 0) / cur.length / MIB, measured: cur.length };
}
