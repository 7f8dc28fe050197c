// The messages between the main process (control plane, slot arbiter) and the gateway workers,
// over the cluster IPC channel (serialization 'advanced', so typed arrays travel as they are).
//
//   main → worker   init (full state: routes, revisions, port) on every worker start, then one
//                   message per control-plane change; grant / refuse / reclaim / share / settle for slots
//   worker → main   hello, listening, want / cancel / return (slots), load (counters), drained
//
// One channel per worker keeps order: a worker always applies a setRevision before a grant that
// refers to its endpoints.

import type { HostRoute, RevisionBackend } from '../types.js';
import type { ListenerTimeouts } from '../../net/listener.js';
import type { RequestRecord } from '../request-log.js';

export interface WorkerConfig {
  /** 1..N, stable across restarts of the same slot (the `worker` label of its series). */
  slot: number;
  host: string;
  port: number;
  maxQueuedPerRevision: number;
  retryAfterSeconds: number;
  timeouts: Partial<ListenerTimeouts>;
  /** How often the worker sends the counters of revisions that changed. */
  loadIntervalMs: number;
  /** Somebody reads the request log right now. */
  requestLog: boolean;
  /** The internal listener (cluster-local hosts), once the main process was asked for one. */
  internal: { host: string; port: number } | null;
}

export type ToWorker =
  | {
      t: 'init';
      config: WorkerConfig;
      routes: [owner: string, routes: HostRoute[]][];
      revisions: RevisionBackend[];
    }
  | { t: 'route'; owner: string; routes: HostRoute[] }
  | { t: 'revision'; backend: RevisionBackend }
  | { t: 'remove'; key: string }
  | { t: 'drain'; key: string; id: string; token: number }
  | { t: 'failHeld'; key: string; status: number; message: string }
  /** n slots on endpoint `ep` are this worker's now (one per want it sent). */
  | { t: 'grant'; key: string; ep: string; n: number }
  /** n of this worker's wants are past the revision's hold bound: answer its n newest held requests 503. */
  | { t: 'refuse'; key: string; n: number; held: number }
  /** Requests wait for a slot: give back idle slots, and slots over the share as they free, until settle. */
  | { t: 'reclaim'; key: string }
  /** While reclaiming: this worker may keep n slots of the revision for its own held requests (0 until told). */
  | { t: 'share'; key: string; n: number }
  | { t: 'settle'; key: string }
  /** Send the counters that changed now, then `flushed` (a scrape is waiting). */
  | { t: 'flush'; token: number }
  /** Answer `flushed` once everything sent before this is applied (a Route waits for it to be Ready). */
  | { t: 'sync'; token: number }
  /** Open the internal listener too; answered with `listenedInternal`. */
  | { t: 'listenInternal'; host: string; port: number; token: number }
  /** Whether somebody reads the request log: the worker forwards its records while true. */
  | { t: 'requestLog'; on: boolean }
  | { t: 'close' };

/**
 * A counter array with its zeros left out: index, value, index, value... Most of the 600 status
 * codes and latency buckets of a revision are zero, and reports go out ten times a second.
 */
export type Sparse = Float64Array;

export function toSparse(a: ArrayLike<number>): Sparse {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== 0) n++;
  const out = new Float64Array(n * 2);
  let k = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i] === 0) continue;
    out[k++] = i;
    out[k++] = a[i];
  }
  return out;
}

/** Adds a sparse array into a dense one. */
export function addSparse(to: Float64Array, from: Sparse): void {
  for (let k = 0; k < from.length; k += 2) to[from[k]] += from[k + 1];
}

/** A revision's cumulative counters in one worker (RevisionStats' fields) and its load right now. */
export interface RevisionSnapshot {
  key: string;
  arrivals: number;
  completed: number;
  errors: number;
  codes: Sparse;
  latency: Sparse;
  latencySum: Sparse;
  waitCounts: Sparse;
  waitSum: number;
  /** The concurrency meter's integral (level × ms) at the worker's now, and its level. */
  area: number;
  level: number;
  queued: number;
  inFlight: number;
  oldestWait: number;
  endpoints: { id: string; inFlight: number; idleMs: number | null }[];
}

export type FromWorker =
  | { t: 'hello' }
  | { t: 'listening'; port: number }
  | { t: 'listenFailed'; message: string; code?: string }
  /** n more held requests need a slot (or, without capacity at all, count against the bound). */
  | { t: 'want'; key: string; n: number }
  | { t: 'cancel'; key: string; n: number }
  | { t: 'return'; key: string; ep: string; n: number }
  /** Answer to reclaim: this worker's idle slots of the revision have been returned (just before). */
  | { t: 'reclaimed'; key: string }
  /** Counters of the revisions that changed, the ones it forgot, and every request it has taken. */
  | { t: 'load'; revisions: RevisionSnapshot[]; gone: string[]; rejections?: [string, number][]; requests: number }
  | { t: 'drained'; token: number }
  | { t: 'flushed'; token: number }
  | { t: 'listenedInternal'; token: number; error?: string }
  | { t: 'requests'; records: RequestRecord[] };
