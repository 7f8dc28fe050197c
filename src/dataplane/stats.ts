// Per-revision gateway statistics that any number of consumers can read without disturbing each
// other.
//
// The request path only adds to cumulative counters (plain arithmetic on numbers and typed arrays
// the revision owns; nothing is allocated). Nothing is ever reset. A consumer that wants "the last
// N seconds" keeps its own cursor and asks for the difference:
//
//   const reader = gateway.reader();          // one per consumer: autoscaler, canary analysis, console
//   const w = reader.read('default/stock-00002');
//   w.intervalMs          // since this reader's previous read of the revision (first read: since the
//                         // gateway first saw it)
//   w.requests            // arrivals in the window
//   w.completed, w.errors // responses finished in the window; errors = 5xx responses (the
//                         // gateway's own 502/503/504 included; a client hanging up is not one)
//   w.averageConcurrency  // time-weighted requests in the system (held + at instances) over the window
//   w.latency             // { counts, sum, count } over LATENCY_BOUNDS_SECONDS, for the window
//   histogramQuantile(0.99, LATENCY_BOUNDS_SECONDS, w.latency.counts)   // p99 in seconds
//   w.queued, w.inFlight  // right now
//
// Readers are independent: the autoscaler reading every second does not shorten the window the
// canary analyser reads every 30 s. `reader.peek(key)` gives the window without moving the cursor;
// `reader.forget(key)` drops a cursor for a revision that went away. The cumulative values are what
// /metrics exports (src/dataplane/metrics.ts), so Prometheus' rate() over them matches the deltas.

import type { RevisionSample } from './types.js';
import { bucketIndex } from '../observability/registry.js';

/**
 * Latency bucket upper bounds in milliseconds: Knative's activator/queue-proxy request-latency
 * distribution, so revision_request_latencies lines up with Knative dashboards.
 */
export const LATENCY_BOUNDS_MS: readonly number[] = [
  5, 10, 20, 40, 60, 80, 100, 150, 200, 250, 300, 350, 400, 450, 500, 600, 700, 800, 900, 1000, 2000, 5000, 10000, 20000, 50000, 100000,
];
/** The same bounds in seconds (what the request path records in). */
export const LATENCY_BOUNDS_SECONDS: readonly number[] = LATENCY_BOUNDS_MS.map((ms) => ms / 1000);
const NB = LATENCY_BOUNDS_SECONDS.length + 1;
/** Status classes: index = status / 100; 0 = the connection closed before a status was sent. */
export const STATUS_CLASSES = ['none', '1xx', '2xx', '3xx', '4xx', '5xx'] as const;

/**
 * The integral over time of a level (requests in the system), kept cumulatively: the average over
 * any window is the difference of two readings divided by the window's length.
 */
export class ConcurrencyMeter {
  level = 0;
  /** level × milliseconds since the meter started, up to `last`. */
  private area = 0;
  private last: number;

  constructor(readonly start: number) {
    this.last = start;
  }

  change(delta: number, now: number): void {
    if (now > this.last) {
      this.area += this.level * (now - this.last);
      this.last = now;
    }
    this.level += delta;
  }

  /** The integral up to `now` (level × ms), without changing anything a reader could notice. */
  areaAt(now: number): number {
    return now > this.last ? this.area + this.level * (now - this.last) : this.area;
  }
}

/** A revision's histograms and per-code counts (about 6 KB), allocated on its first response. */
interface Counts {
  /** Finished responses by status code (index 100..599; 0 = no status was sent). */
  codes: Float64Array;
  /** Latency bucket counts per status class: latency[cls * NB + bucket]. */
  latency: Float64Array;
  latencySum: Float64Array;
  /** Time from arrival to being sent to an instance (0 for requests sent at once), same buckets. */
  waitCounts: Float64Array;
}

const newCounts = (): Counts => ({
  codes: new Float64Array(600),
  latency: new Float64Array(STATUS_CLASSES.length * NB),
  latencySum: new Float64Array(STATUS_CLASSES.length),
  waitCounts: new Float64Array(NB),
});
/** What a revision without a response reads: shared, never written (writers go through writable()). */
const ZERO: Counts = newCounts();

export class RevisionStats {
  readonly meter: ConcurrencyMeter;
  /** Requests that arrived, since the gateway first saw the revision. */
  arrivals = 0;
  completed = 0;
  /** 5xx responses. */
  errors = 0;
  waitSum = 0;
  /**
   * Most revisions of a large installation never see a request (scaled to zero, idle): their
   * histograms stay unallocated and read as ZERO, so an idle revision costs a few hundred bytes.
   */
  private counts?: Counts;

  /** `meter`: another source of the level's integral (the sum over gateway workers). */
  constructor(now: number, meter?: ConcurrencyMeter) {
    this.meter = meter ?? new ConcurrencyMeter(now);
  }

  get codes(): ArrayLike<number> {
    return (this.counts ?? ZERO).codes;
  }

  get latency(): ArrayLike<number> {
    return (this.counts ?? ZERO).latency;
  }

  get latencySum(): ArrayLike<number> {
    return (this.counts ?? ZERO).latencySum;
  }

  get waitCounts(): ArrayLike<number> {
    return (this.counts ?? ZERO).waitCounts;
  }

  /** Whether any histogram or code count was written (else they all read zero). */
  get hasCounts(): boolean {
    return this.counts !== undefined;
  }

  /** The arrays to add to (allocated on the first write). */
  writable(): Counts {
    return (this.counts ??= newCounts());
  }

  /** Every counter back to zero (the histograms stay allocated if they were). */
  clear(): void {
    this.arrivals = this.completed = this.errors = this.waitSum = 0;
    if (!this.counts) return;
    for (const a of Object.values(this.counts)) a.fill(0);
  }

  observe(status: number, seconds: number): void {
    const code = status >= 100 && status < 600 ? status : 0;
    const cls = (code / 100) | 0;
    const c = this.writable();
    c.codes[code]++;
    this.completed++;
    if (cls === 5) this.errors++;
    c.latency[cls * NB + bucketIndex(LATENCY_BOUNDS_SECONDS, seconds)]++;
    c.latencySum[cls] += seconds;
  }

  observeWait(seconds: number): void {
    this.writable().waitCounts[bucketIndex(LATENCY_BOUNDS_SECONDS, seconds)]++;
    this.waitSum += seconds;
  }

  /** Responses of one status class so far. */
  classCount(cls: number): number {
    if (!this.counts) return 0;
    let n = 0;
    const lo = cls === 0 ? 0 : cls * 100;
    const hi = cls === 0 ? 1 : lo + 100;
    for (let c = lo; c < hi; c++) n += this.counts.codes[c];
    return n;
  }

  /** Latency bucket counts of one class, or of all classes when cls is undefined (a new array). */
  latencyCounts(cls?: number): Float64Array {
    const out = new Float64Array(NB);
    if (!this.counts) return out;
    const latency = this.counts.latency;
    for (let k = 0; k < STATUS_CLASSES.length; k++) {
      if (cls !== undefined && k !== cls) continue;
      for (let i = 0; i < NB; i++) out[i] += latency[k * NB + i];
    }
    return out;
  }

  latencyTotal(): number {
    if (!this.counts) return 0;
    let s = 0;
    for (let k = 0; k < STATUS_CLASSES.length; k++) s += this.counts.latencySum[k];
    return s;
  }
}

/** A window of one revision's traffic, as one reader sees it (see the header). */
export interface RevisionWindow extends RevisionSample {
  completed: number;
  errors: number;
  latency: { counts: Float64Array; sum: number; count: number };
}

/** What a reader reads: the gateway's live revision states. */
export interface StatsSource {
  now(): number;
  /** The revision's stats and current load; undefined when the gateway does not know it. */
  revision(key: string): { stats: RevisionStats; queued: number; inFlight: number } | undefined;
}

interface Cursor {
  stats: RevisionStats;
  at: number;
  arrivals: number;
  area: number;
  completed: number;
  errors: number;
  /** Read only: cursors of revisions without responses share ZERO_LATENCY. */
  latency: ArrayLike<number>;
  latencySum: number;
}

const ZERO_LATENCY: ArrayLike<number> = new Float64Array(NB);

function cursorAt(stats: RevisionStats, now: number): Cursor {
  return {
    stats,
    at: now,
    arrivals: stats.arrivals,
    area: stats.meter.areaAt(now),
    completed: stats.completed,
    errors: stats.errors,
    latency: stats.hasCounts ? stats.latencyCounts() : ZERO_LATENCY,
    latencySum: stats.latencyTotal(),
  };
}

function origin(stats: RevisionStats): Cursor {
  return {
    stats,
    at: stats.meter.start,
    arrivals: 0,
    area: 0,
    completed: 0,
    errors: 0,
    latency: ZERO_LATENCY,
    latencySum: 0,
  };
}

/** No request arrived or finished since the cursor, and none was in flight (so the area did not grow). */
function isIdleSince(prev: Cursor, stats: RevisionStats, now: number): boolean {
  return (
    stats.arrivals === prev.arrivals &&
    stats.completed === prev.completed &&
    stats.meter.level === 0 &&
    stats.meter.areaAt(now) === prev.area
  );
}

function emptyWindow(): RevisionWindow {
  return {
    averageConcurrency: 0,
    requests: 0,
    queued: 0,
    inFlight: 0,
    intervalMs: 0,
    completed: 0,
    errors: 0,
    latency: { counts: new Float64Array(NB), sum: 0, count: 0 },
  };
}

/** One consumer's view of the gateway's revisions; see the header for the contract. */
export class StatsReader {
  private readonly cursors = new Map<string, Cursor>();

  constructor(private readonly source: StatsSource) {}

  /**
   * The window since this reader's previous read of the revision; starts the next window.
   * `idleUntil` (the source's time): the caller knows nothing arrived, finished or was in flight
   * between the previous read and then, so the window starts there at the latest. A consumer that
   * stops reading an idle revision uses it to get windows of its usual length back when it starts
   * again, rather than one window as long as the pause.
   */
  read(key: string, idleUntil?: number): RevisionWindow {
    return this.window(key, true, idleUntil);
  }

  /** The source's clock (what `idleUntil` is measured on). */
  now(): number {
    return this.source.now();
  }

  /** The same window, leaving the cursor where it is. */
  peek(key: string): RevisionWindow {
    return this.window(key, false);
  }

  forget(key: string): void {
    this.cursors.delete(key);
  }

  private window(key: string, advance: boolean, idleUntil?: number): RevisionWindow {
    const rev = this.source.revision(key);
    if (!rev) {
      this.cursors.delete(key);
      return emptyWindow();
    }
    const now = this.source.now();
    const { stats } = rev;
    let prev = this.cursors.get(key);
    // Nothing happened between the cursor and idleUntil: the same counts and area stood then.
    if (prev && idleUntil !== undefined && prev.at < idleUntil) prev.at = Math.min(idleUntil, now);
    // Nothing arrived, finished or was in flight since the last read (most revisions, most of the
    // time: the autoscaler and the console read every one each second): an empty window without
    // copying the histograms.
    if (prev && prev.stats === stats && isIdleSince(prev, stats, now)) {
      const intervalMs = Math.max(0, now - prev.at);
      if (advance) prev.at = now;
      return { ...emptyWindow(), queued: rev.queued, inFlight: rev.inFlight, intervalMs };
    }
    // The gateway dropped and re-created the revision's state meanwhile: count from its start.
    if (!prev || prev.stats !== stats) {
      prev = origin(stats);
      if (idleUntil !== undefined && prev.at < idleUntil) prev.at = Math.min(idleUntil, now);
    }
    const cur = cursorAt(stats, now);
    if (advance) this.cursors.set(key, cur);
    const intervalMs = Math.max(0, now - prev.at);
    const counts = new Float64Array(NB);
    let count = 0;
    for (let i = 0; i < NB; i++) {
      counts[i] = cur.latency[i] - prev.latency[i];
      count += counts[i];
    }
    return {
      // A zero-length window has no history: report the current level.
      averageConcurrency: intervalMs > 0 ? (cur.area - prev.area) / intervalMs : stats.meter.level,
      requests: cur.arrivals - prev.arrivals,
      queued: rev.queued,
      inFlight: rev.inFlight,
      intervalMs,
      completed: cur.completed - prev.completed,
      errors: cur.errors - prev.errors,
      latency: { counts, sum: cur.latencySum - prev.latencySum, count },
    };
  }
}

/**
 * The q-quantile (0..1) of a histogram given per-bucket counts, interpolating linearly inside the
 * bucket as Prometheus' histogram_quantile does; NaN for an empty histogram. Values in the +Inf
 * bucket report the highest finite bound.
 */
export function histogramQuantile(q: number, bounds: readonly number[], counts: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i];
  if (total === 0) return NaN;
  const rank = Math.min(Math.max(q, 0), 1) * total;
  let cum = 0;
  for (let i = 0; i < bounds.length; i++) {
    const c = counts[i];
    if (cum + c >= rank && c > 0) {
      const lo = i === 0 ? 0 : bounds[i - 1];
      return lo + (bounds[i] - lo) * ((rank - cum) / c);
    }
    cum += c;
  }
  return bounds[bounds.length - 1];
}
