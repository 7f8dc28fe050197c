// When the autoscaler may stop looking at a revision: most revisions of a large installation have
// no traffic and sit at zero, and deciding them again every tick gives the same answer. Such a
// revision "sleeps": it is neither sampled nor decided, and its PodAutoscaler is not rebuilt,
// until something happens to it (the controller wakes it on every event that can change a
// decision) or until a time this module names, at which time alone changes the decision.
//
// Pure: the controller gives the facts, this says whether the last decision is settled.

import type { Decision, ScalingSpec } from '../../autoscaler/index.js';
import { EVENT_GATEWAY_CLASS, KPA_CLASS, nextScheduleChange } from '../../autoscaler/index.js';

export interface SettledInput {
  spec: Pick<ScalingSpec, 'class' | 'schedule' | 'scaleToZeroGracePeriodMs' | 'scaleToZeroPodRetentionPeriodMs'>;
  /** The tick's decision, just applied. */
  decision: Decision;
  /** Instances asked of the runtime after it. */
  requested: number;
  reachable: boolean;
  /** Instances the runtime has, in any phase. */
  instances: number;
  /** Requests the gateway holds and has at instances, and its endpoints for the revision. */
  held: number;
  inFlight: number;
  endpoints: number;
  /** The metric windows hold only zeros (RevisionMetrics.onlyZeros). */
  metricsOnlyZeros: boolean;
  /** See KpaInput.proxySince. */
  proxySince: number;
  now: number;
}

/** Not settled; settled for good (until an event); or settled until `until` (epoch ms). */
export type Settled = false | { until?: number };

/**
 * Whether deciding again, with nothing but the clock moving, would give the same decision (and so
 * the same PodAutoscaler) as the one just made — and until when. Only revisions at zero with no
 * instance and no traffic qualify, of the classes whose deciders are known here (KPA, event
 * gateway); HPA, plugins and unmanaged classes are always decided.
 */
export function settledUntil(i: SettledInput): Settled {
  const d = i.decision;
  if (i.requested !== 0 || d.desired !== 0 || d.error) return false;
  if (i.instances !== 0 || i.held !== 0 || i.inFlight !== 0 || i.endpoints !== 0 || !i.metricsOnlyZeros) return false;
  let until: number | undefined;
  const at = (t: number) => {
    if (t > i.now && (until === undefined || t < until)) until = t;
  };
  if (i.spec.class === KPA_CLASS) {
    const kpa = d.state.kpa;
    // Inactive, not panicking, recommending zero from (zero) metrics, nothing above zero in the
    // scale-down-delay window: with zeros every second the autoscaler step stays put. The
    // scaler step's answer then depends on time only through these thresholds (kpa.ts).
    if (!kpa || kpa.status !== 'inactive' || kpa.panicTime !== null || kpa.recommendation !== 0) return false;
    if (kpa.delayWindow.some((e) => e.value !== 0)) return false;
    const grace = i.spec.scaleToZeroGracePeriodMs;
    at(kpa.statusSince + grace);
    if (i.reachable) at(kpa.statusSince + i.spec.scaleToZeroPodRetentionPeriodMs);
    at(i.proxySince + grace);
  } else if (i.spec.class !== EVENT_GATEWAY_CLASS) {
    return false;
  }
  if (i.spec.schedule.length > 0) {
    const next = nextScheduleChange(i.spec.schedule, i.now);
    if (next === null) return false;
    if (next !== undefined) at(next);
  }
  return until === undefined ? {} : { until };
}

/** A min-heap of wake-up times; entries are not removed when cancelled, the consumer skips stale ones. */
export class Alarms<T> {
  private readonly heap: { at: number; item: T }[] = [];

  get size(): number {
    return this.heap.length;
  }

  add(at: number, item: T): void {
    const h = this.heap;
    h.push({ at, item });
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p].at <= h[i].at) break;
      [h[p], h[i]] = [h[i], h[p]];
      i = p;
    }
  }

  /** Removes and returns every entry due at `now`, earliest first. */
  due(now: number): { at: number; item: T }[] {
    const out: { at: number; item: T }[] = [];
    const h = this.heap;
    while (h.length > 0 && h[0].at <= now) {
      out.push(h[0]);
      const last = h.pop()!;
      if (h.length === 0) break;
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && h[l].at < h[m].at) m = l;
        if (r < h.length && h[r].at < h[m].at) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i], h[m]];
        i = m;
      }
    }
    return out;
  }

  clear(): void {
    this.heap.length = 0;
  }
}
