// The gateway's Prometheus series, read from its per-revision counters at scrape time (nothing is
// recorded here; the request path only touches RevisionStats).
//
// Knative's names where Knative has the metric (the queue-proxy's revision_request_count and
// revision_request_latencies, the activator's activator_request_concurrency, with Knative's
// namespace_name / service_name / configuration_name / revision_name labels); sluice_gateway_* for
// what only Sluice's gateway has (hold queue, rejections by reason).

import type { Registry } from '../observability/registry.js';
import { LATENCY_BOUNDS_MS, LATENCY_BOUNDS_SECONDS, STATUS_CLASSES, type RevisionStats } from './stats.js';

export interface RevisionMetricsView {
  key: string;
  stats: RevisionStats;
  inFlight: number;
  queued: number;
  /** Seconds the oldest held request has been waiting (0 when none is held or unknown). */
  oldestWait?: number;
}

/** What the gateway shows the metrics: its revisions now and its rejection counts. */
export interface GatewayMetricsSource {
  revisionViews(): RevisionMetricsView[];
  rejections(): ReadonlyMap<string, number>;
}

/** A revision's Knative names, for labels. */
export interface RevisionNames {
  namespace: string;
  revision: string;
  configuration: string;
  service: string;
}

/** Resolves "{namespace}/{revision}" to the names Knative labels series with. */
export type RevisionLabeler = (key: string) => RevisionNames;

export function splitKey(key: string): { namespace: string; revision: string } {
  const slash = key.indexOf('/');
  return slash >= 0 ? { namespace: key.slice(0, slash), revision: key.slice(slash + 1) } : { namespace: '', revision: key };
}

/** Without a lookup only the namespace and revision are known. */
export const keyOnlyLabeler: RevisionLabeler = (key) => ({ ...splitKey(key), configuration: '', service: '' });

const KN_LABELS = ['namespace_name', 'service_name', 'configuration_name', 'revision_name'] as const;
const SL_LABELS = ['namespace', 'revision'] as const;

function knValues(n: RevisionNames): string[] {
  return [n.namespace, n.service, n.configuration, n.revision];
}

export function registerGatewayMetrics(reg: Registry, gw: GatewayMetricsSource, names: RevisionLabeler = keyOnlyLabeler): void {
  const each = (fn: (v: RevisionMetricsView) => void) => {
    for (const v of gw.revisionViews()) fn(v);
  };

  reg.observed({
    name: 'revision_request_count',
    help: 'The number of requests that are routed to the revision (Knative queue-proxy name).',
    type: 'counter',
    labels: [...KN_LABELS, 'response_code', 'response_code_class'],
    collect: (emit) =>
      each((v) => {
        const kn = knValues(names(v.key));
        const codes = v.stats.codes;
        for (let c = 0; c < codes.length; c++) {
          if (codes[c] === 0) continue;
          emit.value([...kn, c === 0 ? '' : String(c), STATUS_CLASSES[(c / 100) | 0]], codes[c]);
        }
      }),
  });
  reg.observed({
    name: 'revision_request_latencies',
    help: 'The response time in millisecond, from arrival at the gateway to the end of the response, including time held (Knative queue-proxy name).',
    type: 'histogram',
    buckets: LATENCY_BOUNDS_MS,
    labels: [...KN_LABELS, 'response_code_class'],
    collect: (emit) =>
      each((v) => {
        const kn = knValues(names(v.key));
        for (let cls = 0; cls < STATUS_CLASSES.length; cls++) {
          const counts = v.stats.latencyCounts(cls);
          if (counts.every((n) => n === 0)) continue;
          emit.histogram([...kn, STATUS_CLASSES[cls]], counts, v.stats.latencySum[cls] * 1000);
        }
      }),
  });
  reg.observed({
    name: 'activator_request_concurrency',
    help: 'Concurrent requests that are routed to Activator: held by the gateway plus at instances (Knative activator name).',
    type: 'gauge',
    labels: KN_LABELS,
    collect: (emit) => each((v) => emit.value(knValues(names(v.key)), v.queued + v.inFlight)),
  });
  reg.observed({
    name: 'sluice_gateway_requests_total',
    help: 'Requests answered for a revision, by status class ("none": connection closed before a status was sent).',
    type: 'counter',
    labels: [...SL_LABELS, 'code'],
    collect: (emit) =>
      each((v) => {
        const { namespace, revision } = splitKey(v.key);
        for (let cls = 0; cls < STATUS_CLASSES.length; cls++) {
          const n = v.stats.classCount(cls);
          if (n > 0) emit.value([namespace, revision, STATUS_CLASSES[cls]], n);
        }
      }),
  });
  const gauge = (name: string, help: string, pick: (v: RevisionMetricsView) => number) =>
    reg.observed({
      name,
      help,
      type: 'gauge',
      labels: SL_LABELS,
      collect: (emit) =>
        each((v) => {
          const { namespace, revision } = splitKey(v.key);
          emit.value([namespace, revision], pick(v));
        }),
    });
  gauge('sluice_gateway_requests_in_flight', 'Requests currently at an instance of the revision.', (v) => v.inFlight);
  gauge('sluice_gateway_requests_queued', 'Requests held by the activator waiting for capacity.', (v) => v.queued);
  gauge(
    'sluice_gateway_queue_oldest_wait_seconds',
    'How long the oldest held request has been waiting (0 when none is held).',
    (v) => v.oldestWait ?? 0,
  );
  const histogram = (name: string, help: string, pick: (s: RevisionStats) => [ArrayLike<number>, number]) =>
    reg.observed({
      name,
      help,
      type: 'histogram',
      buckets: LATENCY_BOUNDS_SECONDS,
      labels: SL_LABELS,
      collect: (emit) =>
        each((v) => {
          const { namespace, revision } = splitKey(v.key);
          const [counts, sum] = pick(v.stats);
          emit.histogram([namespace, revision], counts, sum);
        }),
    });
  histogram(
    'sluice_gateway_queue_wait_seconds',
    'Time from arrival at the gateway until the request was sent to an instance (0 for requests sent at once).',
    (s) => [s.waitCounts, s.waitSum],
  );
  histogram(
    'sluice_gateway_request_duration_seconds',
    'Time from arrival at the gateway to the end of the response, including time held.',
    (s) => [s.latencyCounts(), s.latencyTotal()],
  );
  reg.observed({
    name: 'sluice_gateway_rejected_total',
    help: 'Requests the gateway answered itself with an error, by reason.',
    type: 'counter',
    labels: ['reason'],
    collect: (emit) => {
      for (const [reason, n] of gw.rejections()) emit.value([reason], n);
    },
  });
}
