// The canary state machine (pure): from the policy, the last status and what the controller
// observed this tick, the next status and the effects to carry out. Time is an argument.
//
//   Initialized --new revision--> Waiting --confirmed--> Progressing (step 0..n-1) --all passed--> Succeeded
//                                      \                       |  failed checks >= threshold,
//                                       \                      |  rollback webhook, abort
//                                        `---------------------`--> Failed (traffic back on stable)
//   A newer revision during Waiting/Progressing restarts the analysis with it (as Flagger does);
//   pause holds everything and resume restarts the current step's window.

import type { TrafficTarget } from '../api/types.js';
import type { Verdict } from './analysis.js';
import { CANARY_TAG, type Phase, type ResolvedPolicy, type RolloutStatus } from './spec.js';

export interface Observation {
  nowMs: number;
  /** The Service's latest ready revision. */
  latestReady?: string;
  /** The revision serving the most traffic now (the stable one when the policy first sees the Service). */
  serving?: string;
  /** The canary has at least one ready instance. */
  canaryReady: boolean;
  /** The current step's window, judged. */
  verdict?: Verdict;
  /** Every confirm-rollout webhook answered 2xx (true when there are none). */
  confirmed: boolean;
  /** A rollback webhook answered 2xx. */
  rollbackRequested: boolean;
  action?: 'promote' | 'abort';
}

export interface Effects {
  /** Start a new analysis window for canary and stable. */
  resetWindow?: boolean;
  /** Send one request to the canary's tag URL so a canary at zero instances starts. */
  warmUp?: boolean;
  /** Send this many synthetic requests to the canary's tag URL. */
  synthetic?: number;
  /** Run pre-step webhooks before applying this status (it moves the canary to a higher step). */
  preStep?: boolean;
  /** The action annotation was acted on and can be removed. */
  clearAction?: boolean;
  /** A one-line account of what changed, for logs and the status message. */
  event?: string;
}

export interface Decision {
  status: RolloutStatus;
  effects: Effects;
}

const iso = (ms: number) => new Date(ms).toISOString();

export function decide(policy: ResolvedPolicy, prev: RolloutStatus, obs: Observation): Decision {
  const now = obs.nowMs;
  const st: RolloutStatus = { ...prev };
  const effects: Effects = {};
  const to = (phase: Phase, message: string): Decision => {
    st.phase = phase;
    st.message = message;
    effects.event ??= message;
    return { status: withConditions(st, prev, now), effects };
  };

  if (!st.stableRevision) {
    const stable = obs.serving ?? obs.latestReady;
    if (!stable)
      return {
        status: withConditions({ ...st, phase: 'Initialized', message: 'Waiting for the Service to have a ready revision.' }, prev, now),
        effects,
      };
    st.stableRevision = stable;
    st.canaryWeight = 0;
    st.step = -1;
    return to('Initialized', `Stable revision is ${stable}; new revisions will be analysed before they get traffic.`);
  }

  // A new revision (first, or newer than the one under analysis): start over with it.
  const latest = obs.latestReady;
  if (latest && latest !== st.stableRevision && latest !== st.canaryRevision) {
    const restarting = st.phase === 'Progressing' || st.phase === 'Waiting' || st.phase === 'Paused';
    st.canaryRevision = latest;
    st.canaryWeight = 0;
    st.step = -1;
    st.failedChecks = 0;
    delete st.lastAnalysis;
    st.stepStartedAt = iso(now);
    effects.resetWindow = true;
    return to(
      'Waiting',
      restarting
        ? `New revision ${latest} arrived during the analysis: restarting it with ${latest}.`
        : `New revision ${latest} detected; waiting for confirmation to start the analysis.`,
    );
  }

  const active = st.phase === 'Waiting' || st.phase === 'Progressing' || st.phase === 'Paused';
  if (obs.action === 'abort' && active) {
    effects.clearAction = true;
    return rollback(st, 'Aborted by the user');
  }
  if (obs.action === 'promote' && active && st.canaryRevision) {
    effects.clearAction = true;
    return promote(st, 'Promoted by the user');
  }
  if (obs.action) effects.clearAction = true;
  if (!active) return { status: withConditions(st, prev, now), effects };

  if (policy.paused) {
    if (st.phase !== 'Paused') return to('Paused', `Paused at ${st.canaryWeight ?? 0}% on ${st.canaryRevision}.`);
    return { status: withConditions(st, prev, now), effects };
  }
  if (st.phase === 'Paused') {
    // Resume: the current step is judged afresh from now.
    st.stepStartedAt = iso(now);
    effects.resetWindow = true;
    return to((st.step ?? -1) < 0 ? 'Waiting' : 'Progressing', `Resumed at ${st.canaryWeight ?? 0}% on ${st.canaryRevision}.`);
  }

  if (obs.rollbackRequested) return rollback(st, 'A rollback webhook asked for a rollback');
  if ((st.failedChecks ?? 0) >= policy.failureThreshold)
    return rollback(st, `${st.failedChecks} failed check(s): ${st.message ?? ''}`.trim());

  if (st.phase === 'Waiting') {
    if (!obs.confirmed)
      return {
        status: withConditions(
          { ...st, message: `Waiting for confirm-rollout webhooks before sending traffic to ${st.canaryRevision}.` },
          prev,
          now,
        ),
        effects,
      };
    return enterStep(st, 0, `Analysis of ${st.canaryRevision} started at ${policy.steps[0]}%.`);
  }

  // Progressing.
  if (!obs.canaryReady) {
    // Not judged while it starts: its cold start is not its health.
    st.stepStartedAt = iso(now);
    effects.resetWindow = true;
    effects.warmUp = true;
    return {
      status: withConditions({ ...st, message: `Canary ${st.canaryRevision} has no ready instance yet; starting it.` }, prev, now),
      effects,
    };
  }
  const started = Date.parse(st.stepStartedAt ?? iso(now));
  const elapsed = now - started;
  if (elapsed < policy.intervalMs || !obs.verdict) return { status: withConditions(st, prev, now), effects };

  const v = obs.verdict;
  st.lastAnalysis = { at: iso(now), canary: v.canary, ...(v.stable ? { stable: v.stable } : {}), verdict: v.verdict };
  if (v.verdict === 'insufficient') {
    const few = `${v.canary.requests} of ${policy.minRequests} requests in the step`;
    if (policy.tooFewRequests === 'synthetic') {
      effects.synthetic = Math.max(1, policy.minRequests - v.canary.requests);
      return {
        status: withConditions({ ...st, message: `${few}: sending ${effects.synthetic} synthetic requests to the canary.` }, prev, now),
        effects,
      };
    }
    if (policy.tooFewRequests === 'wait' && elapsed < policy.intervalMs + policy.maxWaitMs)
      return { status: withConditions({ ...st, message: `${few}: waiting for more traffic.` }, prev, now), effects };
    return failedCheck(st, `${few}${policy.tooFewRequests === 'wait' ? ` after waiting ${Math.round(policy.maxWaitMs / 1000)}s` : ''}`);
  }
  if (v.verdict === 'fail') return failedCheck(st, v.failures.join('; '));

  const next = (st.step ?? 0) + 1;
  if (next >= policy.steps.length) return promote(st, `All ${policy.steps.length} steps passed`);
  effects.preStep = true;
  return enterStep(st, next, `Step ${next + 1}/${policy.steps.length}: ${policy.steps[next]}% to ${st.canaryRevision}.`);

  function enterStep(s: RolloutStatus, step: number, message: string): Decision {
    s.step = step;
    s.canaryWeight = policy.steps[step];
    s.stepStartedAt = iso(now);
    effects.resetWindow = true;
    return to('Progressing', message);
  }

  function failedCheck(s: RolloutStatus, why: string): Decision {
    s.failedChecks = (s.failedChecks ?? 0) + 1;
    s.stepStartedAt = iso(now);
    effects.resetWindow = true;
    if (s.failedChecks >= policy.failureThreshold) return rollback(s, `Check failed: ${why}`);
    return to('Progressing', `Check failed (${s.failedChecks}/${policy.failureThreshold}): ${why}`);
  }

  function rollback(s: RolloutStatus, why: string): Decision {
    s.canaryWeight = 0;
    return to('Failed', `Rolled back to ${s.stableRevision}: ${why}.`);
  }

  function promote(s: RolloutStatus, why: string): Decision {
    const from = s.stableRevision;
    s.stableRevision = s.canaryRevision;
    s.canaryWeight = 0;
    s.step = -1;
    return to('Succeeded', `${why}: ${s.canaryRevision} promoted to 100% (was ${from}).`);
  }
}

/** The precondition Ready: True once done, False after a rollback, Unknown while analysing. */
function withConditions(st: RolloutStatus, prev: RolloutStatus, now: number): RolloutStatus {
  const phase = st.phase ?? 'Initialized';
  const status = phase === 'Succeeded' || phase === 'Initialized' ? 'True' : phase === 'Failed' ? 'False' : 'Unknown';
  const old = prev.conditions?.find((c) => c.type === 'Ready');
  const ready = {
    type: 'Ready',
    status,
    reason: phase,
    ...(st.message ? { message: st.message } : {}),
    lastTransitionTime: old && old.status === status ? old.lastTransitionTime : iso(now),
  } as const;
  return { ...st, conditions: [ready] };
}

/** The Service traffic the status asks for: stable plus the canary at its weight, under the canary tag. */
export function trafficFor(st: RolloutStatus): TrafficTarget[] | undefined {
  if (!st.stableRevision) return undefined;
  const w = st.phase === 'Waiting' || st.phase === 'Progressing' || st.phase === 'Paused' ? (st.canaryWeight ?? 0) : 0;
  const canary = st.canaryRevision && st.canaryRevision !== st.stableRevision ? st.canaryRevision : undefined;
  const out: TrafficTarget[] = [{ revisionName: st.stableRevision, percent: 100 - (canary ? w : 0) }];
  if (canary) out.push({ tag: CANARY_TAG, revisionName: canary, percent: w });
  // New revisions stay reachable for checks at latest-<service> without any share of traffic.
  out.push({ tag: 'latest', latestRevision: true, percent: 0 });
  return out;
}

/** Failed pre-step webhooks: the step is not taken and the failure counts. */
export function preStepFailed(policy: ResolvedPolicy, prev: RolloutStatus, nowMs: number, why: string): RolloutStatus {
  const st: RolloutStatus = { ...prev, failedChecks: (prev.failedChecks ?? 0) + 1, stepStartedAt: new Date(nowMs).toISOString() };
  st.message = `Pre-step webhook failed (${st.failedChecks}/${policy.failureThreshold}): ${why}`;
  return withConditions(st, prev, nowMs);
}
