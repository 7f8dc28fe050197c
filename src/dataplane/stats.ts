// Per-revision counters. Updated with plain arithmetic on the request path; turned into samples for
// the autoscaler and Prometheus text only when asked.

import type { RevisionSample } from './types.js';

/**
 * Time-weighted average of a level (requests in the system) between two samples: the integral of
 * the level over time divided by the interval. Updated only when the level changes.
 */
export class ConcurrencyMeter {
  level = 0;
  private area = 0;
  private last: number;
  private windowStart: number;

  constructor(now: number) {
    this.last = now;
    this.windowStart = now;
  }

  change(delta: number, now: number): void {
    if (now > this.last) {
      this.area += this.level * (now - this.last);
      this.last = now;
    }
    this.level += delta;
  }

  /** Average level since the previous call, and the interval length; starts a new window. */
  take(now: number): { average: number; intervalMs: number } {
    if (now > this.last) {
      this.area += this.level * (now - this.last);
      this.last = now;
    }
    const intervalMs = Math.max(0, now - this.windowStart);
    // A zero-length window has no history: report the current level.
    const average = intervalMs > 0 ? this.area / intervalMs : this.level;
    this.area = 0;
    this.windowStart = now;
    return { average, intervalMs };
  }
}

/** Upper bounds (seconds) of the latency histogram buckets; +Inf is implicit. */
export const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

export class RevisionStats {
  readonly meter: ConcurrencyMeter;
  /** Requests that arrived since the last sample. */
  arrivals = 0;
  // Cumulative, for Prometheus.
  readonly byClass = [0, 0, 0, 0, 0, 0]; // index = status / 100 (0 = connection dropped before a status was sent)
  readonly buckets = new Array<number>(LATENCY_BUCKETS.length + 1).fill(0);
  latencySum = 0;
  latencyCount = 0;
  /** Time from arrival to being sent to an instance (0 for requests sent at once), same buckets. */
  readonly waitBuckets = new Array<number>(LATENCY_BUCKETS.length + 1).fill(0);
  waitSum = 0;
  waitCount = 0;

  constructor(now: number) {
    this.meter = new ConcurrencyMeter(now);
  }

  observe(status: number, seconds: number): void {
    const c = status >= 100 && status < 600 ? (status / 100) | 0 : 0;
    this.byClass[c]++;
    const b = LATENCY_BUCKETS;
    let i = 0;
    while (i < b.length && seconds > b[i]) i++;
    this.buckets[i]++;
    this.latencySum += seconds;
    this.latencyCount++;
  }

  observeWait(seconds: number): void {
    const b = LATENCY_BUCKETS;
    let i = 0;
    while (i < b.length && seconds > b[i]) i++;
    this.waitBuckets[i]++;
    this.waitSum += seconds;
    this.waitCount++;
  }

  sample(now: number, queued: number, inFlight: number): RevisionSample {
    const { average, intervalMs } = this.meter.take(now);
    const requests = this.arrivals;
    this.arrivals = 0;
    return { averageConcurrency: average, requests, queued, inFlight, intervalMs };
  }
}

export interface RevisionMetricsView {
  key: string;
  stats: RevisionStats;
  inFlight: number;
  queued: number;
  /** Seconds the oldest held request has been waiting (0 when none is held or unknown). */
  oldestWait?: number;
}

const CLASS_LABELS = ['none', '1xx', '2xx', '3xx', '4xx', '5xx'];

function esc(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function revLabels(key: string): string {
  const slash = key.indexOf('/');
  const ns = slash >= 0 ? key.slice(0, slash) : '';
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  return `namespace="${esc(ns)}",revision="${esc(name)}"`;
}

function histogram(
  out: string[],
  name: string,
  help: string,
  revisions: readonly RevisionMetricsView[],
  pick: (s: RevisionStats) => [readonly number[], number, number],
): void {
  out.push(`# HELP ${name} ${help}`);
  out.push(`# TYPE ${name} histogram`);
  for (const r of revisions) {
    const l = revLabels(r.key);
    const [buckets, sum, count] = pick(r.stats);
    let cum = 0;
    for (let i = 0; i < LATENCY_BUCKETS.length; i++) {
      cum += buckets[i];
      out.push(`${name}_bucket{${l},le="${LATENCY_BUCKETS[i]}"} ${cum}`);
    }
    cum += buckets[LATENCY_BUCKETS.length];
    out.push(`${name}_bucket{${l},le="+Inf"} ${cum}`);
    out.push(`${name}_sum{${l}} ${sum}`);
    out.push(`${name}_count{${l}} ${count}`);
  }
}

/** Prometheus text exposition (version 0.0.4) of the gateway's counters. */
export function formatMetrics(revisions: readonly RevisionMetricsView[], rejected: ReadonlyMap<string, number>): string {
  const out: string[] = [];
  out.push(
    '# HELP sluice_gateway_requests_total Requests answered for a revision, by status class ("none": connection closed before a status was sent).',
  );
  out.push('# TYPE sluice_gateway_requests_total counter');
  for (const r of revisions) {
    const l = revLabels(r.key);
    for (let c = 0; c < CLASS_LABELS.length; c++) {
      if (r.stats.byClass[c] > 0) out.push(`sluice_gateway_requests_total{${l},code="${CLASS_LABELS[c]}"} ${r.stats.byClass[c]}`);
    }
  }
  out.push('# HELP sluice_gateway_requests_in_flight Requests currently at an instance of the revision.');
  out.push('# TYPE sluice_gateway_requests_in_flight gauge');
  for (const r of revisions) out.push(`sluice_gateway_requests_in_flight{${revLabels(r.key)}} ${r.inFlight}`);
  out.push('# HELP sluice_gateway_requests_queued Requests held by the activator waiting for capacity.');
  out.push('# TYPE sluice_gateway_requests_queued gauge');
  for (const r of revisions) out.push(`sluice_gateway_requests_queued{${revLabels(r.key)}} ${r.queued}`);
  out.push('# HELP sluice_gateway_queue_oldest_wait_seconds How long the oldest held request has been waiting (0 when none is held).');
  out.push('# TYPE sluice_gateway_queue_oldest_wait_seconds gauge');
  for (const r of revisions) out.push(`sluice_gateway_queue_oldest_wait_seconds{${revLabels(r.key)}} ${r.oldestWait ?? 0}`);
  histogram(
    out,
    'sluice_gateway_queue_wait_seconds',
    'Time from arrival at the gateway until the request was sent to an instance (0 for requests sent at once).',
    revisions,
    (s) => [s.waitBuckets, s.waitSum, s.waitCount],
  );
  out.push(
    '# HELP sluice_gateway_request_duration_seconds Time from arrival at the gateway to the end of the response, including time held.',
  );
  out.push('# TYPE sluice_gateway_request_duration_seconds histogram');
  for (const r of revisions) {
    const l = revLabels(r.key);
    let cum = 0;
    for (let i = 0; i < LATENCY_BUCKETS.length; i++) {
      cum += r.stats.buckets[i];
      out.push(`sluice_gateway_request_duration_seconds_bucket{${l},le="${LATENCY_BUCKETS[i]}"} ${cum}`);
    }
    cum += r.stats.buckets[LATENCY_BUCKETS.length];
    out.push(`sluice_gateway_request_duration_seconds_bucket{${l},le="+Inf"} ${cum}`);
    out.push(`sluice_gateway_request_duration_seconds_sum{${l}} ${r.stats.latencySum}`);
    out.push(`sluice_gateway_request_duration_seconds_count{${l}} ${r.stats.latencyCount}`);
  }
  out.push('# HELP sluice_gateway_rejected_total Requests the gateway answered itself with an error, by reason.');
  out.push('# TYPE sluice_gateway_rejected_total counter');
  for (const [reason, n] of rejected) out.push(`sluice_gateway_rejected_total{reason="${esc(reason)}"} ${n}`);
  return out.join('\n') + '\n';
}
