// Knative Pod Autoscaler decision, as a pure function of (state, input, now).
//
// One call = one Knative tick: the autoscaler step (pkg/autoscaler/scaling/autoscaler.go Scale)
// followed by the scaler step (pkg/reconciler/autoscaling/kpa/scaler.go scale +
// handleScaleToZero) and the PodAutoscaler's Active condition (kpa.go computeActiveCondition),
// which is what times scale-to-zero.
//
// Autoscaler step, with target = per-instance target x utilization and readyCount = max(1, ready):
//   desiredStable = ceil(observedStable / target), desiredPanic = ceil(observedPanic / target)
//   both kept within [floor(readyCount / max-scale-down-rate), ceil(max-scale-up-rate x readyCount)]
//   (no lower bound when the revision is not reachable), raised to activation-scale when > 0.
//   Panic starts (or is extended) whenever desiredPanic / readyCount >= panic threshold; it ends
//   once a full stable window has passed since it was last over the threshold. While panicking the
//   recommendation is max(stable, panic) and never goes below the highest panic recommendation.
//   With scale-down-delay, the recommendation is the maximum over the last delay window.
// Scaler step: min/max bounds (min is ignored when unreachable, and lifted to initial-scale until
//   the revision first reached it); a recommendation of 0 only becomes 0 instances after the
//   revision was Active for a stable window (it is scaled to 1 meanwhile), was then marked
//   Inactive, and stayed Inactive for max(grace period, pod retention) — or, when the gateway has
//   already been buffering requests for the revision for the grace period, for the retention alone.

import type { ScalingSpec } from './annotations.js';
import { clampScale } from './schedule.js';
import type { ObservedValues } from './metrics.js';

export type KpaSpec = Pick<
  ScalingSpec,
  | 'target'
  | 'total'
  | 'panicThreshold'
  | 'stableWindowMs'
  | 'maxScaleUpRate'
  | 'maxScaleDownRate'
  | 'minScale'
  | 'maxScale'
  | 'initialScale'
  | 'activationScale'
  | 'scaleDownDelayMs'
  | 'scaleToZeroGracePeriodMs'
  | 'scaleToZeroPodRetentionPeriodMs'
  | 'enableScaleToZero'
  | 'targetBurstCapacity'
  | 'tickIntervalMs'
>;

/** The PodAutoscaler "Active" condition: Unknown = activating, True = active, False = inactive. */
export type ActiveStatus = 'activating' | 'active' | 'inactive';

export interface KpaState {
  /** Last time the panic threshold was crossed; null when not panicking. */
  panicTime: number | null;
  /** Highest recommendation while panicking. */
  maxPanicPods: number;
  /** Recommendations of the last scale-down-delay window, by tick bucket. */
  delayWindow: Array<{ bucket: number; value: number }>;
  status: ActiveStatus;
  /** When `status` last changed (the condition's lastTransitionTime). */
  statusSince: number;
  /** The revision has reached its initial scale once (ScaleTargetInitialized). */
  initialized: boolean;
  /** Last valid recommendation of the autoscaler step; -1 before the first one. */
  recommendation: number;
}

/**
 * State for a revision the autoscaler starts tracking. A new revision passes ready = 0. When the
 * control plane restarts with instances already running, pass their number: like Knative, the
 * autoscaler then starts in panic mode so that it does not scale down on an empty history.
 */
export function newKpaState(now: number, ready = 0): KpaState {
  return {
    panicTime: ready > 1 ? now : null,
    maxPanicPods: ready,
    delayWindow: [],
    status: ready > 0 ? 'active' : 'activating',
    statusSince: now,
    initialized: ready > 0,
    recommendation: -1,
  };
}

export interface KpaInput {
  spec: KpaSpec;
  /** Revision-wide stable/panic averages of the scaling metric; null = no data yet. */
  observed: ObservedValues | null;
  /** Ready instances. */
  ready: number;
  /** Instances currently asked of the runtime (the value returned last time). */
  current: number;
  /** Whether any route sends traffic to the revision (Knative "Reachable"); default true. */
  reachable?: boolean;
  /**
   * Since when the gateway has been holding this revision's requests itself (Knative: the SKS in
   * proxy mode). When set and older than the grace period, scale to zero does not wait for it.
   */
  proxySince?: number;
  /** How long a revision may stay activating before giving up (Knative: progress deadline + 30 s). */
  activationTimeoutMs?: number;
}

export interface KpaDetails {
  observedStable?: number;
  observedPanic?: number;
  target: number;
  desiredStable?: number;
  desiredPanic?: number;
  maxScaleUp?: number;
  maxScaleDown?: number;
  /** Recommendation of the autoscaler step (before bounds and scale-to-zero). */
  recommendation: number;
  /** Knative's excess burst capacity: negative means the gateway should stay in the path. */
  excessBurstCapacity?: number;
  status: ActiveStatus;
  reason: string;
}

export interface KpaDecision {
  desired: number;
  state: KpaState;
  mode: 'stable' | 'panic';
  details: KpaDetails;
}

/** Knative's default progress deadline (600 s) plus its 30 s activation buffer. */
export const DEFAULT_ACTIVATION_TIMEOUT_MS = 630_000;

export function decideKpa(prev: KpaState, input: KpaInput, now: number): KpaDecision {
  const { spec, observed } = input;
  const reachable = input.reachable ?? true;
  const ready = Math.max(0, input.ready);
  const state: KpaState = { ...prev, delayWindow: prev.delayWindow.slice() };
  const details: KpaDetails = { target: spec.target, recommendation: prev.recommendation, status: prev.status, reason: '' };

  // ---- autoscaler step ----
  if (observed) {
    const readyCount = Math.max(1, ready);
    // ceil: a too-small rate must still allow growing by one instance.
    const maxScaleUp = Math.ceil(spec.maxScaleUpRate * readyCount);
    const maxScaleDown = reachable ? Math.floor(readyCount / spec.maxScaleDownRate) : 0;
    const dspc = Math.ceil(observed.stable / spec.target);
    const dppc = Math.ceil(observed.panic / spec.target);
    let stable = Math.min(Math.max(dspc, maxScaleDown), maxScaleUp);
    let panic = Math.min(Math.max(dppc, maxScaleDown), maxScaleUp);
    if (spec.activationScale > 1) {
      if (dspc > 0 && spec.activationScale > stable) stable = spec.activationScale;
      if (dppc > 0 && spec.activationScale > panic) panic = spec.activationScale;
    }

    const overThreshold = dppc / readyCount >= spec.panicThreshold;
    if (overThreshold) {
      state.panicTime = now; // enter, or extend
    } else if (state.panicTime !== null && state.panicTime + spec.stableWindowMs < now) {
      // The surge has had a whole stable window to show up in the stable average.
      state.panicTime = null;
      state.maxPanicPods = 0;
    }

    let rec = stable;
    if (state.panicTime !== null) {
      rec = Math.max(rec, panic);
      // Never scale down while panicking.
      if (rec > state.maxPanicPods) state.maxPanicPods = rec;
      else rec = state.maxPanicPods;
    }

    if (reachable && spec.scaleDownDelayMs > 0) {
      const tick = spec.tickIntervalMs > 0 ? spec.tickIntervalMs : 2000;
      const bucket = Math.floor(now / tick);
      const size = Math.ceil(spec.scaleDownDelayMs / tick);
      const w = state.delayWindow.filter((e) => bucket - e.bucket < size && e.bucket !== bucket);
      const same = state.delayWindow.find((e) => e.bucket === bucket);
      w.push({ bucket, value: same ? Math.max(same.value, rec) : rec });
      state.delayWindow = w;
      rec = Math.max(...w.map((e) => e.value));
    }

    let ebc = -1;
    if (spec.targetBurstCapacity === 0) ebc = 0;
    else if (spec.targetBurstCapacity > 0) ebc = Math.floor(ready * spec.total - spec.targetBurstCapacity - observed.panic);

    state.recommendation = rec;
    Object.assign(details, {
      observedStable: observed.stable,
      observedPanic: observed.panic,
      desiredStable: dspc,
      desiredPanic: dppc,
      maxScaleUp,
      maxScaleDown,
      recommendation: rec,
      excessBurstCapacity: ebc,
    });
  }

  // ---- scaler step ----
  let desired = state.recommendation;
  let apply = true;
  let want: number;
  let reason: string;
  if (desired < 0 && state.status !== 'activating') {
    apply = false;
    want = -1;
    reason = 'no metrics yet: keeping the current scale';
  } else {
    let min = reachable ? spec.minScale : 0;
    if (spec.initialScale > 1 && !state.initialized && reachable) min = Math.max(min, spec.initialScale);
    desired = clampScale(desired, min, spec.maxScale);
    want = desired;
    reason = observed ? 'metrics' : 'bounds';

    if (desired === 0) {
      if (!spec.enableScaleToZero) {
        desired = want = 1;
        reason = 'scale to zero is disabled';
      } else {
        const since = now - state.statusSince;
        switch (state.status) {
          case 'activating':
            if (since >= (input.activationTimeoutMs ?? DEFAULT_ACTIVATION_TIMEOUT_MS)) {
              reason = 'activation timed out';
            } else {
              apply = false;
              want = -1;
              reason = 'activating: waiting for an instance before deciding';
            }
            break;
          case 'active':
            if (since >= spec.stableWindowMs) {
              // Mark inactive now; the instance goes in a later tick, after the grace period.
              apply = false;
              want = 0;
              reason = 'no traffic for a stable window: marking inactive';
            } else {
              desired = want = 1;
              reason = 'active for less than a stable window: keeping one instance';
            }
            break;
          case 'inactive': {
            const retention = reachable ? spec.scaleToZeroPodRetentionPeriodMs : 0;
            const grace = spec.scaleToZeroGracePeriodMs;
            if (since >= Math.max(grace, retention)) {
              reason = 'scale to zero';
            } else if (retention > 0 && since < retention) {
              apply = false;
              reason = 'inactive: keeping the last instance for the pod retention period';
            } else if (input.proxySince !== undefined && now - input.proxySince >= grace) {
              reason = 'scale to zero (gateway already buffering)';
            } else {
              apply = false;
              reason = 'inactive: waiting for the scale-to-zero grace period';
            }
            want = 0;
            break;
          }
        }
      }
    }
  }

  // ---- Active condition ----
  const minB = reachable ? spec.minScale : 0;
  const minReady = state.initialized ? Math.max(minB, 1) : Math.max(minB, spec.initialScale);
  if (ready >= minReady) state.initialized = true;
  let status: ActiveStatus = state.status;
  if (want === 0 || minReady === 0) status = 'inactive';
  else if (ready < minReady) status = want > 0 || state.status !== 'inactive' ? 'activating' : 'inactive';
  else if (want > 0 || state.status !== 'inactive') status = 'active';
  if (status !== state.status) {
    state.status = status;
    state.statusSince = now;
  }

  details.status = state.status;
  details.reason = reason;
  return {
    desired: apply ? desired : input.current,
    state,
    mode: state.panicTime !== null ? 'panic' : 'stable',
    details,
  };
}

/**
 * The immediate decision when a request arrives for a revision at zero (Knative: the activator's
 * stat "pokes" the autoscaler instead of waiting for the next tick). `demand` is the concurrency
 * (or rps) the gateway is holding right now; with an empty history that is all the windows know.
 * Returns the same shape as decideKpa; when the revision is not at zero nothing changes.
 */
export function decideKpaOnDemand(prev: KpaState, input: KpaInput & { demand: number }, now: number): KpaDecision {
  if (input.current > 0 || !(input.demand > 0)) {
    return {
      desired: input.current,
      state: prev,
      mode: prev.panicTime !== null ? 'panic' : 'stable',
      details: {
        target: input.spec.target,
        recommendation: prev.recommendation,
        status: prev.status,
        reason: input.current > 0 ? 'not at zero: the regular tick decides' : 'no demand',
      },
    };
  }
  const observed: ObservedValues = {
    stable: Math.max(input.observed?.stable ?? 0, input.demand),
    panic: Math.max(input.observed?.panic ?? 0, input.demand),
  };
  return decideKpa(prev, { ...input, observed }, now);
}
