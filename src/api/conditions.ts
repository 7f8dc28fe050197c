// Knative-style condition sets: dependent conditions roll up into Ready. Keeps
// lastTransitionTime when a condition's status does not change, so status writes stay stable.

import type { Condition, ConditionStatus } from './types.js';

export interface ConditionInput {
  status: ConditionStatus;
  reason?: string;
  message?: string;
}

/** Builds the condition list: each dependent as given, then Ready = worst of them. */
export function rollUp(
  previous: Condition[] | undefined,
  dependents: Record<string, ConditionInput>,
  /** Conditions shown but not part of Ready (Knative's "Info" severity, e.g. a Revision's Active). */
  informational: Record<string, ConditionInput> = {},
  now: () => string = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
): Condition[] {
  const entries = Object.entries(dependents);
  const failed = entries.find(([, c]) => c.status === 'False');
  const unknown = entries.find(([, c]) => c.status === 'Unknown');
  const ready: ConditionInput = failed
    ? { status: 'False', reason: failed[1].reason, message: failed[1].message }
    : unknown
      ? { status: 'Unknown', reason: unknown[1].reason, message: unknown[1].message }
      : { status: 'True' };
  const all: [string, ConditionInput][] = [...entries, ...Object.entries(informational), ['Ready', ready]];
  return all
    .map(([type, c]) => {
      const prev = previous?.find((p) => p.type === type);
      const cond: Condition = { type, status: c.status };
      if (c.reason) cond.reason = c.reason;
      if (c.message) cond.message = c.message;
      cond.lastTransitionTime = prev && prev.status === c.status ? (prev.lastTransitionTime ?? now()) : now();
      return cond;
    })
    .sort((a, b) => (a.type < b.type ? -1 : 1));
}

export function conditionOf(conditions: Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

export function isReady(obj: { status?: { conditions?: Condition[] } } | undefined): boolean {
  return conditionOf(obj?.status?.conditions, 'Ready')?.status === 'True';
}
