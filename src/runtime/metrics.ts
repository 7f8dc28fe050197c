// The runtime's Prometheus series and events, observed through the Runtime seam (onChange +
// status), so any runtime (local processes, Kubernetes pods) gets them without code of its own:
// instance starts, failures, and the cold-start duration (start to first passing readiness probe).

import type { Registry } from '../observability/registry.js';
import type { EventLog } from '../observability/events.js';
import type { InstancePhase, Runtime } from './runtime.js';

/** Cold-start bounds in seconds: process start to ready is milliseconds to minutes. */
export const COLD_START_BOUNDS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

interface Seen {
  phase: InstancePhase;
  ready: boolean;
  /** Its cold start was recorded (only the first readiness of an instance is one). */
  counted: boolean;
}

export function observeRuntime(reg: Registry, runtime: Runtime, events?: EventLog): () => void {
  const starts = reg.counter('sluice_runtime_instance_starts_total', 'Instances started (new instances; restarts are failures).', [
    'namespace',
    'revision',
  ]);
  const failures = reg.counter('sluice_runtime_instance_failures_total', 'Instances that exited or failed their probes, by reason.', [
    'namespace',
    'revision',
    'reason',
  ]);
  const coldStart = reg.histogram(
    'sluice_runtime_cold_start_seconds',
    'Time from an instance starting until its first passing readiness probe.',
    COLD_START_BOUNDS,
    ['namespace', 'revision'],
  );
  const seen = new Map<string, Map<string, Seen>>();
  return runtime.onChange((key) => {
    const st = runtime.status(key);
    const slash = key.indexOf('/');
    const ns = key.slice(0, slash);
    const rev = key.slice(slash + 1);
    let known = seen.get(key);
    if (!st) {
      seen.delete(key);
      return;
    }
    if (!known) seen.set(key, (known = new Map()));
    const present = new Set<string>();
    for (const i of st.instances) {
      present.add(i.id);
      const before = known.get(i.id);
      if (!before) starts.child(ns, rev).inc();
      let counted = before?.counted ?? false;
      if (i.ready && !counted && i.readyAt !== undefined) {
        counted = true;
        const seconds = Math.max(0, (i.readyAt - i.startedAt) / 1000);
        coldStart.child(ns, rev).observe(seconds);
        events?.emit('instance-ready', `instance ready after ${seconds.toFixed(3)} s`, { object: key, instance: i.id, seconds });
      }
      const failedNow = i.phase === 'backoff' || i.phase === 'exited';
      const failedBefore = before?.phase === 'backoff' || before?.phase === 'exited';
      if (failedNow && !failedBefore) {
        const reason = st.failure?.reason ?? 'Exited';
        failures.child(ns, rev, reason).inc();
        events?.emit(
          'instance-failed',
          `instance failed: ${reason}${st.failure?.message ? `: ${st.failure.message}` : ''}`,
          {
            object: key,
            instance: i.id,
            reason,
          },
          'warn',
        );
      }
      known.set(i.id, { phase: i.phase, ready: i.ready, counted });
    }
    for (const id of [...known.keys()]) if (!present.has(id)) known.delete(id);
  });
}
