// One metrics registry for the whole process, rendered as Prometheus text (exposition format
// 0.0.4) only when scraped.
//
// Two kinds of series:
//   - recorded: counter / gauge / histogram families with label-bound children. `family.child(...)`
//     is looked up once (it escapes the label values then) and kept by the caller; recording on a
//     child is plain arithmetic on numbers it owns: no allocation, no string work, no Map lookup.
//   - observed: `registry.observed(...)` families whose values are read from component state at
//     scrape time (the gateway's per-revision counters, the autoscaler's decider state), the way
//     Knative registers observable gauges with a callback. Nothing at all happens between scrapes.
//
// Names and label names are checked at registration (a typo throws at start, not at scrape).

export type MetricType = 'counter' | 'gauge' | 'histogram';

const NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Escapes a label value for the text format. */
export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** `a="x",b="y"` for the given names and values (values escaped). */
export function labelString(names: readonly string[], values: readonly string[]): string {
  let s = '';
  for (let i = 0; i < names.length; i++) s += `${i ? ',' : ''}${names[i]}="${escapeLabelValue(values[i] ?? '')}"`;
  return s;
}

/** Prometheus' spelling of a sample value. */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function series(name: string, labels: string, value: number): string {
  return labels ? `${name}{${labels}} ${formatValue(value)}` : `${name} ${formatValue(value)}`;
}

/**
 * Appends a histogram's `_bucket`, `_sum` and `_count` lines. `counts` holds per-bucket (not
 * cumulative) counts, one per bound plus the +Inf bucket.
 */
export function histogramLines(
  out: string[],
  name: string,
  labels: string,
  bounds: readonly number[],
  counts: ArrayLike<number>,
  sum: number,
): void {
  const sep = labels ? ',' : '';
  let cum = 0;
  for (let i = 0; i < bounds.length; i++) {
    cum += counts[i];
    out.push(`${name}_bucket{${labels}${sep}le="${formatValue(bounds[i])}"} ${cum}`);
  }
  cum += counts[bounds.length];
  out.push(`${name}_bucket{${labels}${sep}le="+Inf"} ${cum}`);
  out.push(series(`${name}_sum`, labels, sum));
  out.push(series(`${name}_count`, labels, cum));
}

/** Index of the bucket a value falls in: the first bound >= v, or bounds.length for +Inf. */
export function bucketIndex(bounds: readonly number[], v: number): number {
  let i = 0;
  while (i < bounds.length && v > bounds[i]) i++;
  return i;
}

interface Family {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  lines(out: string[]): void;
}

export class CounterChild {
  value = 0;
  constructor(readonly labels: string) {}
  inc(n = 1): void {
    this.value += n;
  }
}

export class GaugeChild {
  value = 0;
  constructor(readonly labels: string) {}
  set(v: number): void {
    this.value = v;
  }
  inc(n = 1): void {
    this.value += n;
  }
  dec(n = 1): void {
    this.value -= n;
  }
}

export class HistogramChild {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(
    readonly labels: string,
    readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length + 1);
  }
  observe(v: number): void {
    this.counts[bucketIndex(this.bounds, v)]++;
    this.sum += v;
    this.count++;
  }
}

abstract class RecordedFamily<C extends { labels: string }> implements Family {
  private readonly children = new Map<string, C>();
  abstract readonly type: MetricType;

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {}

  protected abstract make(labels: string): C;

  /** The series for these label values (created on first use); keep it and record on it. */
  child(...values: string[]): C {
    if (values.length !== this.labelNames.length)
      throw new TypeError(
        `${this.name}: expected ${this.labelNames.length} label values (${this.labelNames.join(', ')}), got ${values.length}`,
      );
    const key = values.join('\u0000');
    let c = this.children.get(key);
    if (!c) {
      c = this.make(labelString(this.labelNames, values));
      this.children.set(key, c);
    }
    return c;
  }

  /** Drops a series (a revision that is gone), so it stops being exported. */
  remove(...values: string[]): void {
    this.children.delete(values.join('\u0000'));
  }

  lines(out: string[]): void {
    for (const c of this.children.values()) this.childLines(out, c);
  }

  protected abstract childLines(out: string[], c: C): void;
}

export class Counter extends RecordedFamily<CounterChild> {
  readonly type = 'counter';
  protected make(labels: string): CounterChild {
    return new CounterChild(labels);
  }
  protected childLines(out: string[], c: CounterChild): void {
    out.push(series(this.name, c.labels, c.value));
  }
}

export class Gauge extends RecordedFamily<GaugeChild> {
  readonly type = 'gauge';
  protected make(labels: string): GaugeChild {
    return new GaugeChild(labels);
  }
  protected childLines(out: string[], c: GaugeChild): void {
    out.push(series(this.name, c.labels, c.value));
  }
}

export class Histogram extends RecordedFamily<HistogramChild> {
  readonly type = 'histogram';
  constructor(
    name: string,
    help: string,
    readonly bounds: readonly number[],
    labelNames: readonly string[],
  ) {
    super(name, help, labelNames);
    for (let i = 1; i < bounds.length; i++)
      if (!(bounds[i] > bounds[i - 1])) throw new TypeError(`${name}: histogram bounds must increase, got ${bounds.join(', ')}`);
  }
  protected make(labels: string): HistogramChild {
    return new HistogramChild(labels, this.bounds);
  }
  protected childLines(out: string[], c: HistogramChild): void {
    histogramLines(out, this.name, c.labels, this.bounds, c.counts, c.sum);
  }
}

/** What an observed family's callback writes into at scrape time. */
export interface Emitter {
  /** One counter or gauge sample. */
  value(labelValues: readonly string[], v: number): void;
  /** One histogram series from per-bucket counts (bounds.length + 1 entries) and their sum. */
  histogram(labelValues: readonly string[], counts: ArrayLike<number>, sum: number): void;
}

class ObservedFamily implements Family {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: MetricType,
    readonly labelNames: readonly string[],
    readonly bounds: readonly number[],
    readonly collect: (emit: Emitter) => void,
  ) {}

  lines(out: string[]): void {
    const emit: Emitter = {
      value: (values, v) => out.push(series(this.name, labelString(this.labelNames, values), v)),
      histogram: (values, counts, sum) => histogramLines(out, this.name, labelString(this.labelNames, values), this.bounds, counts, sum),
    };
    this.collect(emit);
  }
}

export interface ObservedSpec {
  name: string;
  help: string;
  type: MetricType;
  labels: readonly string[];
  /** Histogram bucket upper bounds (+Inf implicit); histograms only. */
  buckets?: readonly number[];
  collect: (emit: Emitter) => void;
}

export class Registry {
  private readonly families = new Map<string, Family>();
  private readonly refreshers: (() => Promise<void>)[] = [];

  /**
   * Something to bring up to date before a scrape renders (the gateway's worker processes report
   * their counters on request), so a scrape shows everything finished before it.
   */
  beforeScrape(fn: () => Promise<void>): void {
    this.refreshers.push(fn);
  }

  /** Runs every beforeScrape hook; a failing one leaves its values as they were. */
  async refresh(): Promise<void> {
    await Promise.all(this.refreshers.map((fn) => fn().catch(() => undefined)));
  }

  counter(name: string, help: string, labels: readonly string[] = []): Counter {
    return this.add(new Counter(name, help, this.checkLabels(name, labels)));
  }

  gauge(name: string, help: string, labels: readonly string[] = []): Gauge {
    return this.add(new Gauge(name, help, this.checkLabels(name, labels)));
  }

  histogram(name: string, help: string, buckets: readonly number[], labels: readonly string[] = []): Histogram {
    return this.add(new Histogram(name, help, buckets, this.checkLabels(name, labels)));
  }

  /** A family whose samples are read from state at scrape time. */
  observed(spec: ObservedSpec): void {
    if (spec.type === 'histogram' && !spec.buckets) throw new TypeError(`${spec.name}: an observed histogram needs buckets`);
    this.add(
      new ObservedFamily(spec.name, spec.help, spec.type, this.checkLabels(spec.name, spec.labels), spec.buckets ?? [], spec.collect),
    );
  }

  /** The registered family names, in registration order. */
  names(): string[] {
    return [...this.families.keys()];
  }

  /** Prometheus text exposition of every family. A failing collector is reported, not fatal. */
  render(): string {
    const out: string[] = [];
    for (const f of this.families.values()) {
      out.push(`# HELP ${f.name} ${f.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`);
      out.push(`# TYPE ${f.name} ${f.type}`);
      const mark = out.length;
      try {
        f.lines(out);
      } catch (err) {
        out.length = mark;
        out.push(`# ${f.name}: collecting failed: ${String((err as Error)?.message ?? err).replace(/\n/g, ' ')}`);
      }
    }
    return out.join('\n') + '\n';
  }

  private add<F extends Family>(f: F): F {
    if (!NAME_RE.test(f.name)) throw new TypeError(`invalid metric name "${f.name}"`);
    if (this.families.has(f.name)) throw new TypeError(`metric "${f.name}" is already registered`);
    this.families.set(f.name, f);
    return f;
  }

  private checkLabels(name: string, labels: readonly string[]): readonly string[] {
    for (const l of labels) if (!LABEL_RE.test(l) || l === 'le') throw new TypeError(`${name}: invalid label name "${l}"`);
    return [...labels];
  }
}

/** The text format's content type. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
