// The autoscaler's Prometheus series, read from the deciders and the runtime at scrape time, with
// Knative's autoscaler_* names and revision labels (namespace_name, service_name,
// configuration_name, revision_name), plus sluice_autoscaler_* counters of applied changes; and
// every decision as a log line with its reason (changes at info as events, the rest at debug).

import type { Registry } from '../../observability/registry.js';
import type { EventLog } from '../../observability/events.js';
import type { RevisionLabeler } from '../../dataplane/metrics.js';
import type { Runtime } from '../../runtime/runtime.js';
import type { DecisionRecord, DeciderView } from '../autoscaler.js';

const KN = ['namespace_name', 'service_name', 'configuration_name', 'revision_name'] as const;

export interface AutoscalerMetricsSource {
  deciders(): DeciderView[];
}

/** Instances of a revision by phase, as Knative counts pods. */
function podCounts(runtime: Runtime, key: string): { ready: number; notReady: number; pending: number; terminating: number } {
  const c = { ready: 0, notReady: 0, pending: 0, terminating: 0 };
  for (const i of runtime.status(key)?.instances ?? []) {
    if (i.phase === 'terminating') c.terminating++;
    else if (i.ready) c.ready++;
    else if (i.phase === 'backoff') c.pending++;
    else if (i.phase !== 'exited') c.notReady++;
  }
  return c;
}

/**
 * Registers the autoscaler's series; returns the decision observer that counts and logs scale
 * changes (pass it on as AutoscalerControllerOptions.onDecision).
 */
export function observeAutoscaler(
  reg: Registry,
  source: () => AutoscalerMetricsSource | undefined,
  runtime: Runtime,
  names: RevisionLabeler,
  events: EventLog,
): (r: DecisionRecord) => void {
  const labels = (key: string) => {
    const n = names(key);
    return [n.namespace, n.service, n.configuration, n.revision];
  };
  const gauge = (name: string, help: string, pick: (d: DeciderView) => number | undefined) =>
    reg.observed({
      name,
      help,
      type: 'gauge',
      labels: KN,
      collect: (emit) => {
        for (const d of source()?.deciders() ?? []) {
          const v = pick(d);
          if (v !== undefined) emit.value(labels(d.key), v);
        }
      },
    });
  const isKpa = (d: DeciderView, metric: 'concurrency' | 'rps') => d.stable !== undefined && d.metric === metric;
  gauge('autoscaler_desired_pods', 'Number of pods autoscaler wants to allocate', (d) => d.desired);
  gauge('autoscaler_requested_pods', 'Number of pods autoscaler requested from the runtime', (d) => d.requested);
  const pods = (name: string, help: string, pick: (c: ReturnType<typeof podCounts>) => number) =>
    gauge(name, help, (d) => pick(podCounts(runtime, d.key)));
  pods('autoscaler_actual_pods', 'Number of pods that are allocated currently (ready instances)', (c) => c.ready);
  pods('autoscaler_not_ready_pods', 'Number of pods that are not ready currently', (c) => c.notReady);
  pods('autoscaler_pending_pods', 'Number of pods that are pending currently (waiting out a restart back-off)', (c) => c.pending);
  pods('autoscaler_terminating_pods', 'Number of pods that are terminating currently', (c) => c.terminating);
  gauge('autoscaler_panic_mode', '1 if autoscaler is in panic mode, 0 otherwise', (d) => (d.panic ? 1 : 0));
  gauge('autoscaler_excess_burst_capacity', 'Excess burst capacity observed over the stable window', (d) => d.excessBurstCapacity);
  gauge('autoscaler_stable_request_concurrency', 'Average of requests count per observed pod over the stable window', (d) =>
    isKpa(d, 'concurrency') ? d.stable : undefined,
  );
  gauge('autoscaler_panic_request_concurrency', 'Average of requests count per observed pod over the panic window', (d) =>
    isKpa(d, 'concurrency') ? d.panicValue : undefined,
  );
  gauge('autoscaler_target_concurrency_per_pod', 'The desired number of concurrent requests for each pod', (d) =>
    isKpa(d, 'concurrency') ? d.target : undefined,
  );
  gauge('autoscaler_stable_requests_per_second', 'Average requests-per-second per observed pod over the stable window', (d) =>
    isKpa(d, 'rps') ? d.stable : undefined,
  );
  gauge('autoscaler_panic_requests_per_second', 'Average requests-per-second per observed pod over the panic window', (d) =>
    isKpa(d, 'rps') ? d.panicValue : undefined,
  );
  gauge('autoscaler_target_requests_per_second', 'The desired requests-per-second for each pod', (d) =>
    isKpa(d, 'rps') ? d.target : undefined,
  );
  const changes = reg.counter('sluice_autoscaler_scale_changes_total', 'Decisions that changed the instances asked of the runtime.', [
    'namespace',
    'revision',
    'direction',
  ]);
  const errors = reg.counter(
    'sluice_autoscaler_decision_errors_total',
    'Decisions that kept the current scale because of a contained failure.',
    ['namespace', 'revision'],
  );
  const lastMode = new Map<string, string>();
  return (r) => {
    const slash = r.key.indexOf('/');
    const ns = r.key.slice(0, slash);
    const rev = r.key.slice(slash + 1);
    if (r.to !== r.from) changes.child(ns, rev, r.to > r.from ? 'up' : 'down').inc();
    if (r.error) errors.child(ns, rev).inc();
    const modeChanged = lastMode.get(r.key) !== r.mode;
    lastMode.set(r.key, r.mode);
    const fields = { object: r.key, from: r.from, to: r.to, mode: r.mode, class: r.class, reason: r.reason, error: r.error };
    if (r.to !== r.from) events.emit('scale', `scaled ${r.from} -> ${r.to}${r.reason ? `: ${r.reason}` : ''}`, fields);
    else if (modeChanged && r.mode === 'panic')
      events.emit('scale', `entered panic mode at ${r.to}${r.reason ? `: ${r.reason}` : ''}`, fields);
    else if (r.error) events.emit('decision', `kept ${r.to}: ${r.error}`, fields, 'warn');
    else events.emit('decision', `kept ${r.to}${r.reason ? `: ${r.reason}` : ''}`, fields, 'debug');
  };
}
