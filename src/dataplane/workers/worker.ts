// A gateway worker process (started by cluster.ts through node:cluster): one Gateway on the shared
// listening port, fed by the main process over IPC. It owns no state the main process cannot give
// a replacement: routes and revisions come in `init` and then as changes; its counters go out
// every loadIntervalMs (only revisions that changed), summed in the main process.
//
// Shutdown belongs to the main process: SIGINT and SIGTERM are ignored (a Ctrl-C reaches the whole
// process group; the main process then closes the workers in order), and a worker whose main
// process went away (IPC disconnect) exits at once, so no worker outlives it.

import process from 'node:process';
import { startHeapTrimmer, WORKER_TRIM_POLICY } from '../../heap.js';
import { Gateway } from '../gateway.js';
import { requestChannel, type RequestRecord } from '../request-log.js';
import type { RevisionMetricsView } from '../metrics.js';
import { WorkerSlots } from './leases.js';
import { toSparse, type FromWorker, type RevisionSnapshot, type ToWorker, type WorkerConfig } from './protocol.js';

const send = (msg: FromWorker): void => {
  if (process.connected) process.send!(msg);
};

const slots = new WorkerSlots();
let gateway: Gateway | null = null;
let loadTimer: NodeJS.Timeout | null = null;
/** What was last sent of each revision, to send only what changed. */
interface Sent {
  arrivals: number;
  completed: number;
  level: number;
  queued: number;
  inFlight: number;
}
const sent = new Map<string, Sent>();
let sentRejections = '';
/** Arrivals of revision states this worker has forgotten, so its request total never goes back. */
let forgottenArrivals = 0;

function snapshot(gw: Gateway, v: RevisionMetricsView, now: number): RevisionSnapshot {
  const s = v.stats;
  return {
    key: v.key,
    arrivals: s.arrivals,
    completed: s.completed,
    errors: s.errors,
    codes: toSparse(s.codes),
    latency: toSparse(s.latency),
    latencySum: toSparse(s.latencySum),
    waitCounts: toSparse(s.waitCounts),
    waitSum: s.waitSum,
    area: s.meter.areaAt(now),
    level: s.meter.level,
    queued: v.queued,
    inFlight: v.inFlight,
    oldestWait: v.oldestWait ?? 0,
    endpoints: gw.load(v.key)?.endpoints ?? [],
  };
}

/**
 * Sends the counters of every revision that changed since the last report, and the ones that went.
 * It runs every load interval over every revision, so an unchanged one costs a few comparisons and
 * no allocation (at 10,000 revisions a copy, a view and a string per revision each time kept an
 * idle worker 7 % busy).
 */
function reportLoad(): void {
  const gw = gateway;
  if (!gw) return;
  const now = performance.now();
  const revisions: RevisionSnapshot[] = [];
  let requests = forgottenArrivals;
  const before = sent.size;
  let known = 0;
  for (const r of gw.revisionStates()) {
    const st = r.stats;
    requests += st.arrivals;
    const last = sent.get(r.key);
    if (last !== undefined) known++;
    const level = st.meter.level;
    if (
      last !== undefined &&
      last.arrivals === st.arrivals &&
      last.completed === st.completed &&
      last.level === level &&
      last.queued === r.queued &&
      last.inFlight === r.inFlight
    ) {
      continue;
    }
    // Busy endpoints' idle times move even when nothing else does; they are sent with any change.
    sent.set(r.key, { arrivals: st.arrivals, completed: st.completed, level, queued: r.queued, inFlight: r.inFlight });
    revisions.push(snapshot(gw, gw.revisionView(r.key)!, now));
  }
  const gone: string[] = [];
  // Every revision sent before is still there unless fewer of them were seen: only then look for the ones that went.
  if (known < before) {
    for (const [key, last] of sent) {
      if (gw.revisionState(key) !== undefined) continue;
      gone.push(key);
      forgottenArrivals += last.arrivals;
    }
    for (const key of gone) sent.delete(key);
  }
  const rej = [...gw.rejections()];
  const rejKey = JSON.stringify(rej);
  const rejections = rejKey === sentRejections ? undefined : rej;
  sentRejections = rejKey;
  if (revisions.length === 0 && gone.length === 0 && rejections === undefined) return;
  send({ t: 'load', revisions, gone, requests, ...(rejections ? { rejections } : {}) });
}

async function start(
  config: WorkerConfig,
  routes: [string, Parameters<Gateway['setRoute']>[1]][],
  revisions: Parameters<Gateway['setRevision']>[0][],
): Promise<void> {
  const gw = new Gateway({
    maxQueuedPerRevision: config.maxQueuedPerRevision,
    retryAfterSeconds: config.retryAfterSeconds,
    timeouts: config.timeouts,
    slotHooks: slots,
  });
  gateway = gw;
  slots.attach({
    send,
    revision: (key) => gw.revisionState(key),
    pump: (key) => gw.pump(key),
    refuseNewest: (key, n, held) => gw.refuseNewest(key, n, held),
  });
  for (const [owner, r] of routes) gw.setRoute(owner, r);
  for (const b of revisions) gw.setRevision(b);
  try {
    const port = await gw.listen(config.port, config.host);
    if (config.internal) await gw.listenInternal(config.internal.port, config.internal.host);
    send({ t: 'listening', port });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    send({ t: 'listenFailed', message: e.message, code: e.code });
    process.exit(1);
  }
  loadTimer = setInterval(reportLoad, config.loadIntervalMs);
  // Gives back what a burst of route changes left (at 10,000 Services about 95 MiB a worker).
  startHeapTrimmer((msg) => console.error(`gateway worker ${config.slot}: ${msg}`), 5_000, WORKER_TRIM_POLICY);
}

/** Request-log records go to the main process in batches, while somebody there reads them. */
let logBatch: RequestRecord[] = [];
let logTimer: NodeJS.Timeout | null = null;
const onRecord = (msg: unknown): void => {
  logBatch.push(msg as RequestRecord);
  logTimer ??= setTimeout(flushRecords, 20);
};
function flushRecords(): void {
  logTimer = null;
  if (logBatch.length === 0) return;
  send({ t: 'requests', records: logBatch });
  logBatch = [];
}
function forwardRequestLog(on: boolean): void {
  if (on === requestChannel.hasSubscribers) return;
  if (on) requestChannel.subscribe(onRecord);
  else {
    requestChannel.unsubscribe(onRecord);
    flushRecords();
  }
}

async function close(): Promise<void> {
  if (loadTimer) clearInterval(loadTimer);
  reportLoad();
  await gateway?.close();
  process.disconnect();
  process.exit(0);
}

function onMessage(msg: ToWorker): void {
  if (msg.t === 'init') {
    forwardRequestLog(msg.config.requestLog);
    void start(msg.config, msg.routes, msg.revisions);
    return;
  }
  if (msg.t === 'requestLog') {
    forwardRequestLog(msg.on);
    return;
  }
  if (msg.t === 'listenInternal') {
    const token = msg.token;
    void (gateway?.listenInternal(msg.port, msg.host) ?? Promise.reject(new Error('not started'))).then(
      () => send({ t: 'listenedInternal', token }),
      (err: Error) => send({ t: 'listenedInternal', token, error: err.message }),
    );
    return;
  }
  if (msg.t === 'flush') {
    reportLoad();
    send({ t: 'flushed', token: msg.token });
    return;
  }
  if (msg.t === 'sync') {
    // Messages are handled in order, so every change sent before this one is applied already.
    send({ t: 'flushed', token: msg.token });
    return;
  }
  if (msg.t === 'close') {
    void close();
    return;
  }
  const gw = gateway;
  // Nothing but init comes before init: the main process sends changes after it.
  if (!gw) return;
  switch (msg.t) {
    case 'route':
      gw.setRoute(msg.owner, msg.routes);
      break;
    case 'revision':
      gw.setRevision(msg.backend);
      break;
    case 'remove':
      gw.removeRevision(msg.key);
      break;
    case 'drain':
      void gw.drain(msg.key, msg.id).then(() => send({ t: 'drained', token: msg.token }));
      break;
    case 'failHeld':
      gw.failHeld(msg.key, msg.status, msg.message);
      break;
    case 'grant':
      slots.grant(msg.key, msg.ep, msg.n);
      break;
    case 'refuse':
      slots.refuse(msg.key, msg.n, msg.held);
      break;
    case 'reclaim':
      slots.reclaim(msg.key);
      break;
    case 'share':
      slots.share(msg.key, msg.n);
      break;
    case 'settle':
      slots.settle(msg.key);
      break;
  }
}

process.on('message', onMessage);
process.on('SIGINT', () => {});
process.on('SIGTERM', () => {});
process.on('disconnect', () => process.exit(0));
send({ t: 'hello' });
