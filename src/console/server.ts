// The web console on the admin listener: a static page (src/console/web, uPlot for charts) and
// the JSON it reads.
//
//   GET  /console/                 the page
//   GET  /api/v1/snapshot          services, revisions, live history and recent events (JSON)
//   GET  /api/v1/stream            server-sent events: hello (all of the above), changes (the
//                                  services, revisions and rollouts that changed, keyed by
//                                  namespace/name), tick (every second), event (as they happen)
//   GET  /api/v1/requests?revision=ns/name   finished requests as NDJSON while connected
//   POST /api/v1/actions/traffic   {namespace, service, traffic: {revisionOrTag: percent}}
//   POST /api/v1/actions/rollback  {namespace, service, revision}: 100% to that revision
//   POST /api/v1/actions/promote   {namespace, service}: 100% to the latest ready revision
//   POST /api/v1/actions/whoami    200 when the token is right (the page asks before offering changes)
//
// The page's files are public (they hold no data); the JSON follows the admin listener's rule
// (free on loopback, else the token); actions always need the API's bearer token, and go through
// the API server like any client's change (validation, admission). The page reads the stream with
// fetch rather than EventSource, so it can send the token when one is needed.
//
// With no stream open the console does no work per change or per second beyond noting traffic
// changes of the Services that changed: the snapshot model is built when a page connects, kept up
// to date object by object while one is open (only objects whose resourceVersion changed are
// rebuilt), and dropped when the last one leaves; the live feed ticks only while someone watches.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServerResponse } from 'node:http';
import type { AdminRequest, AdminServer } from '../observability/admin.js';
import { sendJson, sendText } from '../observability/admin.js';
import type { EventLog, SluiceEvent } from '../observability/events.js';
import type { KObject } from '../api/types.js';
import type { Store } from '../store/store.js';
import { Cache } from '../store/cache.js';
import type { Listers } from '../controllers/listers.js';
import { subscribeRequests } from '../dataplane/request-log.js';
import { SnapshotModel, trafficShares, type LiveRevisionState, type Snapshot, type SnapshotKind } from './snapshot.js';
import type { LiveFeed, Tick } from './live.js';
import type { TrafficActions } from './actions.js';
import { ActionError } from './actions.js';
import { ROLLOUT_RESOURCE } from '../progressive/spec.js';

/** src/console/web, found from this compiled file (dist/src/console/server.js) or the source. */
const WEB_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'src', 'console', 'web');
const UPLOT_DIR = dirname(createRequire(import.meta.url).resolve('uplot/dist/uPlot.iife.min.js'));

const ASSETS: Record<string, { file: string; type: string }> = {
  '/console/': { file: join(WEB_DIR, 'index.html'), type: 'text/html; charset=utf-8' },
  '/console/console.js': { file: join(WEB_DIR, 'console.js'), type: 'text/javascript; charset=utf-8' },
  '/console/console.css': { file: join(WEB_DIR, 'console.css'), type: 'text/css; charset=utf-8' },
  '/console/vendor/uPlot.iife.min.js': { file: join(UPLOT_DIR, 'uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8' },
  '/console/vendor/uPlot.min.css': { file: join(UPLOT_DIR, 'uPlot.min.css'), type: 'text/css; charset=utf-8' },
};

/** Changes are sent at most this often (a rollout is a burst of writes: one message for the burst). */
const FLUSH_DELAY_MS = 100;

/** The served split of a Service as one line ("rev-a 60%, rev-b 40%"; empty when it serves nothing). */
const servedSplit = (svc: KObject) =>
  trafficShares(svc.status)
    .filter((t) => t.percent > 0)
    .map((t) => `${t.revisionName} ${t.percent}%`)
    .join(', ');

export interface ConsoleOptions {
  admin: AdminServer;
  store: Store;
  /** The controllers' caches: the snapshot is built from memory, never from a store list. */
  listers: Pick<Listers, 'services' | 'revisions' | 'routes' | 'podautoscalers'>;
  events: EventLog;
  live: LiveFeed;
  liveState: (key: string) => LiveRevisionState;
  actions: TrafficActions;
  /** Runtime status changes (instances) also change the snapshot. */
  onRuntimeChange: (cb: (key: string) => void) => () => void;
}

function sse(res: ServerResponse, event: string, data: unknown, id?: number): void {
  res.write(`${id !== undefined ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

export class Console {
  /** Kept while a stream is open; undefined when nobody watches. */
  private model: SnapshotModel | undefined;
  private readonly streams = new Set<ServerResponse>();
  private readonly stops: (() => void)[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  private stopTicks: (() => void) | undefined;
  private readonly rollouts: Cache<string>;
  /** Served traffic per service, to tell when a split changed. */
  private readonly served = new Map<string, string>();

  constructor(private readonly o: ConsoleOptions) {
    this.rollouts = new Cache(o.store, ROLLOUT_RESOURCE);
  }

  async start(): Promise<void> {
    const { admin } = this.o;
    admin.route({ method: 'GET', path: '/console', auth: 'never', handle: ({ res }) => redirect(res, '/console/') });
    admin.route({ method: 'GET', path: '/', auth: 'never', handle: ({ res }) => redirect(res, '/console/') });
    admin.route({ method: 'GET', path: '/console/', auth: 'never', handle: (r) => this.asset(r) });
    admin.route({ method: 'GET', path: '/api/v1/snapshot', handle: ({ res }) => this.sendSnapshot(res) });
    admin.route({ method: 'GET', path: '/api/v1/stream', handle: (r) => this.stream(r) });
    admin.route({ method: 'GET', path: '/api/v1/requests', handle: (r) => this.requests(r) });
    admin.route({ method: 'POST', path: '/api/v1/actions/', auth: 'always', handle: (r) => this.action(r) });
    const { services, revisions, routes, podautoscalers } = this.o.listers;
    await Promise.all([services.synced(), revisions.synced(), routes.synced(), podautoscalers.synced(), this.rollouts.synced()]);
    this.stops.push(() => this.rollouts.stop());
    for (const svc of services.list()) this.served.set(keyOf(svc), servedSplit(svc));
    const watch = (kind: SnapshotKind, c: Cache<string>) =>
      c.onChange((e) => {
        if (kind === 'services') this.noteTraffic(e.type === 'DELETED' ? undefined : e.object, e.object);
        if (!this.model) return;
        if (e.type === 'DELETED') this.model.remove(kind, e.object.metadata.namespace, e.object.metadata.name!);
        else this.model.set(kind, e.object);
        this.scheduleFlush();
      });
    this.stops.push(watch('services', services), watch('revisions', revisions), watch('rollouts', this.rollouts));
    // The autoscaler's view (desired, mode, reason) is in its PodAutoscaler, named as the revision.
    this.stops.push(podautoscalers.onChange((e) => this.touch(keyOf(e.object))));
    this.stops.push(this.o.onRuntimeChange((key) => this.touch(key)));
    this.stops.push(this.o.events.subscribe((e) => this.broadcast('event', e, e.id)));
    this.o.live.start();
  }

  stop(): void {
    this.stopTicks?.();
    this.stopTicks = undefined;
    this.o.live.stop();
    for (const s of this.stops.splice(0)) s();
    if (this.flushTimer) clearTimeout(this.flushTimer);
    for (const s of this.streams) s.end();
  }

  private asset({ res, url, req }: AdminRequest): void {
    const a = ASSETS[url.pathname];
    if (!a) return sendText(res, 404, `not found: ${url.pathname}\n`);
    const body = readFileSync(a.file);
    res.writeHead(200, { 'content-type': a.type, 'content-length': body.length, 'cache-control': 'no-cache' });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  private sendSnapshot(res: ServerResponse): void {
    sendJson(res, 200, this.hello());
  }

  /** The whole picture: from the open streams' model (brought up to date), else built for this once. */
  private hello(): { snapshot: Snapshot; history: Tick[]; events: SluiceEvent[] } {
    let snapshot: Snapshot;
    if (this.model) {
      this.flush();
      snapshot = this.model.snapshot(Date.now());
    } else snapshot = this.buildModel().snapshot(Date.now());
    return { snapshot, history: this.o.live.history(), events: this.o.events.recent() };
  }

  private buildModel(): SnapshotModel {
    const { services, revisions } = this.o.listers;
    return SnapshotModel.of({ services: services.list(), revisions: revisions.list(), rollouts: this.rollouts.list() }, this.o.liveState);
  }

  private stream({ req, res }: AdminRequest): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    if (this.streams.size === 0) {
      this.model = this.buildModel();
      this.stopTicks = this.o.live.subscribe((t) => this.broadcast('tick', t));
    }
    // A reconnecting EventSource says what it saw last; the hello carries the rest anyway.
    sse(res, 'hello', this.hello());
    this.streams.add(res);
    this.o.admin.track(res);
    req.socket.setNoDelay(true);
    res.on('close', () => {
      this.streams.delete(res);
      if (this.streams.size > 0) return;
      // Nobody watches: no model to keep up to date, no ticks.
      this.model = undefined;
      this.stopTicks?.();
      this.stopTicks = undefined;
      if (this.flushTimer) clearTimeout(this.flushTimer);
      this.flushTimer = undefined;
    });
  }

  private requests({ url, res }: AdminRequest): void {
    const revision = url.searchParams.get('revision');
    if (!revision || !/^[^/]+\/[^/]+$/.test(revision))
      return sendText(res, 400, 'GET /api/v1/requests needs ?revision=NAMESPACE/REVISION (or NAMESPACE/* for every revision there)\n');
    const [ns, name] = revision.split('/');
    res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
    res.flushHeaders();
    const stop = subscribeRequests(
      (key) => (name === '*' ? key.startsWith(`${ns}/`) : key === revision),
      (r) => res.write(JSON.stringify({ time: new Date().toISOString(), ...r }) + '\n'),
    );
    this.o.admin.track(res);
    res.on('close', stop);
  }

  private async action({ req, res, url }: AdminRequest): Promise<void> {
    let body: Record<string, unknown>;
    try {
      body = await readJson(req);
    } catch (err) {
      return sendJson(res, 400, { message: (err as Error).message });
    }
    const what = url.pathname.slice('/api/v1/actions/'.length);
    // The page checks a token it was given before offering changes.
    if (what === 'whoami') return sendJson(res, 200, { message: 'authorized' });
    try {
      const result = await this.o.actions.run(what, body);
      this.o.events.emit('action', result.message, { object: `${String(body.namespace)}/${String(body.service)}`, action: what });
      sendJson(res, 200, result);
    } catch (err) {
      const status = err instanceof ActionError ? err.status : 500;
      sendJson(res, status, { message: (err as Error).message });
    }
  }

  private broadcast(event: string, data: unknown, id?: number): void {
    for (const s of this.streams) sse(s, event, data, id);
  }

  private touch(key: string): void {
    if (!this.model) return;
    this.model.touch(key);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushTimer) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      this.flush();
    }, FLUSH_DELAY_MS);
    this.flushTimer.unref();
  }

  /** Sends what changed since the last flush to every open stream. */
  private flush(): void {
    const changes = this.model?.changes();
    if (changes) this.broadcast('changes', changes);
  }

  /** A served split that changed is an event (for people: logged and listed), page or not. */
  private noteTraffic(svc: KObject | undefined, was: KObject): void {
    const key = keyOf(was);
    if (!svc) {
      this.served.delete(key);
      return;
    }
    const split = servedSplit(svc);
    const before = this.served.get(key);
    this.served.set(key, split);
    if (before !== undefined && before !== split && split !== '')
      this.o.events.emit('traffic', `traffic of ${svc.metadata.name}: ${split}`, { object: key, before, after: split });
  }
}

const keyOf = (o: KObject) => `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;

function redirect(res: ServerResponse, to: string): void {
  res.writeHead(302, { location: to, 'content-length': 0 });
  res.end();
}

async function readJson(req: AdminRequest['req']): Promise<Record<string, unknown>> {
  let text = '';
  for await (const chunk of req) {
    text += String(chunk);
    if (text.length > 64 * 1024) throw new Error('request body too large (limit 64 KiB)');
  }
  let v: unknown;
  try {
    v = JSON.parse(text || '{}');
  } catch {
    throw new Error('request body is not valid JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('request body must be a JSON object');
  return v as Record<string, unknown>;
}
