// How far V8 lets the server's heap grow past its live data before collecting. V8 picks the
// factor itself, up to 4× when the program allocates fast, which a control plane does in bursts
// (every stored version is parsed, serialized and sent to each watcher): at 3,000 Services the
// server's heap was 602 MiB with 156 MiB live, and its RSS 702 MiB. A fixed growth keeps the heap
// near its live size at the price of more frequent full collections (docs/benchmarks.md, "Control
// plane at scale": RSS and server CPU with and without it).
//
// Only `sluice server` (and the benchmark's copy of it) sets it: startSluice also runs inside
// tests and other programs, whose heap is theirs to tune. A --heap-growing-percent given to node
// (command line or NODE_OPTIONS) wins.

import { performance } from 'node:perf_hooks';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';

export const SERVER_HEAP_GROWING_PERCENT = 60;

export function limitHeapGrowth(percent = SERVER_HEAP_GROWING_PERCENT): void {
  const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  if (given.some((a) => a.startsWith('--heap-growing-percent') || a.startsWith('--heap_growing_percent'))) return;
  v8.setFlagsFromString(`--heap-growing-percent=${percent}`);
}

// ---- giving back the heap's free space after a burst ----
//
// After a burst of work (a bulk apply, a restart over thousands of objects) V8 keeps the pages it
// grew into: at 10,000 Services the heap stayed at about 600 MiB committed for 380 MiB used, and
// its own memory reducer gave back only a part of it. A compacting full collection when the
// process has been quiet for a while gives the free pages back (they leave the RSS at the next
// collection, so a second, cheap one follows a second later). It stops the event loop while it
// runs, so it is done only after a quiet spell, when the free space is large, and not again soon.

export interface HeapSample {
  /** V8's committed heap (total_heap_size) and the part in use (used_heap_size), bytes. */
  committedBytes: number;
  usedBytes: number;
  /** Event-loop utilisation (0..1) since the previous sample. */
  utilization: number;
  /** When it was taken (ms, any monotonic clock). */
  at: number;
}

export interface TrimPolicy {
  /** Free space (committed − used) worth a collection... */
  minFreeBytes: number;
  /** ...that is also at least this share of the committed heap. */
  minFreeShare: number;
  /** Quiet: utilisation below this... */
  maxUtilization: number;
  /** ...in this many samples in a row. */
  quietSamples: number;
  /** At most one collection in this long. */
  minGapMs: number;
}

export const DEFAULT_TRIM_POLICY: TrimPolicy = {
  minFreeBytes: 96 * 2 ** 20,
  minFreeShare: 0.3,
  maxUtilization: 0.05,
  quietSamples: 3,
  minGapMs: 5 * 60_000,
};

/**
 * A gateway worker's heap is small (its routing table: about 3 KB per Service) but grows with the
 * route changes of a bulk apply; its pause holds the requests in that worker, so it trims only when
 * nearly idle (under 2 % busy: a few hundred requests per second at most), and for less free space.
 */
export const WORKER_TRIM_POLICY: TrimPolicy = {
  ...DEFAULT_TRIM_POLICY,
  minFreeBytes: 16 * 2 ** 20,
  maxUtilization: 0.02,
};

export interface TrimState {
  /** Quiet samples in a row so far. */
  quiet: number;
  /** When the last collection ran (-Infinity: never). */
  lastAt: number;
}

export const initialTrimState = (): TrimState => ({ quiet: 0, lastAt: -Infinity });

/** Whether to collect now, and the state for the next sample. */
export function trimDecision(state: TrimState, s: HeapSample, p: TrimPolicy = DEFAULT_TRIM_POLICY): { trim: boolean; state: TrimState } {
  const quiet = s.utilization < p.maxUtilization ? state.quiet + 1 : 0;
  const free = s.committedBytes - s.usedBytes;
  const trim =
    quiet >= p.quietSamples && free >= p.minFreeBytes && free >= p.minFreeShare * s.committedBytes && s.at - state.lastAt >= p.minGapMs;
  return { trim, state: trim ? { quiet: 0, lastAt: s.at } : { quiet, lastAt: state.lastAt } };
}

/**
 * Samples the heap every `intervalMs` and runs two full collections when trimDecision says so;
 * `log` hears what they gave back and how long the first took. Returns a stop function.
 */
export function startHeapTrimmer(log: (msg: string) => void, intervalMs = 5_000, policy = DEFAULT_TRIM_POLICY): () => void {
  // V8's gc() function, which only exists in contexts made after --expose-gc is set.
  v8.setFlagsFromString('--expose-gc');
  const collect = runInNewContext('gc') as () => void;
  let state = initialTrimState();
  let elu = performance.eventLoopUtilization();
  let second: NodeJS.Timeout | undefined;
  const mib = (b: number) => Math.round(b / 2 ** 20);
  const timer = setInterval(() => {
    const next = performance.eventLoopUtilization();
    const h = v8.getHeapStatistics();
    const sample = {
      committedBytes: h.total_heap_size,
      usedBytes: h.used_heap_size,
      utilization: performance.eventLoopUtilization(next, elu).utilization,
      at: performance.now(),
    };
    elu = next;
    const d = trimDecision(state, sample, policy);
    state = d.state;
    if (!d.trim) return;
    const rss0 = process.memoryUsage.rss();
    const t0 = performance.now();
    // This one collection moves every live object off fragmented pages, so whole pages come free:
    // a plain full collection leaves most of them in use by a few survivors each (at 10,000
    // Services 396 MiB stayed committed for 222 MiB used). Only here, not on every collection:
    // moving objects makes the pause longer, which a quiet spell can afford.
    v8.setFlagsFromString('--compact-on-every-full-gc');
    try {
      collect();
    } finally {
      v8.setFlagsFromString('--no-compact-on-every-full-gc');
    }
    const ms = performance.now() - t0;
    second = setTimeout(() => {
      collect();
      const committed = v8.getHeapStatistics().total_heap_size;
      log(
        `heap: after a quiet spell, full collections gave back ${mib(sample.committedBytes - committed)} MiB of heap ` +
          `(${mib(committed)} MiB committed now), RSS ${mib(rss0)} -> ${mib(process.memoryUsage.rss())} MiB; the first took ${Math.round(ms)} ms`,
      );
      // The collections were busy time: the next quiet spell starts after them.
      elu = performance.eventLoopUtilization();
    }, 1_000);
    second.unref();
  }, intervalMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    clearTimeout(second);
  };
}
