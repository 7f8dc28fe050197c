// The web console on the admin listener: a static page (src/console/web, uPlot for charts) and
// the JSON it reads.
//
//   GET  /console/                 the page
//   GET  /api/v1/snapshot          services, revisions, live history and recent events (JSON)
//   GET  /api/v1/stream            server-sent events: hello (all of the above), snapshot (when
//                                  objects change), tick (every second), event (as they happen)
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
import { buildSnapshot, type LiveRevisionState, type Snapshot } from './snapshot.js';
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

/** A snapshot costs time in proportion to the objects; the next waits this many times as long. */
const REFRESH_BACKOFF = 10;
const REFRESH_MIN_DELAY_MS = 100;

const byKey = (a: KObject, b: KObject) => {
  const x = `${a.metadata.namespace ?? ''}/${a.metadata.name ?? ''}`;
  const y = `${b.metadata.namespace ?? ''}/${b.metadata.name ?? ''}`;
  return x < y ? -1 : x > y ? 1 : 0;
};

export interface ConsoleOptions {
  admin: AdminServer;
  store: Store;
  /** The controllers' caches: the snapshot is built from memory, never from a store list. */
  listers: Pick<Listers, 'services' | 'revisions' | 'routes'>;
  events: EventLog;
  live: LiveFeed;
  liveState: (key: string) => LiveRevisionState;
  actions: TrafficActions;
  /** Runtime status changes (instances) also change the snapshot. */
  onRuntimeChange: (cb: () => void) => () => void;
}

function sse(res: ServerResponse, event: string, data: unknown, id?: number): void {
  res.write(`${id !== undefined ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

export class Console {
  private snapshot: Snapshot | undefined;
  private snapshotJson = '';
  private readonly streams = new Set<ServerResponse>();
  private readonly stops: (() => void)[] = [];
  private refreshTimer: NodeJS.Timeout | undefined;
  /** How long the last snapshot took to build. */
  private refreshMs = 0;
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
    const { services, revisions, routes } = this.o.listers;
    await Promise.all([services.synced(), revisions.synced(), routes.synced(), this.rollouts.synced()]);
    this.stops.push(() => this.rollouts.stop());
    for (const c of [services, revisions, routes, this.rollouts] as Cache<string>[])
      this.stops.push(c.onChange(() => this.scheduleRefresh()));
    this.refresh(false);
    this.stops.push(this.o.onRuntimeChange(() => this.scheduleRefresh()));
    this.stops.push(this.o.events.subscribe((e) => this.broadcast('event', e, e.id)));
    this.stops.push(this.o.live.subscribe((t) => this.broadcast('tick', t)));
    this.o.live.start();
  }

  stop(): void {
    this.o.live.stop();
    for (const s of this.stops.splice(0)) s();
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
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
    // A change not yet in the snapshot (it waits for the debounce) is in it now.
    if (this.refreshTimer) {
      clearTimeout(this.refreshTimer);
      this.refreshTimer = undefined;
      this.refresh(true);
    }
    sendJson(res, 200, this.hello());
  }

  private hello(): { snapshot: Snapshot | undefined; history: Tick[]; events: SluiceEvent[] } {
    return { snapshot: this.snapshot, history: this.o.live.history(), events: this.o.events.recent() };
  }

  private stream({ req, res }: AdminRequest): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    // A reconnecting EventSource says what it saw last; the hello carries the rest anyway.
    sse(res, 'hello', this.hello());
    this.streams.add(res);
    this.o.admin.track(res);
    req.socket.setNoDelay(true);
    res.on('close', () => this.streams.delete(res));
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

  private scheduleRefresh(): void {
    if (this.refreshTimer) return;
    // A rollout is a burst of writes: one snapshot for the burst. With many objects a snapshot
    // costs more, so they come less often (at most a tenth of the time goes to them).
    this.refreshTimer = setTimeout(
      () => {
        this.refreshTimer = undefined;
        this.refresh(true);
      },
      Math.max(REFRESH_MIN_DELAY_MS, REFRESH_BACKOFF * this.refreshMs),
    );
    this.refreshTimer.unref();
  }

  private refresh(announce: boolean): void {
    const t0 = performance.now();
    const { services, revisions } = this.o.listers;
    const snap = buildSnapshot(
      {
        services: services.list().sort(byKey),
        revisions: revisions.list().sort(byKey),
        rollouts: this.rollouts.list().sort(byKey),
        time: Date.now(),
      },
      this.o.liveState,
    );
    this.noteTraffic(snap, announce);
    const json = JSON.stringify({ ...snap, time: 0 });
    this.snapshot = snap;
    this.refreshMs = performance.now() - t0;
    if (json === this.snapshotJson) return;
    this.snapshotJson = json;
    if (announce) this.broadcast('snapshot', snap);
  }

  private noteTraffic(snap: Snapshot, announce: boolean): void {
    for (const s of snap.services) {
      const key = `${s.namespace}/${s.name}`;
      const split = s.traffic
        .filter((t) => t.percent > 0)
        .map((t) => `${t.revisionName} ${t.percent}%`)
        .join(', ');
      const before = this.served.get(key);
      this.served.set(key, split);
      if (announce && before !== undefined && before !== split && split !== '')
        this.o.events.emit('traffic', `traffic of ${s.name}: ${split}`, { object: key, before, after: split });
    }
  }
}

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
