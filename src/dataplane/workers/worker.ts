// A gateway worker process (started by cluster.ts through node:cluster): one Gateway on the shared
// listening port, fed by the main process over IPC. It owns no state the main process cannot give
// a replacement: routes and revisions come in `init` and then as changes; its counters go out
// every loadIntervalMs (only revisions that changed), summed in the main process.
//
// Shutdown belongs to the main process: SIGINT and SIGTERM are ignored (a Ctrl-C reaches the whole
// process group; the main process then closes the workers in order), and a worker whose main
// process went away (IPC disconnect) exits at once, so no worker outlives it.

import process from 'node:process';
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
/** Last values sent per revision, to send only what changed. */
const sentMark = new Map<string, string>();
let sentRejections = '';
/** Arrivals of revision states this worker has forgotten, so its request total never goes back. */
let forgottenArrivals = 0;
const lastArrivals = new Map<string, number>();

function mark(v: RevisionMetricsView): string {
  return `${v.stats.arrivals}/${v.stats.completed}/${v.stats.meter.level}/${v.queued}/${v.inFlight}`;
}

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

/** Sends the counters of every revision that changed since the last report, and the ones that went. */
function reportLoad(): void {
  const gw = gateway;
  if (!gw) return;
  const now = performance.now();
  const revisions: RevisionSnapshot[] = [];
  const seen = new Set<string>();
  let requests = forgottenArrivals;
  for (const v of gw.revisionViews()) {
    seen.add(v.key);
    requests += v.stats.arrivals;
    lastArrivals.set(v.key, v.stats.arrivals);
    const m = mark(v);
    // Busy endpoints' idle times move even when nothing else does; they are sent with any change.
    if (sentMark.get(v.key) === m) continue;
    sentMark.set(v.key, m);
    revisions.push(snapshot(gw, v, now));
  }
  const gone: string[] = [];
  for (const key of sentMark.keys()) if (!seen.has(key)) gone.push(key);
  for (const key of gone) {
    sentMark.delete(key);
    forgottenArrivals += lastArrivals.get(key) ?? 0;
    lastArrivals.delete(key);
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
