// Pure text for `sluice rollout status`: a Rollout's phase, revisions, weight, last analysis.

import type { KObject } from '../api/types.js';
import type { RolloutStatus } from '../progressive/spec.js';

export function rolloutStatusText(ro: KObject): string {
  const st = (ro.status ?? {}) as RolloutStatus;
  const lines = [
    `Rollout:   ${ro.metadata.namespace}/${ro.metadata.name} (service ${(ro.spec as { service?: string })?.service || ro.metadata.name})`,
    `Phase:     ${st.phase ?? 'Unknown'}${(ro.spec as { paused?: boolean })?.paused ? ' (paused)' : ''}`,
    `Stable:    ${st.stableRevision ?? '-'}`,
    `Canary:    ${st.canaryRevision && st.canaryRevision !== st.stableRevision ? `${st.canaryRevision} at ${st.canaryWeight ?? 0}%` : '-'}`,
  ];
  const steps = (ro.spec as { steps?: number[] })?.steps ?? [];
  if (st.step !== undefined && st.step >= 0)
    lines.push(`Step:      ${st.step + 1}/${steps.length} (${steps.join(', ')}%), since ${st.stepStartedAt ?? '?'}`);
  if (st.failedChecks) lines.push(`Failed:    ${st.failedChecks} check(s)`);
  const a = st.lastAnalysis;
  if (a) {
    const n = (x: { requests: number; successRate?: number; latencyMs?: number }) =>
      `${x.requests} requests, ${x.successRate ?? '-'}% success, latency ${x.latencyMs ?? '-'} ms`;
    lines.push(`Analysis:  ${a.verdict} at ${a.at}`, `  canary:  ${n(a.canary)}`);
    if (a.stable) lines.push(`  stable:  ${n(a.stable)}`);
  }
  if (st.message) lines.push(`Message:   ${st.message}`);
  return lines.join('\n') + '\n';
}
