// The controllers' Prometheus series: reconciles by kind and result, how long they take, and the
// work queue's depth. Failures other than conflicts (which retry as a matter of course) are also
// events (the manager has logged them), so the console shows what keeps failing.

import type { Registry } from '../observability/registry.js';
import type { EventLog } from '../observability/events.js';
import type { ReconcileObserver } from './manager.js';
import type { ReconcileKind } from './context.js';

/** Reconcile durations: most are a few store reads and writes, some wait on the disk. */
export const RECONCILE_BOUNDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

const KINDS: readonly ReconcileKind[] = ['Service', 'Configuration', 'Revision', 'Route', 'RoutingLabels', 'RevisionGC', 'DomainMapping'];

export function registerControllerMetrics(reg: Registry, queueDepth: () => number, events?: EventLog): ReconcileObserver {
  const total = reg.counter(
    'sluice_reconcile_total',
    'Reconciles by kind and result (success, conflict: retried after a concurrent write, error).',
    ['kind', 'result'],
  );
  const seconds = reg.histogram('sluice_reconcile_duration_seconds', 'How long one reconcile took.', RECONCILE_BOUNDS, ['kind']);
  reg.observed({
    name: 'sluice_workqueue_depth',
    help: 'Objects waiting in the controllers\u2019 work queue.',
    type: 'gauge',
    labels: [],
    collect: (emit) => emit.value([], queueDepth()),
  });
  // Children looked up once: a reconcile records with two additions.
  const children = new Map(
    KINDS.map((k) => [
      k,
      {
        success: total.child(k, 'success'),
        conflict: total.child(k, 'conflict'),
        error: total.child(k, 'error'),
        seconds: seconds.child(k),
      },
    ]),
  );
  return {
    reconciled(kind, key, s, err) {
      const c = children.get(kind)!;
      c.seconds.observe(s);
      if (!err) c.success.inc();
      else if (err.code === 409) c.conflict.inc();
      else {
        c.error.inc();
        events?.emit(
          'reconcile-failed',
          `reconcile ${key} failed: ${err.message}`,
          { object: key.slice(kind.length + 1), kind },
          'warn',
          true,
        );
      }
    },
  };
}
