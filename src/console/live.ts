// The console's live numbers: once a second, each revision's request rate, 5xx rate, p50/p99
// latency, concurrency and instance counts, read through the console's own stats reader (so the
// autoscaler's windows are untouched). The last few minutes are kept so a page opened now starts
// with history, and every tick is pushed to the open event streams. A revision with nothing to
// show (no requests, no instances) is left out of a tick: with thousands of revisions at zero,
// points of zeros would be most of the history's memory; the page reads a missing one as idle.
// It ticks only while something subscribes (a page is open): with nobody watching it costs
// nothing. When ticks resume, the first reading only starts the windows (so the first point is
// not an average over the pause) and history older than what is kept for new pages is dropped.

import { LATENCY_BOUNDS_SECONDS, histogramQuantile, type StatsReader } from '../dataplane/stats.js';

export interface RevisionPoint {
  /** Arrivals per second. */
  rps: number;
  /** 5xx responses per second. */
  errorsPerSecond: number;
  /** 5xx share of the responses finished in the second (0 when none finished). */
  errorRate: number;
  /** Latency quantiles of the responses finished in the second, ms; null when none finished. */
  p50Ms: number | null;
  p99Ms: number | null;
  concurrency: number;
  readyInstances: number;
  desired?: number;
}

export interface Tick {
  time: number;
  revisions: Record<string, RevisionPoint>;
}

export interface LiveFeedOptions {
  reader: StatsReader;
  /** The revisions to report ("{namespace}/{name}"). */
  keys: () => Iterable<string>;
  instances: (key: string) => { readyInstances: number; desired?: number };
  now?: () => number;
  intervalMs?: number;
  /** Ticks kept for new pages (default 300: five minutes). */
  history?: number;
}

function quantileMs(q: number, counts: ArrayLike<number>): number | null {
  const v = histogramQuantile(q, LATENCY_BOUNDS_SECONDS, counts);
  return Number.isNaN(v) ? null : Math.round(v * 1000 * 100) / 100;
}

const round = (v: number) => Math.round(v * 1000) / 1000;

export class LiveFeed {
  private readonly ticks: Tick[] = [];
  private readonly subscribers = new Set<(t: Tick) => void>();
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  constructor(private readonly o: LiveFeedOptions) {
    this.now = o.now ?? Date.now;
  }

  private enabled = false;

  /** Ticks from now on while there are subscribers. */
  start(): void {
    this.enabled = true;
    this.schedule();
  }

  stop(): void {
    this.enabled = false;
    this.schedule();
  }

  /** Whether the timer runs (started, and someone subscribes). */
  get ticking(): boolean {
    return this.timer !== undefined;
  }

  private schedule(): void {
    const want = this.enabled && this.subscribers.size > 0;
    if (want === (this.timer !== undefined)) return;
    if (!want) {
      clearInterval(this.timer);
      this.timer = undefined;
      return;
    }
    const interval = this.o.intervalMs ?? 1000;
    const oldest = this.now() - (this.o.history ?? 300) * interval;
    while (this.ticks.length > 0 && this.ticks[0].time < oldest) this.ticks.shift();
    this.read(); // starts every window now
    this.timer = setInterval(() => this.tick(), interval);
    this.timer.unref();
  }

  history(): Tick[] {
    return [...this.ticks];
  }

  subscribe(cb: (t: Tick) => void): () => void {
    this.subscribers.add(cb);
    this.schedule();
    return () => {
      this.subscribers.delete(cb);
      this.schedule();
    };
  }

  /** Reads one window per revision and publishes it (the timer calls it; tests may too). */
  tick(): Tick {
    const t: Tick = { time: this.now(), revisions: this.read() };
    this.ticks.push(t);
    if (this.ticks.length > (this.o.history ?? 300)) this.ticks.shift();
    for (const s of this.subscribers) {
      try {
        s(t);
      } catch {
        // A closed stream must not stop the others.
      }
    }
    return t;
  }

  private read(): Record<string, RevisionPoint> {
    const revisions: Record<string, RevisionPoint> = {};
    for (const key of new Set(this.o.keys())) {
      const w = this.o.reader.read(key);
      const instances = this.o.instances(key);
      if (w.requests === 0 && w.completed === 0 && w.averageConcurrency === 0 && instances.readyInstances === 0 && !instances.desired)
        continue;
      const secs = w.intervalMs > 0 ? w.intervalMs / 1000 : 1;
      revisions[key] = {
        rps: round(w.requests / secs),
        errorsPerSecond: round(w.errors / secs),
        errorRate: w.completed > 0 ? round(w.errors / w.completed) : 0,
        p50Ms: quantileMs(0.5, w.latency.counts),
        p99Ms: quantileMs(0.99, w.latency.counts),
        concurrency: round(w.averageConcurrency),
        ...instances,
      };
    }
    return revisions;
  }
}
