// The gateway as N worker processes on one port (node:cluster), driven from the main process with
// the same surface as the in-process Gateway: the controllers push routes and revisions in, the
// autoscaler and /metrics read summed load out (see docs/architecture.md, "Gateway workers").
//
//   main process                                   worker 1..N (worker.ts)
//   routes + revisions (the mirror)  ── init / changes ──▶  Gateway on the shared port
//   SlotArbiter (containerConcurrency, hold bound) ◀─ want / cancel / return ─▶ WorkerSlots
//   LoadAggregate (summed counters)  ◀──────── load every loadIntervalMs ────────
//
// A worker that dies is forked again in its slot and gets the full state; its slots go back to the
// arbiter. close() tells every worker to close its listener and waits for it to exit.

import cluster, { type Worker } from 'node:cluster';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { checkBackend } from '../backend.js';
import type { RevisionLoad } from '../gateway.js';
import { DEFAULT_MAX_QUEUED_PER_REVISION, DEFAULT_RETRY_AFTER_SECONDS } from '../gateway.js';
import type { GatewayMetricsSource, RevisionMetricsView } from '../metrics.js';
import { normalizeHost } from '../router.js';
import { StatsReader } from '../stats.js';
import type { HostRoute, RevisionBackend } from '../types.js';
import type { ListenerTimeouts } from '../../net/listener.js';
import { LoadAggregate } from './aggregate.js';
import { SlotArbiter } from './arbiter.js';
import type { FromWorker, ToWorker, WorkerConfig } from './protocol.js';
import { requestChannel, watchRequestStreams } from '../request-log.js';

const WORKER_ENTRY = fileURLToPath(new URL('./worker.js', import.meta.url));
/** How long close() waits for a worker to exit before killing it. */
const CLOSE_GRACE_MS = 5000;
const DEFAULT_LOAD_INTERVAL_MS = 100;

export interface GatewayClusterOptions {
  workers: number;
  maxQueuedPerRevision?: number;
  retryAfterSeconds?: number;
  timeouts?: Partial<ListenerTimeouts>;
  /** How often workers report their counters (default 100 ms). */
  loadIntervalMs?: number;
  log?: (msg: string) => void;
}

/** One worker slot (1..N) and the process currently in it. */
interface Slot {
  n: number;
  worker: Worker | null;
  /** When the current process was forked, and how many quick deaths in a row the slot had. */
  startedAt: number;
  quickDeaths: number;
  restarts: number;
  restartTimer: NodeJS.Timeout | null;
  listening: boolean;
}

export interface WorkerInfo {
  slot: number;
  pid: number | undefined;
  listening: boolean;
  restarts: number;
  /** Requests taken through this slot, every process it had included. */
  requests: number;
}

export class GatewayCluster implements GatewayMetricsSource {
  private readonly clock = () => performance.now();
  private readonly slots: Slot[] = [];
  /**
   * Worker process id → its slot, for workers that said hello: only they get messages (what
   * changes before a worker's hello is in its init), so nothing is sent before it listens for it.
   */
  private readonly byId = new Map<number, Slot>();
  private readonly routes = new Map<string, HostRoute[]>();
  /**
   * The revision keys each owner's routes send to, and how many owners send to each key. The main
   * process routes no request, so it keeps no compiled table (the workers have theirs): a whole
   * RoutingTable here was 2 KB per Service, 21 MiB at 10,000.
   */
  private readonly keysOf = new Map<string, string[]>();
  private readonly owners = new Map<string, number>();
  private readonly backends = new Map<string, RevisionBackend>();
  private readonly arbiter: SlotArbiter;
  private readonly aggregate: LoadAggregate;
  private readonly demandListeners: ((key: string) => void)[] = [];
  /** Slot messages exchanged with the workers, by type, both ways (how often slots move). */
  private readonly slotMsgs = new Map<string, number>();
  /** Drains and flushes waiting for every worker's answer, by token. */
  private readonly drains = new Map<number, { waiting: Set<number>; resolve: () => void }>();
  private nextDrain = 1;
  private requestLog = false;
  private pendingSync: Promise<void> | null = null;
  private internal: { host: string; port: number } | null = null;
  private internalErrors: string[] = [];
  private unwatchStreams: (() => void) | null = null;
  private readonly maxQueued: number;
  private readonly retryAfter: number;
  private port = 0;
  private host = '127.0.0.1';
  private closing = false;
  private readonly log: (msg: string) => void;
  /** Set while listen() waits for the first workers: a start failure rejects it. */
  private starting: { fail: (err: Error) => void; listened: () => void } | null = null;

  constructor(private readonly opts: GatewayClusterOptions) {
    if (!Number.isInteger(opts.workers) || opts.workers < 1)
      throw new TypeError(`workers must be a positive integer, got ${String(opts.workers)}`);
    this.maxQueued = opts.maxQueuedPerRevision ?? DEFAULT_MAX_QUEUED_PER_REVISION;
    if (!Number.isInteger(this.maxQueued) || this.maxQueued < 1)
      throw new TypeError(`maxQueuedPerRevision must be a positive integer, got ${String(this.maxQueued)}`);
    this.retryAfter = opts.retryAfterSeconds ?? DEFAULT_RETRY_AFTER_SECONDS;
    this.log = opts.log ?? (() => {});
    this.arbiter = new SlotArbiter({
      maxQueuedPerRevision: this.maxQueued,
      send: (id, msg) => {
        this.countSlotMessage(msg.t);
        this.sendTo(id, msg);
      },
      workers: () => this.byId.keys(),
      demand: (key) => this.demand(key),
    });
    this.aggregate = new LoadAggregate(this.clock, (key) => this.backends.has(key) || this.owners.has(key));
  }

  // ---- processes ----

  /** Forks the workers on one port; resolves with the port once every worker listens. */
  async listen(port: number, host = '127.0.0.1'): Promise<number> {
    if (this.slots.length > 0) throw new Error('gateway is already listening');
    this.host = host;
    this.unwatchStreams = watchRequestStreams((on) => {
      this.requestLog = on;
      this.broadcast({ t: 'requestLog', on });
    });
    // Port 0: pick the port here, so a restarted worker (even the only one left) binds the same one.
    for (let attempt = 1; ; attempt++) {
      this.port = port === 0 ? await freePort(host) : port;
      try {
        await this.startAll();
        return this.port;
      } catch (err) {
        await this.close();
        if (port !== 0 || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt === 3) throw err;
        this.closing = false;
        this.slots.length = 0;
      }
    }
  }

  /**
   * Opens the internal listener (cluster-local hosts too) in every worker, on one port; restarted
   * workers open it as well. Resolves with the port.
   */
  async listenInternal(port: number, host = '127.0.0.1'): Promise<number> {
    if (this.internal) throw new Error('gateway is already listening internally');
    if (this.slots.length === 0) throw new Error('gateway: listen() first, then listenInternal()');
    this.internal = { host, port: port === 0 ? await freePort(host) : port };
    const internal = this.internal;
    this.internalErrors = [];
    await this.askAll((token) => ({ t: 'listenInternal', ...internal, token }));
    if (this.internalErrors.length > 0)
      throw new Error(`could not open the internal listener on ${host}:${internal.port}: ${this.internalErrors.join('; ')}`);
    return internal.port;
  }

  private startAll(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let listened = 0;
      this.starting = {
        fail: (err) => {
          this.starting = null;
          reject(err);
        },
        listened: () => {
          if (++listened === this.opts.workers) {
            this.starting = null;
            resolve();
          }
        },
      };
      for (let n = 1; n <= this.opts.workers; n++) {
        const slot: Slot = { n, worker: null, startedAt: 0, quickDeaths: 0, restarts: 0, restartTimer: null, listening: false };
        this.slots.push(slot);
        this.fork(slot);
      }
    });
  }

  private fork(slot: Slot): void {
    slot.restartTimer = null;
    if (this.closing) return;
    cluster.setupPrimary({
      exec: WORKER_ENTRY,
      // Typed arrays (the counters) cross as they are.
      serialization: 'advanced',
      // The main process' debugging and test-runner flags are not the worker's business.
      execArgv: process.execArgv.filter((a) => !a.startsWith('--test') && !a.startsWith('--inspect') && !a.startsWith('--watch')),
    });
    const w = cluster.fork({ SLUICE_GATEWAY_WORKER: String(slot.n) });
    slot.worker = w;
    slot.listening = false;
    slot.startedAt = this.clock();
    w.on('message', (msg: FromWorker) => this.onMessage(w, slot, msg));
    w.on('error', (err) => this.log(`gateway worker ${slot.n}: ${err.message}`));
    w.on('exit', (code, signal) => this.onExit(w, slot, code, signal));
  }

  private config(slot: Slot): WorkerConfig {
    return {
      slot: slot.n,
      host: this.host,
      port: this.port,
      maxQueuedPerRevision: this.maxQueued,
      retryAfterSeconds: this.retryAfter,
      timeouts: this.opts.timeouts ?? {},
      loadIntervalMs: this.opts.loadIntervalMs ?? DEFAULT_LOAD_INTERVAL_MS,
      requestLog: this.requestLog,
      internal: this.internal,
    };
  }

  private onMessage(w: Worker, slot: Slot, msg: FromWorker): void {
    if (slot.worker !== w) return;
    switch (msg.t) {
      case 'hello':
        // Full state; every change after this is sent to the worker as it happens.
        this.byId.set(w.id, slot);
        w.send({
          t: 'init',
          config: this.config(slot),
          routes: [...this.routes],
          revisions: [...this.backends.values()],
        } satisfies ToWorker);
        this.arbiter.joined(w.id);
        break;
      case 'listening':
        slot.listening = true;
        this.starting?.listened();
        break;
      case 'listenFailed': {
        const err = Object.assign(new Error(`gateway worker ${slot.n} could not listen on ${this.host}:${this.port}: ${msg.message}`), {
          code: msg.code,
        });
        if (this.starting) this.starting.fail(err);
        else this.log(err.message);
        break;
      }
      case 'want':
        this.countSlotMessage(msg.t);
        this.arbiter.want(w.id, msg.key, msg.n);
        break;
      case 'cancel':
        this.countSlotMessage(msg.t);
        this.arbiter.cancel(w.id, msg.key, msg.n);
        break;
      case 'return':
        this.countSlotMessage(msg.t);
        this.arbiter.returned(w.id, msg.key, msg.ep, msg.n);
        break;
      case 'reclaimed':
        this.countSlotMessage(msg.t);
        this.arbiter.reclaimed(w.id, msg.key);
        break;
      case 'load':
        this.aggregate.report(w.id, slot.n, msg);
        break;
      case 'listenedInternal':
        if (msg.error) this.internalErrors.push(`gateway worker ${slot.n}: ${msg.error}`);
        this.drainedBy(msg.token, w.id);
        break;
      case 'drained':
      case 'flushed':
        this.drainedBy(msg.token, w.id);
        break;
      case 'requests':
        if (requestChannel.hasSubscribers) for (const r of msg.records) requestChannel.publish(r);
        break;
    }
  }

  private onExit(w: Worker, slot: Slot, code: number | null, signal: string | null): void {
    this.byId.delete(w.id);
    this.arbiter.workerGone(w.id);
    this.aggregate.workerGone(w.id, slot.n);
    for (const token of [...this.drains.keys()]) this.drainedBy(token, w.id);
    if (slot.worker !== w) return;
    slot.worker = null;
    slot.listening = false;
    if (this.closing) return;
    const how = signal ? `signal ${signal}` : `code ${String(code)}`;
    if (this.starting) {
      this.starting.fail(new Error(`gateway worker ${slot.n} exited (${how}) before it listened`));
      return;
    }
    // Restart at once, unless the slot keeps dying young: then back off, up to 5 s.
    const young = this.clock() - slot.startedAt < 1000;
    slot.quickDeaths = young ? slot.quickDeaths + 1 : 0;
    const delay = slot.quickDeaths === 0 ? 0 : Math.min(5000, 100 * 2 ** (slot.quickDeaths - 1));
    slot.restarts++;
    this.log(`gateway worker ${slot.n} (pid ${String(w.process.pid)}) exited with ${how}; restarting${delay ? ` in ${delay} ms` : ''}`);
    slot.restartTimer = setTimeout(() => this.fork(slot), delay);
  }

  /**
   * Stops every worker: each closes its listener, answers its held requests with 503 and cuts
   * open connections (as Gateway.close does), then exits; a worker that does not exit in time is
   * killed.
   */
  async close(): Promise<void> {
    this.closing = true;
    this.unwatchStreams?.();
    this.unwatchStreams = null;
    const exits: Promise<void>[] = [];
    for (const slot of this.slots) {
      if (slot.restartTimer) clearTimeout(slot.restartTimer);
      slot.restartTimer = null;
      const w = slot.worker;
      if (!w || w.isDead()) continue;
      exits.push(
        new Promise<void>((resolve) => {
          const kill = setTimeout(() => w.process.kill('SIGKILL'), CLOSE_GRACE_MS);
          w.once('exit', () => {
            clearTimeout(kill);
            resolve();
          });
          if (w.isConnected()) w.send({ t: 'close' } satisfies ToWorker);
          else w.process.kill('SIGKILL');
        }),
      );
    }
    await Promise.all(exits);
    for (const d of this.drains.values()) d.resolve();
    this.drains.clear();
  }

  private sendTo(id: number, msg: ToWorker): void {
    const w = this.byId.get(id)?.worker;
    if (w && w.id === id && w.isConnected()) w.send(msg);
  }

  private broadcast(msg: ToWorker): void {
    for (const slot of this.byId.values()) {
      const w = slot.worker;
      if (w && w.isConnected()) w.send(msg);
    }
  }

  // ---- the control plane's side (DataPlaneSink) ----

  setRoutes(routes: HostRoute[]): void {
    if (!Array.isArray(routes)) throw new TypeError('setRoutes expects an array of HostRoute');
    for (const owner of [...this.routes.keys()]) if (owner !== '') this.setRoute(owner, []);
    this.setRoute('', routes);
  }

  setRoute(owner: string, routes: HostRoute[]): void {
    if (typeof owner !== 'string' || !Array.isArray(routes))
      throw new TypeError('setRoute expects an owner string and an array of HostRoute');
    const keys = referencedKeys(routes);
    const before = this.keysOf.get(owner) ?? [];
    if (routes.length > 0) {
      this.routes.set(owner, routes);
      this.keysOf.set(owner, keys);
    } else {
      this.routes.delete(owner);
      this.keysOf.delete(owner);
    }
    for (const key of keys) this.owners.set(key, (this.owners.get(key) ?? 0) + 1);
    for (const key of before) {
      const n = this.owners.get(key)! - 1;
      if (n > 0) this.owners.set(key, n);
      else this.owners.delete(key);
    }
    for (const key of keys) this.aggregate.ensure(key);
    for (const key of before) if (!this.owners.has(key)) this.aggregate.collect(key);
    this.broadcast({ t: 'route', owner, routes });
  }

  setRevision(backend: RevisionBackend): void {
    const { key, containerConcurrency } = checkBackend(backend);
    this.backends.set(key, { ...backend, endpoints: [...backend.endpoints] });
    this.aggregate.ensure(key);
    // Workers first: a grant below must reach a worker after the endpoints it names.
    this.broadcast({ t: 'revision', backend });
    this.arbiter.setBackend(
      key,
      backend.endpoints.map((e) => e.id),
      containerConcurrency,
    );
  }

  removeRevision(key: string): void {
    if (!this.backends.delete(key)) return;
    this.broadcast({ t: 'remove', key });
    this.arbiter.removeBackend(key);
    this.aggregate.collect(key);
  }

  /** Takes one instance out of routing in every worker; resolves once none has a request on it. */
  drain(revisionKey: string, endpointId: string): Promise<void> {
    const b = this.backends.get(revisionKey);
    if (b) this.backends.set(revisionKey, { ...b, endpoints: b.endpoints.filter((e) => e.id !== endpointId) });
    this.arbiter.deactivate(revisionKey, endpointId);
    return this.askAll((token) => ({ t: 'drain', key: revisionKey, id: endpointId, token }));
  }

  /**
   * Resolves once every worker applied every table change made before this call. All callers in
   * one turn of the event loop share one round trip (a burst of route changes costs one message).
   */
  synced(): Promise<void> {
    this.pendingSync ??= new Promise<void>((resolve) =>
      queueMicrotask(() => {
        this.pendingSync = null;
        void this.askAll((token) => ({ t: 'sync', token })).then(resolve);
      }),
    );
    return this.pendingSync;
  }

  /** Brings the summed counters up to date: every worker reports now (before a scrape renders). */
  flush(): Promise<void> {
    return this.askAll((token) => ({ t: 'flush', token }));
  }

  /** Sends a message to every live worker; resolves once each answered (or exited). */
  private askAll(msg: (token: number) => ToWorker): Promise<void> {
    const waiting = new Set<number>();
    for (const [id, slot] of this.byId) if (slot.worker?.isConnected()) waiting.add(id);
    if (waiting.size === 0) return Promise.resolve();
    const token = this.nextDrain++;
    return new Promise<void>((resolve) => {
      this.drains.set(token, { waiting, resolve });
      this.broadcast(msg(token));
    });
  }

  private drainedBy(token: number, worker: number): void {
    const d = this.drains.get(token);
    if (!d) return;
    d.waiting.delete(worker);
    if (d.waiting.size === 0) {
      this.drains.delete(token);
      d.resolve();
    }
  }

  // ---- the readers' side ----

  reader(): StatsReader {
    return new StatsReader({
      now: this.clock,
      revision: (key) => {
        const s = this.aggregate.stats(key);
        return s && { ...s, queued: this.arbiter.held(key) };
      },
    });
  }

  load(revisionKey: string): RevisionLoad | undefined {
    const backend = this.backends.get(revisionKey);
    const summed = this.aggregate.stats(revisionKey);
    const held = this.arbiter.held(revisionKey);
    if (!backend && !summed && held === 0 && !this.owners.has(revisionKey)) return undefined;
    const per = this.aggregate.endpoints(revisionKey);
    const now = this.clock();
    return {
      // The arbiter's count: every held request in every worker, as of the messages it has had.
      queued: held,
      inFlight: summed?.inFlight ?? 0,
      endpoints: (backend?.endpoints ?? []).map((e) => {
        const l = per.get(e.id);
        const inFlight = l?.inFlight ?? 0;
        return { id: e.id, inFlight, idleMs: inFlight > 0 ? 0 : !l || l.lastBusy < 0 ? null : Math.max(0, now - l.lastBusy) };
      }),
    };
  }

  onDemand(cb: (revisionKey: string) => void): () => void {
    this.demandListeners.push(cb);
    return () => {
      const i = this.demandListeners.indexOf(cb);
      if (i >= 0) this.demandListeners.splice(i, 1);
    };
  }

  private demand(key: string): void {
    for (const cb of this.demandListeners) {
      try {
        cb(key);
      } catch (err) {
        this.log(`sluice gateway: onDemand listener failed for ${key}: ${String(err)}`);
      }
    }
  }

  /** Answers every request held for the revision in every worker; returns how many were held. */
  failHeld(revisionKey: string, status: number, message: string): number {
    const s = Number.isInteger(status) && status >= 400 && status <= 599 ? status : 503;
    const held = this.arbiter.held(revisionKey);
    this.broadcast({ t: 'failHeld', key: revisionKey, status: s, message });
    return held;
  }

  revisionViews(): RevisionMetricsView[] {
    return this.aggregate.views().map((v) => ({ ...v, queued: this.arbiter.held(v.key) }));
  }

  rejections(): ReadonlyMap<string, number> {
    return this.aggregate.rejections();
  }

  hosts(): string[] {
    const hosts = new Set<string>();
    for (const routes of this.routes.values()) for (const r of routes) hosts.add(normalizeHost(String(r.host ?? '')));
    hosts.delete('');
    return [...hosts];
  }

  private countSlotMessage(type: string): void {
    this.slotMsgs.set(type, (this.slotMsgs.get(type) ?? 0) + 1);
  }

  /** Slot messages so far by type (want, grant, return, ...), both directions (benchmarks, tests). */
  slotMessages(): ReadonlyMap<string, number> {
    return this.slotMsgs;
  }

  /** The worker slots: process, whether it listens, restarts, requests taken (tests, metrics). */
  workers(): WorkerInfo[] {
    const requests = this.aggregate.arrivalsPerSlot();
    return this.slots.map((s) => ({
      slot: s.n,
      pid: s.worker?.process.pid,
      listening: s.listening,
      restarts: s.restarts,
      requests: requests.get(s.n) ?? 0,
    }));
  }
}

function referencedKeys(routes: readonly HostRoute[]): string[] {
  const keys = new Set<string>();
  for (const r of routes) {
    for (const t of r.targets ?? []) keys.add(t.revisionKey);
    for (const rule of r.rules ?? []) for (const t of rule.targets ?? []) keys.add(t.revisionKey);
  }
  return [...keys];
}

/** A port free on `host` right now (the kernel's pick). */
function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}
