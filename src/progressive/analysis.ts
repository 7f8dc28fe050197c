// Judges one step of a canary from the gateway's own per-revision windows (pure): success rate
// and a latency percentile, absolute and against the stable revision over the same window.

import { LATENCY_BOUNDS_SECONDS, histogramQuantile } from '../dataplane/stats.js';
import type { AnalysisNumbers, ResolvedPolicy } from './spec.js';

/** What the analysis needs of a window (dataplane/stats.ts RevisionWindow has it). */
export interface TrafficWindow {
  completed: number;
  errors: number;
  latency: { counts: ArrayLike<number> };
}

export type Verdict = { verdict: 'pass' | 'fail' | 'insufficient'; canary: AnalysisNumbers; stable?: AnalysisNumbers; failures: string[] };

export function numbersOf(w: TrafficWindow, percentile: number): AnalysisNumbers {
  if (w.completed === 0) return { requests: 0 };
  const p = histogramQuantile(percentile / 100, LATENCY_BOUNDS_SECONDS, w.latency.counts);
  return {
    requests: w.completed,
    successRate: round2((100 * (w.completed - w.errors)) / w.completed),
    ...(Number.isFinite(p) ? { latencyMs: round2(p * 1000) } : {}),
  };
}

const round2 = (x: number) => Math.round(x * 100) / 100;

export function analyse(policy: ResolvedPolicy, canary: TrafficWindow, stable: TrafficWindow | undefined): Verdict {
  const q = policy.latency.percentile;
  const c = numbersOf(canary, q);
  const s = stable ? numbersOf(stable, q) : undefined;
  if (c.requests < policy.minRequests || c.requests === 0) return { verdict: 'insufficient', canary: c, stable: s, failures: [] };
  const failures: string[] = [];
  const sr = policy.successRate;
  if (sr.min !== undefined && c.successRate! < sr.min) failures.push(`success rate ${c.successRate}% < ${sr.min}%`);
  // Relative gates need a stable revision with enough traffic of its own in the same window.
  const stableCounts = s !== undefined && s.requests >= Math.max(1, policy.minRequests);
  if (sr.maxDropVsStable !== undefined && stableCounts && s!.successRate! - c.successRate! > sr.maxDropVsStable)
    failures.push(
      `success rate ${c.successRate}% is ${round2(s!.successRate! - c.successRate!)} points below stable's ${s!.successRate}% (at most ${sr.maxDropVsStable})`,
    );
  const l = policy.latency;
  if (l.maxMs !== undefined && c.latencyMs !== undefined && c.latencyMs > l.maxMs)
    failures.push(`p${q} latency ${c.latencyMs} ms > ${l.maxMs} ms`);
  if (l.maxRatioVsStable !== undefined && stableCounts && c.latencyMs !== undefined && s!.latencyMs !== undefined && s!.latencyMs > 0) {
    const ratio = c.latencyMs / s!.latencyMs;
    if (ratio > l.maxRatioVsStable)
      failures.push(`p${q} latency ${c.latencyMs} ms is ${round2(ratio)}× stable's ${s!.latencyMs} ms (at most ${l.maxRatioVsStable}×)`);
  }
  return { verdict: failures.length ? 'fail' : 'pass', canary: c, stable: s, failures };
}
