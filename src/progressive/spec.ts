// The sluice.dev/v1alpha1 Rollout resource: a canary policy for one Service (steps, interval,
// gates on the gateway's own per-revision numbers, what to do with too little traffic, webhooks).
// Types, defaults and admission checks (pure).

import { parseGoDuration } from '../autoscaler/goparse.js';
import { fe, type FieldError, invalidValue, missingField, outOfBounds } from '../api/field-error.js';

export const ROLLOUT_GROUP = 'sluice.dev';
export const ROLLOUT_RESOURCE = 'sluice.dev/rollouts';
/** `promote` or `abort`: set by `sluice rollout promote|abort`, cleared by the controller once acted on. */
export const ROLLOUT_ACTION_ANNOTATION = 'sluice.dev/rollout-action';
/** The tag the canary revision gets in the Service's traffic (its URL takes synthetic requests). */
export const CANARY_TAG = 'canary';

export type TooFewRequests = 'wait' | 'synthetic' | 'fail';
export type WebhookType = 'confirm-rollout' | 'pre-step' | 'rollback';

export interface RolloutSpec {
  /** The Service this policy drives; defaults to the Rollout's own name. */
  service?: string;
  /** Canary percents, increasing, each 1..99; after the last one the canary is promoted to 100%. */
  steps: number[];
  /** Least time spent on each step before it is judged (Go duration). */
  interval: string;
  analysis?: {
    /** Requests the canary must have answered in a step before it is judged (default 20). */
    minRequests?: number;
    /** With fewer: wait (up to maxWait, then a failed check), send synthetic requests to the canary's tag URL, or fail at once. */
    tooFewRequests?: TooFewRequests;
    maxWait?: string;
    /** Path of synthetic requests (default /). */
    syntheticPath?: string;
    successRate?: { min?: number; maxDropVsStable?: number };
    latency?: { percentile?: number; maxMs?: number; maxRatioVsStable?: number };
    /** Failed checks that trigger the rollback (default 1). */
    failureThreshold?: number;
  };
  webhooks?: { name: string; type: WebhookType; url: string; timeout?: string }[];
  /** Holds the rollout where it is (sluice rollout pause|resume). */
  paused?: boolean;
}

export type Phase = 'Initialized' | 'Waiting' | 'Progressing' | 'Paused' | 'Succeeded' | 'Failed';

export interface AnalysisNumbers {
  requests: number;
  successRate?: number;
  latencyMs?: number;
}

export interface RolloutStatus {
  observedGeneration?: number;
  phase?: Phase;
  stableRevision?: string;
  canaryRevision?: string;
  canaryWeight?: number;
  /** Index into spec.steps; -1 before the first step. */
  step?: number;
  /** ISO time the current step (or its current analysis window) started. */
  stepStartedAt?: string;
  failedChecks?: number;
  lastAnalysis?: { at: string; canary: AnalysisNumbers; stable?: AnalysisNumbers; verdict: string };
  message?: string;
  conditions?: { type: string; status: 'True' | 'False' | 'Unknown'; reason?: string; message?: string; lastTransitionTime?: string }[];
}

export interface ResolvedPolicy {
  service: string;
  steps: number[];
  intervalMs: number;
  minRequests: number;
  tooFewRequests: TooFewRequests;
  maxWaitMs: number;
  syntheticPath: string;
  successRate: { min?: number; maxDropVsStable?: number };
  latency: { percentile: number; maxMs?: number; maxRatioVsStable?: number };
  failureThreshold: number;
  webhooks: { name: string; type: WebhookType; url: string; timeoutMs: number }[];
  paused: boolean;
}

const ms = (v: string | undefined, def: number): number => {
  if (!v) return def;
  try {
    return parseGoDuration(v);
  } catch {
    return def;
  }
};

/** The spec with defaults filled in (assumes admission accepted it). */
export function resolvePolicy(name: string, spec: RolloutSpec): ResolvedPolicy {
  const a = spec.analysis ?? {};
  return {
    service: spec.service || name,
    steps: spec.steps ?? [],
    intervalMs: ms(spec.interval, 60_000),
    minRequests: a.minRequests ?? 20,
    tooFewRequests: a.tooFewRequests ?? 'wait',
    maxWaitMs: ms(a.maxWait, 300_000),
    syntheticPath: a.syntheticPath ?? '/',
    successRate: a.successRate ?? {},
    latency: { percentile: a.latency?.percentile ?? 99, maxMs: a.latency?.maxMs, maxRatioVsStable: a.latency?.maxRatioVsStable },
    failureThreshold: a.failureThreshold ?? 1,
    webhooks: (spec.webhooks ?? []).map((w) => ({ name: w.name, type: w.type, url: w.url, timeoutMs: ms(w.timeout, 10_000) })),
    paused: spec.paused === true,
  };
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const num = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function duration(v: unknown, path: string, errs: FieldError[], required: boolean): void {
  if (v === undefined) {
    if (required) errs.push(missingField(path));
    return;
  }
  try {
    if (typeof v !== 'string' || parseGoDuration(v) <= 0) throw new Error();
  } catch {
    errs.push(fe(`invalid value: ${String(v)} (want a positive duration such as 30s or 2m)`, path));
  }
}

/** Admission checks for a Rollout; paths from the object root. */
export function validateRollout(obj: { metadata?: { name?: string }; spec?: unknown }): FieldError[] {
  const errs: FieldError[] = [];
  const spec = obj.spec;
  if (!isObj(spec)) return [missingField('spec')];
  const steps = spec.steps;
  if (!Array.isArray(steps) || steps.length === 0) errs.push(fe('must list at least one canary percent, e.g. [10, 50]', 'spec.steps'));
  else
    steps.forEach((s, i) => {
      if (!Number.isInteger(s) || (s as number) < 1 || (s as number) > 99) errs.push(outOfBounds(s, 1, 99, `spec.steps[${i}]`));
      else if (i > 0 && (s as number) <= (steps[i - 1] as number))
        errs.push(fe(`steps must increase: ${String(s)} follows ${String(steps[i - 1])}`, `spec.steps[${i}]`));
    });
  duration(spec.interval, 'spec.interval', errs, true);
  if (spec.service !== undefined && (typeof spec.service !== 'string' || spec.service === ''))
    errs.push(invalidValue(spec.service, 'spec.service'));
  if (spec.paused !== undefined && typeof spec.paused !== 'boolean') errs.push(invalidValue(spec.paused, 'spec.paused'));
  const a = spec.analysis;
  if (a !== undefined) {
    if (!isObj(a)) errs.push(invalidValue('must be an object', 'spec.analysis'));
    else {
      if (a.minRequests !== undefined && (!Number.isInteger(a.minRequests) || (a.minRequests as number) < 0))
        errs.push(outOfBounds(a.minRequests, 0, 'any', 'spec.analysis.minRequests'));
      if (a.tooFewRequests !== undefined && !['wait', 'synthetic', 'fail'].includes(a.tooFewRequests as string))
        errs.push(fe(`invalid value: ${String(a.tooFewRequests)} (want wait, synthetic or fail)`, 'spec.analysis.tooFewRequests'));
      duration(a.maxWait, 'spec.analysis.maxWait', errs, false);
      if (a.syntheticPath !== undefined && (typeof a.syntheticPath !== 'string' || !a.syntheticPath.startsWith('/')))
        errs.push(fe('must be a path starting with /', 'spec.analysis.syntheticPath'));
      if (a.failureThreshold !== undefined && (!Number.isInteger(a.failureThreshold) || (a.failureThreshold as number) < 1))
        errs.push(outOfBounds(a.failureThreshold, 1, 'any', 'spec.analysis.failureThreshold'));
      const sr = a.successRate;
      if (sr !== undefined) {
        if (!isObj(sr)) errs.push(invalidValue('must be an object', 'spec.analysis.successRate'));
        else {
          if (sr.min !== undefined && (!num(sr.min) || sr.min < 0 || sr.min > 100))
            errs.push(outOfBounds(sr.min, 0, 100, 'spec.analysis.successRate.min'));
          if (sr.maxDropVsStable !== undefined && (!num(sr.maxDropVsStable) || sr.maxDropVsStable < 0 || sr.maxDropVsStable > 100))
            errs.push(outOfBounds(sr.maxDropVsStable, 0, 100, 'spec.analysis.successRate.maxDropVsStable'));
        }
      }
      const l = a.latency;
      if (l !== undefined) {
        if (!isObj(l)) errs.push(invalidValue('must be an object', 'spec.analysis.latency'));
        else {
          if (l.percentile !== undefined && (!num(l.percentile) || l.percentile <= 0 || l.percentile >= 100))
            errs.push(fe(`expected 0 < ${String(l.percentile)} < 100`, 'spec.analysis.latency.percentile'));
          if (l.maxMs !== undefined && (!num(l.maxMs) || l.maxMs <= 0))
            errs.push(fe(`expected 0 < ${String(l.maxMs)}`, 'spec.analysis.latency.maxMs'));
          if (l.maxRatioVsStable !== undefined && (!num(l.maxRatioVsStable) || l.maxRatioVsStable < 1))
            errs.push(fe(`expected 1 <= ${String(l.maxRatioVsStable)}`, 'spec.analysis.latency.maxRatioVsStable'));
        }
      }
    }
  }
  const hooks = spec.webhooks;
  if (hooks !== undefined) {
    if (!Array.isArray(hooks)) errs.push(invalidValue('must be a list', 'spec.webhooks'));
    else
      hooks.forEach((h, i) => {
        const at = `spec.webhooks[${i}]`;
        if (!isObj(h)) return errs.push(invalidValue('must be an object', at));
        if (typeof h.name !== 'string' || !h.name) errs.push(missingField(`${at}.name`));
        if (!['confirm-rollout', 'pre-step', 'rollback'].includes(h.type as string))
          errs.push(fe(`invalid value: ${String(h.type)} (want confirm-rollout, pre-step or rollback)`, `${at}.type`));
        let ok = false;
        try {
          const u = new URL(String(h.url));
          ok = u.protocol === 'http:' || u.protocol === 'https:';
        } catch {
          ok = false;
        }
        if (!ok) errs.push(fe(`invalid value: ${String(h.url)} (want an http or https URL)`, `${at}.url`));
        duration(h.timeout, `${at}.timeout`, errs, false);
      });
  }
  return errs;
}
