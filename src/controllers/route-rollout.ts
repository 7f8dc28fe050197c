// Knative's gradual rollout (serving.knative.dev/rollout-duration), as a pure state machine.
//
// When a configuration target's latest ready revision changes, the new revision starts at 1% and
// then takes equal steps until it has the whole share; a revision arriving mid-rollout starts its
// own 1% while the older ones keep draining (newest drained first). The state has Knative's JSON
// shape (times in Unix nanoseconds) so the same annotation text means the same thing in both; the
// route reconciler keeps it in the Route's status.annotations under ROLLOUT_STATE_KEY.
//
// Every function takes the time as an argument: table tests drive it with a fake clock.

import { rolloutDurationSeconds } from '../api/traffic-annotations.js';

/** Where Knative keeps the rollout state (on its Ingress); Sluice keeps it on Route status. */
export const ROLLOUT_STATE_KEY = 'networking.internal.knative.dev/rollout';

const NS_PER_SECOND = 1e9;

export interface RevisionRollout {
  revisionName: string;
  /** Share of the whole Route's traffic (not of the configuration's). */
  percent: number;
}

export interface RolloutParams {
  /** When the current rollout started, Unix ns. */
  starttime?: number;
  /** When the next step is due, Unix ns. */
  nextStepTime?: number;
  /** Nanoseconds between steps. */
  stepDuration?: number;
  /** Percent moved per step. */
  stepSize?: number;
}

export interface ConfigurationRollout {
  configurationName: string;
  tag?: string;
  /** The configuration target's total percent; revisions below sum to it. */
  percent: number;
  /** Oldest first; the last one is the newest and ends with the whole percent. */
  revisions?: RevisionRollout[];
  stepParams: RolloutParams;
}

export interface Rollout {
  /** Sorted by tag, then configuration name. */
  configurations?: ConfigurationRollout[];
}

/** The desired shape from spec traffic: each latestRevision target with a positive percent. */
export interface LatestTarget {
  tag?: string;
  configurationName: string;
  revisionName: string;
  percent: number;
}

export function buildRollout(targets: readonly LatestTarget[]): Rollout {
  const configurations: ConfigurationRollout[] = targets
    .filter((t) => t.percent > 0)
    .map((t) => ({
      configurationName: t.configurationName,
      ...(t.tag ? { tag: t.tag } : {}),
      percent: t.percent,
      revisions: [{ revisionName: t.revisionName, percent: t.percent }],
      stepParams: {},
    }));
  return { configurations: sortConfigurations(configurations) };
}

function sortConfigurations(c: ConfigurationRollout[]): ConfigurationRollout[] {
  return c.sort((a, b) => {
    const ta = a.tag ?? '';
    const tb = b.tag ?? '';
    if (ta !== tb) return ta < tb ? -1 : 1;
    return a.configurationName < b.configurationName ? -1 : a.configurationName > b.configurationName ? 1 : 0;
  });
}

/** True when no configuration is between two revisions. */
export function rolloutDone(r: Rollout): boolean {
  return (r.configurations ?? []).every((c) => (c.revisions ?? []).length < 2);
}

/** Parses stored state; anything malformed or inconsistent counts as no state (as in Knative). */
export function parseRollout(text: string | undefined): Rollout | undefined {
  if (!text) return undefined;
  let r: unknown;
  try {
    r = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof r !== 'object' || r === null || Array.isArray(r)) return undefined;
  const ro = r as Rollout;
  if (ro.configurations !== undefined && !Array.isArray(ro.configurations)) return undefined;
  for (const c of ro.configurations ?? []) {
    if (typeof c?.configurationName !== 'string' || !Number.isInteger(c.percent) || c.percent > 100) return undefined;
    const step = c.stepParams?.stepSize ?? 0;
    if (!Number.isInteger(step) || step < 0 || step > c.percent) return undefined;
    const revs = c.revisions ?? [];
    if (!Array.isArray(revs) || revs.some((x) => typeof x?.revisionName !== 'string' || !Number.isInteger(x.percent))) return undefined;
    if (revs.reduce((s, x) => s + x.percent, 0) !== c.percent) return undefined;
    c.stepParams ??= {};
  }
  return ro;
}

export function serializeRollout(r: Rollout): string {
  return JSON.stringify(r);
}

function clone(r: Rollout): Rollout {
  return JSON.parse(JSON.stringify(r)) as Rollout;
}

/**
 * Called once the routing that starts a rollout is in effect: configurations that started but have
 * no step timing yet get it. The time the first 1% took (at least a second) is the step length to
 * aim for, as Knative measures it from its Ingress becoming ready.
 */
export function observeReady(r: Rollout, nowNs: number, durationSecs: number): Rollout {
  const out = clone(r);
  for (const c of out.configurations ?? []) {
    const p = c.stepParams;
    if (!p.stepDuration && (p.starttime ?? 0) > 0) {
      const minStepSec = Math.max(1, Math.ceil((nowNs - p.starttime!) / NS_PER_SECOND));
      computeProperties(c, nowNs, minStepSec, durationSecs);
    }
  }
  return out;
}

function computeProperties(c: ConfigurationRollout, nowNs: number, minStepSec: number, durationSecs: number): void {
  // The first 1% already took minStepSec of the budget.
  const duration = Math.max(1, durationSecs - minStepSec);
  let numSteps = Math.max(1, duration / minStepSec);
  const remaining = c.percent - 1;
  // Never steps smaller than 1%.
  if (remaining < numSteps) numSteps = remaining;
  // Rounded rather than floored: flooring 1.9 to 1 would double the rollout's length.
  const stepSize = Math.round(remaining / numSteps);
  const stepDuration = (duration / numSteps) * NS_PER_SECOND;
  c.stepParams.stepDuration = Math.trunc(stepDuration);
  c.stepParams.stepSize = stepSize;
  c.stepParams.nextStepTime = Math.trunc(nowNs + stepDuration);
}

/**
 * Merges the desired shape `cur` with the previous state: starts rollouts for configurations whose
 * revision changed, moves due steps, follows percent changes. Returns the effective state and the
 * Unix ns of the next due step (0 when nothing is scheduled).
 */
export function stepRollout(cur: Rollout, prev: Rollout | undefined, nowNs: number): { rollout: Rollout; nextStepNs: number } {
  if (!prev || (prev.configurations ?? []).length === 0) return { rollout: cur, nextStepNs: 0 };
  const previous = clone(prev);
  const byTag = (cs: ConfigurationRollout[]) => {
    const m = new Map<string, ConfigurationRollout[]>();
    for (const c of cs) {
      const k = c.tag ?? '';
      const list = m.get(k);
      if (list) list.push(c);
      else m.set(k, [c]);
    }
    return m;
  };
  const currByTag = byTag(clone(cur).configurations ?? []);
  const prevByTag = byTag(previous.configurations ?? []);
  const out: ConfigurationRollout[] = [];
  let next = Infinity;
  for (const [tag, ccfgs] of currByTag) {
    const pcfgs = prevByTag.get(tag);
    // A new tag has nothing to roll from: it gets its whole share at once.
    if (!pcfgs) {
      out.push(ccfgs[0]);
      continue;
    }
    // Both lists are sorted by configuration name: walk them together.
    let i = 0;
    let j = 0;
    while (i < ccfgs.length) {
      if (j >= pcfgs.length) {
        out.push(ccfgs[i++]);
      } else if (ccfgs[i].configurationName === pcfgs[j].configurationName) {
        const p = ccfgs[i].percent;
        if (p > 1) {
          const sc = stepConfig(ccfgs[i], pcfgs[j], nowNs);
          out.push(sc);
          const nst = sc.stepParams.nextStepTime ?? 0;
          if (nst > 0 && nst < next) next = nst;
        } else if (p === 1) {
          // 1% cannot be split: nothing to roll out.
          out.push(ccfgs[i]);
        }
        i++;
        j++;
      } else if (ccfgs[i].configurationName < pcfgs[j].configurationName) {
        if (ccfgs[i].percent !== 0) out.push(ccfgs[i]);
        i++;
      } else {
        j++;
      }
    }
  }
  return { rollout: { configurations: sortConfigurations(out) }, nextStepNs: next === Infinity ? 0 : next };
}

/** Follows a change of the configuration's total percent: growth goes to the newest, cuts come off the oldest. */
function adjustPercentage(goal: number, c: ConfigurationRollout): void {
  const revs = c.revisions ?? [];
  const diff = goal - c.percent;
  if (goal === 0) {
    c.revisions = undefined;
  } else if (diff > 0) {
    revs[revs.length - 1].percent += diff;
  } else if (diff < 0) {
    let cut = -diff;
    let i = 0;
    while (cut > 0 && i < revs.length) {
      if (revs[i].percent > cut) {
        revs[i].percent -= cut;
        break;
      }
      cut -= revs[i].percent;
      i++;
    }
    c.revisions = revs.slice(i);
  }
}

/** Moves one step of traffic to the newest revision, taking it from the next-newest first. */
function stepRevisions(c: ConfigurationRollout, nowNs: number): void {
  const revs = c.revisions ?? [];
  if (nowNs < (c.stepParams.nextStepTime ?? 0) || revs.length < 2) return;
  const n = revs.length;
  const stepSize = c.stepParams.stepSize ?? 0;
  let remaining = stepSize;
  let writePos = n - 1;
  let readPos = n - 2;
  while (remaining > 0 && readPos >= 0) {
    if (revs[readPos].percent > remaining) {
      revs[readPos].percent -= remaining;
      break;
    }
    remaining -= revs[readPos].percent;
    writePos--;
    readPos--;
  }
  revs[writePos] = revs[n - 1];
  revs[writePos].percent += stepSize;
  // The total may have shrunk below the step since it was computed.
  if (revs[writePos].percent > c.percent) revs[writePos].percent = c.percent;
  c.revisions = revs.slice(0, writePos + 1);
  if (c.revisions.length > 1) c.stepParams.nextStepTime = nowNs + (c.stepParams.stepDuration ?? 0);
  else c.stepParams = {};
}

function stepConfig(goal: ConfigurationRollout, prev: ConfigurationRollout, nowNs: number): ConfigurationRollout {
  const prevRevs = prev.revisions ?? [];
  const ret: ConfigurationRollout = {
    configurationName: goal.configurationName,
    ...(goal.tag ? { tag: goal.tag } : {}),
    percent: goal.percent,
    revisions: goal.revisions,
    stepParams: {},
  };
  if (prevRevs.length > 0) adjustPercentage(goal.percent, prev);
  const adjusted = prev.revisions ?? [];
  const goalRev = (goal.revisions ?? [])[0];
  // Same newest revision as before (or no history): continue whatever was going on.
  if (prevRevs.length === 0 || goalRev.revisionName === prevRevs[prevRevs.length - 1].revisionName) {
    if (adjusted.length > 1) {
      ret.revisions = adjusted;
      ret.stepParams = { ...prev.stepParams };
      // Timing is set by observeReady; until then there is nothing to step.
      if ((ret.stepParams.stepSize ?? 0) > 0) stepRevisions(ret, nowNs);
    }
    return ret;
  }
  // A new revision: it starts at 1%, taken from the newest revision that has any traffic.
  ret.stepParams.starttime = nowNs;
  for (let i = adjusted.length - 1; i >= 0; i--) {
    if (adjusted[i].percent > 0) {
      adjusted[i].percent--;
      break;
    }
  }
  ret.revisions = [...adjusted.filter((r) => r.percent !== 0), { revisionName: goalRev.revisionName, percent: 1 }];
  return ret;
}

/** The configuration rollout for a latestRevision target, if one is in the state. */
export function rolloutFor(r: Rollout, tag: string | undefined, configurationName: string): ConfigurationRollout | undefined {
  return (r.configurations ?? []).find((c) => (c.tag ?? '') === (tag ?? '') && c.configurationName === configurationName);
}

/**
 * Rollout duration in whole seconds: the Route's annotation (a Go duration) if set, else
 * config-network's `rollout-duration` (integer seconds); 0 = no gradual rollout.
 */
export function rolloutDurationSecs(annotation: string | undefined, configNetwork: string | undefined): number {
  const own = rolloutDurationSeconds(annotation);
  if (own > 0) return own;
  const n = configNetwork === undefined ? NaN : Number(configNetwork.trim());
  return Number.isInteger(n) && n > 0 ? n : 0;
}

/** Targets as the rollout shapes them: a latestRevision target mid-rollout becomes one entry per revision. */
export function withRollout<
  T extends { tag?: string; configurationName?: string; latestRevision: boolean; revisionName: string; percent: number },
>(targets: readonly T[], r: Rollout): T[] {
  return targets.flatMap((t) => {
    const c = t.latestRevision && t.configurationName ? rolloutFor(r, t.tag, t.configurationName) : undefined;
    const revs = c?.revisions ?? [];
    if (revs.length === 0) return [t];
    return revs.map((x) => ({ ...t, revisionName: x.revisionName, percent: x.percent }));
  });
}

/** Rollout input from resolved targets: the latestRevision targets that follow a configuration. */
export function latestTargets(
  targets: readonly { tag?: string; configurationName?: string; latestRevision: boolean; revisionName: string; percent: number }[],
): LatestTarget[] {
  return targets
    .filter((t) => t.latestRevision && t.configurationName)
    .map((t) => ({
      ...(t.tag ? { tag: t.tag } : {}),
      configurationName: t.configurationName!,
      revisionName: t.revisionName,
      percent: t.percent,
    }));
}

/** Earliest nextStepTime in the state, Unix ns; 0 when no step is scheduled. */
export function nextStepTime(r: Rollout): number {
  let next = 0;
  for (const c of r.configurations ?? []) {
    const t = c.stepParams.nextStepTime ?? 0;
    if (t > 0 && (next === 0 || t < next)) next = t;
  }
  return next;
}
