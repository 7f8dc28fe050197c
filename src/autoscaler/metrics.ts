// Per-revision metric windows: 1-second buckets, averaged over the stable and the panic window.
//
// Averaging follows Knative's TimedFloat64Buckets (pkg/autoscaler/aggregation/bucketing.go):
// - a plain mean of the buckets (each bucket holds what was recorded during that second);
// - a window that is not full yet averages only over the seconds since the first write, so a
//   fresh revision (or one that just came back from zero) is not diluted by imaginary zeros;
// - when writes stop, the missing trailing seconds are left out (not counted as zero) until a
//   whole window has passed, after which the window is empty and averages 0;
// - gaps in between writes count as zero.
// The optional "weighted-exponential" algorithm (annotation metric-aggregation-algorithm) weighs
// recent seconds more, with a decay chosen so the weights over the window sum to ~1.

import type { RevisionSample } from '../dataplane/types.js';

export type AggregationAlgorithm = 'linear' | 'weighted-exponential';

const round6 = (x: number) => Math.round(x * 1e6) / 1e6;

export class MetricWindow {
  private readonly n: number;
  /**
   * Allocated on the first non-zero value: until then every bucket is zero (an idle revision's
   * windows, most of them at thousands of revisions, cost no arrays).
   */
  private buckets?: number[];
  private total = 0;
  private firstWrite: number | undefined; // bucket indices
  private lastWrite: number | undefined;
  private readonly smoothing: number;

  constructor(
    readonly windowMs: number,
    readonly granularityMs = 1000,
    readonly algorithm: AggregationAlgorithm = 'linear',
  ) {
    const n = Math.max(1, Math.ceil(windowMs / granularityMs));
    this.n = n;
    // At least 0.2, otherwise large windows approach a plain mean; else enough that the weights
    // over n buckets reach 99.99%.
    this.smoothing = Math.max(1 - Math.pow(1 - 0.9999, 1 / n), 0.2);
  }

  private slot(b: number) {
    return ((b % this.n) + this.n) % this.n;
  }

  record(now: number, value: number): void {
    if (!Number.isFinite(value)) return;
    const b = Math.floor(now / this.granularityMs);
    if (this.lastWrite === undefined) {
      this.firstWrite = this.lastWrite = b;
    } else if (b > this.lastWrite) {
      const buckets = this.buckets;
      if (b - this.lastWrite >= this.n) {
        // Silent for a whole window: start over, as if this were the first write.
        buckets?.fill(0);
        this.total = 0;
        this.firstWrite = b;
      } else if (buckets) {
        for (let i = this.lastWrite + 1; i <= b; i++) {
          this.total -= buckets[this.slot(i)];
          buckets[this.slot(i)] = 0;
        }
      }
      this.lastWrite = b;
    } else if (b <= this.lastWrite - this.n) {
      return; // older than the window
    } else if (b < this.firstWrite!) {
      this.firstWrite = b;
    }
    if (value === 0 && !this.buckets) return;
    (this.buckets ??= new Array<number>(this.n).fill(0))[this.slot(b)] += value;
    this.total += value;
  }

  /** Every bucket is zero: recording another zero would only move the time of the last write. */
  holdsOnlyZeros(): boolean {
    for (const b of this.buckets ?? []) if (b !== 0) return false;
    return true;
  }

  /**
   * The same as recording 0 for every second from `from` (or the last write) up to `now`, in O(1);
   * only for a window that holds only zeros. Unlike a first write after a silence, this keeps the
   * first write where it was, as the zeros would have.
   */
  zeroTo(from: number, now: number): void {
    const b = Math.floor(now / this.granularityMs);
    if (this.lastWrite === undefined) this.firstWrite = Math.min(Math.floor(from / this.granularityMs), b);
    else if (b <= this.lastWrite) return;
    this.lastWrite = b;
    this.total = 0;
  }

  /** True when nothing was recorded for longer than the window. */
  isEmpty(now: number): boolean {
    if (this.lastWrite === undefined) return true;
    return (Math.floor(now / this.granularityMs) - this.lastWrite) * this.granularityMs > this.windowMs;
  }

  average(now: number): number {
    if (this.lastWrite === undefined) return 0;
    return this.algorithm === 'weighted-exponential' ? this.weightedAverage(now) : this.linearAverage(now);
  }

  private linearAverage(now: number): number {
    const nb = Math.floor(now / this.granularityMs);
    const last = this.lastWrite!;
    const d = nb - last;
    const written = last - this.firstWrite! + 1;
    if (d <= 0) return round6(this.total / Math.min(written, this.n));
    if (d >= this.n) return 0;
    // Drop the buckets that slid out of the window since the last write.
    let sum = this.total;
    if (this.buckets) for (let i = last + 1; i <= nb; i++) sum -= this.buckets[this.slot(i)];
    return round6(sum / Math.min(written, this.n - d));
  }

  private weightedAverage(now: number): number {
    if (this.isEmpty(now)) return 0;
    const nb = Math.floor(now / this.granularityMs);
    const last = this.lastWrite!;
    let weight = this.smoothing;
    let count = this.n;
    if (nb > last) {
      // Seconds without data are zeros: skip their weights.
      weight *= Math.pow(1 - this.smoothing, nb - last);
      count -= nb - last;
    }
    const buckets = this.buckets;
    if (!buckets) return 0;
    let sum = 0;
    for (let i = 0; i < count; i++) {
      sum += buckets[this.slot(last - i)] * weight;
      weight *= 1 - this.smoothing;
    }
    return sum;
  }
}

export interface ObservedValues {
  stable: number;
  panic: number;
}

export interface TimedSample extends RevisionSample {
  /** Epoch ms at which the sample was recorded. */
  time: number;
}

export interface RevisionMetricsOptions {
  stableWindowMs: number;
  panicWindowMs: number;
  algorithm?: AggregationAlgorithm;
  /**
   * Keep the raw samples of the last stable window (default true). Only plugins read them; with
   * thousands of revisions they are most of the autoscaler's memory, so the controller keeps them
   * for plugin-class revisions only.
   */
  keepSamples?: boolean;
}

/**
 * Everything the autoscaler keeps about one revision's traffic: concurrency and rps windows
 * (stable + panic each, like Knative's collector) and the raw samples of the last stable window
 * (for plugins). Feed it every RevisionSample the data plane reports.
 */
export class RevisionMetrics {
  private concurrencyStable!: MetricWindow;
  private concurrencyPanic!: MetricWindow;
  private rpsStable!: MetricWindow;
  private rpsPanic!: MetricWindow;
  private samples: TimedSample[] = [];
  private opts!: Required<RevisionMetricsOptions>;
  /** Paused at this time: reads as if a zero sample had been recorded every second since (see pause). */
  private pausedAt: number | undefined;

  constructor(opts: RevisionMetricsOptions) {
    this.configure(opts);
  }

  /** Changes windows; history is kept only when nothing changed (a resize starts afresh). */
  configure(opts: RevisionMetricsOptions): void {
    const next = { ...opts, algorithm: opts.algorithm ?? 'linear', keepSamples: opts.keepSamples ?? true };
    if (!next.keepSamples) this.samples = [];
    if (this.opts) this.opts.keepSamples = next.keepSamples;
    if (
      this.opts &&
      this.opts.stableWindowMs === next.stableWindowMs &&
      this.opts.panicWindowMs === next.panicWindowMs &&
      this.opts.algorithm === next.algorithm
    ) {
      return;
    }
    this.opts = next;
    this.pausedAt = undefined;
    this.concurrencyStable = new MetricWindow(next.stableWindowMs, 1000, next.algorithm);
    this.concurrencyPanic = new MetricWindow(next.panicWindowMs, 1000, next.algorithm);
    this.rpsStable = new MetricWindow(next.stableWindowMs, 1000, next.algorithm);
    this.rpsPanic = new MetricWindow(next.panicWindowMs, 1000, next.algorithm);
  }

  /**
   * Whether the caller may stop feeding zero samples (pause): every window holds only zeros and no
   * raw samples are kept, so a zero would change nothing but the time of the last write.
   */
  onlyZeros(): boolean {
    if (this.opts.keepSamples) return false;
    return (
      this.concurrencyStable.holdsOnlyZeros() &&
      this.concurrencyPanic.holdsOnlyZeros() &&
      this.rpsStable.holdsOnlyZeros() &&
      this.rpsPanic.holdsOnlyZeros()
    );
  }

  /**
   * Stops expecting samples (call only when onlyZeros()): until the next record() it reads exactly
   * as if a zero sample had arrived every second, at no cost per second. For revisions with no
   * traffic: the controller feeds only the revisions something happens to.
   */
  pause(now: number): void {
    if (this.pausedAt === undefined && this.onlyZeros()) this.pausedAt = now;
  }

  get paused(): boolean {
    return this.pausedAt !== undefined;
  }

  /** Writes the zeros a pause stood for, up to `now`. */
  private resume(now: number): void {
    const from = this.pausedAt;
    if (from === undefined) return;
    this.pausedAt = undefined;
    for (const w of [this.concurrencyStable, this.concurrencyPanic, this.rpsStable, this.rpsPanic]) w.zeroTo(from, now);
  }

  record(now: number, sample: RevisionSample): void {
    this.resume(now);
    const concurrency = Math.max(0, sample.averageConcurrency);
    const seconds = sample.intervalMs > 0 ? sample.intervalMs / 1000 : 1;
    const rps = Math.max(0, sample.requests) / seconds;
    this.concurrencyStable.record(now, concurrency);
    this.concurrencyPanic.record(now, concurrency);
    this.rpsStable.record(now, rps);
    this.rpsPanic.record(now, rps);
    if (!this.opts.keepSamples) return;
    // Only the sample's own fields: a window from the gateway carries more (latency arrays).
    const { averageConcurrency, requests, queued, inFlight, intervalMs } = sample;
    this.samples.push({ averageConcurrency, requests, queued, inFlight, intervalMs, time: now });
    const cutoff = now - this.opts.stableWindowMs;
    let drop = 0;
    while (drop < this.samples.length && this.samples[drop].time <= cutoff) drop++;
    if (drop) this.samples.splice(0, drop);
  }

  /**
   * Stable and panic averages of the revision total (not per instance) for concurrency or rps;
   * null when nothing was recorded for a whole stable window (Knative's "no data").
   */
  observed(metric: 'concurrency' | 'rps', now: number): ObservedValues | null {
    // Paused: zeros every second up to now, so neither empty nor anything but zero.
    if (this.pausedAt !== undefined) return { stable: 0, panic: 0 };
    const [s, p] = metric === 'rps' ? [this.rpsStable, this.rpsPanic] : [this.concurrencyStable, this.concurrencyPanic];
    if (s.isEmpty(now)) return null;
    return { stable: s.average(now), panic: p.average(now) };
  }

  /** Samples of the last stable window, oldest first. */
  recentSamples(): TimedSample[] {
    return this.samples.slice();
  }

  latest(): TimedSample | undefined {
    return this.samples[this.samples.length - 1];
  }
}
