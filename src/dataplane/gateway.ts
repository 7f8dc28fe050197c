// The Sluice gateway: one HTTP listener that plays Knative's ingress, activator and queue-proxy.
//
//   Host header -> route (Map lookup) -> revision (precomputed weighted split, O(1))
//     -> free slot on an instance (containerConcurrency breaker)   -> proxy (keep-alive pool)
//     -> no slot / no instance: hold in a bounded FIFO (activator)  -> forwarded when a slot frees
//
// The control plane pushes tables in (setRoutes / setRevision); the request path never calls out.
// Per-request bookkeeping lives in one Exchange object; event handlers are shared module-level
// functions that find their Exchange through a symbol property, so a request allocates no closures.

import http, { type ClientRequest, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Socket } from 'node:net';
import type { ClientHttp2Stream, Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { Duplex, Readable } from 'node:stream';
import type { HostRoute, RevisionBackend } from './types.js';
import { RoutingTable } from './router.js';
import type { EndpointState } from './revision.js';
import { RevisionState, type QueueNode, type SlotHooks } from './revision.js';
import { checkBackend } from './backend.js';
import { StatsReader } from './stats.js';
import { registerGatewayMetrics, type GatewayMetricsSource, type RevisionMetricsView } from './metrics.js';
import { listenerOptions, type ListenerTimeouts } from '../net/listener.js';
import { Registry } from '../observability/registry.js';
import { requestChannel, type RequestRecord } from './request-log.js';
import { FastPath, type FastHooks, type FastRequest } from './fastpath/connection.js';
import { ConnectionDispatcher } from './connections.js';
import { Deadlines, timeoutOutcome, type DeadlineKind } from './deadlines.js';
import { Timeouts, type TimeoutEntry } from './timeouts.js';
import { probeAnswer } from './probes.js';
import { H2Inbound, isH2cUpgrade } from './h2/inbound.js';
import { H2SessionPool, h2RequestHeaders, sendH2 } from './h2/upstream.js';
import {
  addSetCookie,
  downstreamHeaders,
  errorCode,
  hasBody,
  isHttp2,
  isRetryable,
  errorBody,
  rawResponseHead,
  sendBody,
  sendError,
  sendSocketError,
  upstreamHeaders,
} from './proxy.js';

/** A revision's load right now, read without starting a new sample window (see Gateway.load). */
export interface RevisionLoad {
  queued: number;
  inFlight: number;
  /** Active (routable) endpoints. idleMs: since its last request finished; null = never used; 0 = busy. */
  endpoints: Array<{ id: string; inFlight: number; idleMs: number | null }>;
}

export interface GatewayOptions {
  /** Milliseconds, monotonic preferred; used for stats and latency only (timeouts use real timers). */
  clock?: () => number;
  /**
   * Most requests one revision may hold while it has no free capacity (default 1000). Each held
   * request is just an open client connection (its body stays in the kernel: the stream is paused),
   * so the bound caps memory at roughly a few MB per revision. Beyond it: 503 + Retry-After.
   */
  maxQueuedPerRevision?: number;
  /** Retry-After value sent with 503 when the hold queue is full (default 1). */
  retryAfterSeconds?: number;
  /** Header and idle keep-alive timeouts of the listener (default nginx's, see src/net/listener.ts). */
  timeouts?: Partial<ListenerTimeouts>;
  /**
   * Relay plain HTTP/1.1 requests on raw sockets (fastpath/), handing everything else to node:http
   * (default true). false: every request goes through node:http, as before the fast path existed.
   */
  fastPath?: boolean;
  /** Slot leasing when this gateway is one of several processes (src/dataplane/workers/). */
  slotHooks?: SlotHooks;
}

/** One listening address: its connection dispatcher and the HTTP/1.1 and HTTP/2 servers behind it. */
interface Listener {
  server: Server;
  dispatcher: ConnectionDispatcher;
  h2: H2Inbound;
}

export const DEFAULT_MAX_QUEUED_PER_REVISION = 1000;
export const DEFAULT_RETRY_AFTER_SECONDS = 1;
/** setTimeout cannot wait longer than this. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The 503 body when a revision's hold queue is at its bound (one process or several). */
export function queueFullMessage(key: string, held: number): string {
  return `sluice gateway: revision "${key}" has no free capacity and already holds ${held} waiting requests (the limit); retry later`;
}

const kEx = Symbol('sluice.exchange');
type Tagged<T> = T & { [kEx]?: Exchange };

type Rev = RevisionState<Exchange>;

const SHUTTING_DOWN = { status: 503, reason: 'shutting_down', message: 'sluice gateway: shutting down' } as const;

/** One client request (or Upgrade) from arrival until its client connection is done with it. */
class Exchange implements QueueNode, FastHooks, TimeoutEntry {
  qPrev: QueueNode | null = null;
  qNext: QueueNode | null = null;
  queued = false;
  /** Slot currently held at an instance; null while held or after release. */
  ep: EndpointState | null = null;
  /** Current upstream attempt; events from older attempts are ignored. */
  upstream: ClientRequest | ClientHttp2Stream | null = null;
  /** The revision's responseStart/idle deadlines, only when it sets them. */
  watch: Deadlines | null = null;
  /** Forwarded to an instance at least once (a timeout then answers as the queue-proxy, not the activator). */
  sent = false;
  /** Was held for capacity first: reaches the instance as through Knative's activator (K-Proxy-Request). */
  viaActivator = false;
  /** Backend socket after a successful Upgrade. */
  upgraded: Duplex | null = null;
  /** The revision's whole-request timeout (Core.timeouts). */
  tPrev: TimeoutEntry | null = null;
  tNext: TimeoutEntry | null = null;
  tList: object | null = null;
  tDue = 0;
  done = false;
  timedOut = false;
  retried = false;
  /** Status sent on the raw socket path (Upgrade), for metrics. */
  status = 0;
  /** Sticky-session cookie the response must carry (a new client of a sticky route). */
  setCookie: string | undefined = undefined;
  readonly hasBody: boolean;

  constructor(
    readonly core: Core,
    readonly rev: Rev,
    /** null for a fast-path request (then `fast` is set). */
    readonly req: IncomingMessage | null,
    readonly res: ServerResponse | null,
    readonly socket: Duplex | null,
    readonly head: Buffer | null,
    readonly start: number,
    readonly fast: FastRequest | null = null,
  ) {
    this.hasBody = fast !== null ? fast.hasBody : res !== null && hasBody(req!);
  }

  get method(): string {
    return this.fast !== null ? this.fast.method : (this.req!.method ?? '');
  }

  // -- FastHooks: what the fast path reports back --

  finished(): void {
    this.core.finish(this);
  }

  failed(err: Error, reused: boolean): void {
    this.core.upstreamFailed(this, reused, err);
  }

  slotFree(): void {
    this.core.releaseSlot(this);
  }
}

// ---- shared event handlers (`this` is the emitter) ----

function onResClose(this: Tagged<ServerResponse>): void {
  const ex = this[kEx]!;
  ex.core.finish(ex);
}

function onClientSocketClose(this: Tagged<Duplex>): void {
  const ex = this[kEx]!;
  ex.core.finish(ex);
}

function onSocketError(this: Duplex): void {
  // Errors on raw sockets (reset by peer) are expected; 'close' does the cleanup.
  this.destroy();
}

function onUpstreamResponse(this: Tagged<ClientRequest>, ures: IncomingMessage): void {
  const ex = this[kEx]!;
  if (ex.upstream !== this || ex.done || ex.timedOut) {
    ures.resume();
    return;
  }
  (ures as Tagged<IncomingMessage>)[kEx] = ex;
  ures.on('error', onUpstreamBodyError);
  ures.on('close', onUpstreamBodyClose);
  // Only a chunked body can end in trailers (gRPC over HTTP/1, say): listen only then.
  if (ures.headers['transfer-encoding'] !== undefined) ures.on('end', onUpstreamEnd);
  relayResponse(ex, ures.statusCode ?? 502, ures.statusMessage, ures.headers, ures);
}

/** Writes the instance's status and headers to the client and streams its body (HTTP/1 or HTTP/2 on either side). */
function relayResponse(
  ex: Exchange,
  status: number,
  message: string | undefined,
  upstreamHeaders: IncomingHttpHeaders,
  body: Readable,
  headersOnly = false,
): void {
  const res = ex.res!;
  try {
    const headers = downstreamHeaders(upstreamHeaders);
    if (ex.setCookie !== undefined) addSetCookie(headers, ex.setCookie);
    if (headersOnly && isHttp2(ex.req!)) {
      // Headers set and ended in one go leave as one HEADERS frame that ends the stream.
      for (const k in headers) res.setHeader(k, headers[k]!);
      res.statusCode = status;
      ex.watch?.stop();
      body.resume();
      res.end();
      return;
    }
    // HTTP/2 has no reason phrase.
    if (message === undefined || isHttp2(ex.req!)) res.writeHead(status, headers);
    else res.writeHead(status, message, headers);
  } catch (err) {
    // Something Node's client accepted but its server refuses to write back (odd status line or
    // header): never let it escape into the event loop.
    ex.upstream?.destroy();
    ex.core.reject('upstream_error');
    sendError(
      res,
      502,
      `sluice gateway: revision "${ex.rev.key}" sent a response that cannot be relayed: ${String((err as Error).message ?? err)}`,
    );
    return;
  }
  if (ex.watch !== null) {
    ex.watch.responseStarted();
    ex.watch.track(body);
  }
  body.pipe(res);
}

function onUpstreamEnd(this: Tagged<IncomingMessage>): void {
  if (this.rawTrailers.length > 0) this[kEx]!.res?.addTrailers(this.trailers);
}

function onUpstreamBodyError(this: Tagged<IncomingMessage>): void {
  const ex = this[kEx]!;
  (ex.res ?? ex.socket)?.destroy();
}

function onUpstreamBodyClose(this: Tagged<IncomingMessage>): void {
  // The backend went away mid-body: the client must not mistake a truncated body for a whole one.
  if (!this.complete) this[kEx]!.res?.destroy();
}

function onUpstreamError(this: Tagged<ClientRequest>, err: Error): void {
  const ex = this[kEx]!;
  if (ex.upstream !== this || ex.done || ex.timedOut) return;
  ex.core.upstreamFailed(ex, this.reusedSocket, err);
}

function onUpstreamClose(this: Tagged<ClientRequest>): void {
  const ex = this[kEx]!;
  // After an Upgrade the slot belongs to the tunnel and is released when it closes.
  if (ex.upstream === this && ex.upgraded === null) ex.core.releaseSlot(ex);
}

function onUpstreamUpgrade(this: Tagged<ClientRequest>, ures: IncomingMessage, usock: Duplex, uhead: Buffer): void {
  const ex = this[kEx]!;
  if (ex.upstream !== this || ex.done || ex.timedOut) {
    usock.destroy();
    return;
  }
  ex.core.tunnel(ex, ures, usock, uhead);
}

function onUpgradeRefused(this: Tagged<ClientRequest>, ures: IncomingMessage): void {
  const ex = this[kEx]!;
  if (ex.upstream !== this || ex.done || ex.timedOut) {
    ures.resume();
    return;
  }
  // The backend answered the Upgrade with an ordinary response: relay it and close.
  const sock = ex.socket!;
  ex.status = ures.statusCode ?? 502;
  ex.watch?.responseStarted();
  sock.write(rawResponseHead(ex.status, ures.statusMessage, ures.rawHeaders, true) + 'connection: close\r\n\r\n');
  (ures as Tagged<IncomingMessage>)[kEx] = ex;
  ures.on('end', onRefusedBodyEnd);
  ures.on('error', onUpstreamBodyError);
  ures.pipe(sock, { end: false });
}

function onRefusedBodyEnd(this: Tagged<IncomingMessage>): void {
  // Body is close-delimited; see sendSocketError for why the socket is destroyed after flushing.
  const sock = this[kEx]!.socket!;
  sock.end(() => sock.destroy());
}

function onTunnelClose(this: Tagged<Duplex>): void {
  const ex = this[kEx]!;
  ex.socket?.destroy();
  ex.core.releaseSlot(ex);
}

// ---- the engine ----

class Core {
  readonly table = new RoutingTable<Rev>();
  readonly revisions = new Map<string, Rev>();
  readonly demandListeners: ((revisionKey: string) => void)[] = [];
  readonly tunnels = new Set<Exchange>();
  readonly rejected = new Map<string, number>();
  closing = false;
  /** Revision states the fast path cannot serve (see RevisionState.needsFullPath). */
  fullPathRevisions = 0;
  private pumping = new Set<Rev>();
  /** Every exchange's whole-request timeout (revision timeoutSeconds), on real timers. */
  readonly timeouts = new Timeouts<Exchange>((ex) => this.timeout(ex, 'timeout'));

  constructor(
    readonly clock: () => number,
    readonly maxQueued: number,
    readonly retryAfter: number,
    readonly hooks: SlotHooks | null,
  ) {}

  state(key: string): Rev {
    let s = this.revisions.get(key);
    if (!s) {
      s = new RevisionState<Exchange>(key, this.clock(), this.hooks);
      this.revisions.set(key, s);
    }
    return s;
  }

  reject(reason: string): void {
    this.rejected.set(reason, (this.rejected.get(reason) ?? 0) + 1);
  }

  setRoutes(routes: readonly HostRoute[]): void {
    this.collect(this.table.replace(routes, (k) => this.state(k)));
  }

  setRoute(owner: string, routes: readonly HostRoute[]): void {
    this.collect(this.table.upsert(owner, routes, (k) => this.state(k)));
  }

  /** The revision states no route sends to any more may go (only those: not a scan of all). */
  private collect(unreferenced: string[]): void {
    for (const key of unreferenced) {
      const s = this.revisions.get(key);
      if (s) this.maybeCollect(s);
    }
  }

  /**
   * Whether a request with these headers may be routed to a revision the HTTP/1.1 fast path cannot
   * serve (h2c, or response-start/idle deadlines). Free while there is none, the common case.
   */
  needsFullPath(headers: IncomingHttpHeaders, internal: boolean): boolean {
    if (this.fullPathRevisions === 0 || headers.host === undefined) return false;
    for (const key of this.table.revisionKeysAt(headers.host, internal)) if (this.revisions.get(key)?.needsFullPath) return true;
    return false;
  }

  /** Forget a revision state nobody routes to, nobody configured and nothing uses. */
  maybeCollect(s: Rev): void {
    if (s.known || this.table.isReferenced(s.key) || !s.isIdle()) return;
    if (this.revisions.get(s.key) !== s) return;
    if (s.needsFullPath) this.fullPathRevisions--;
    s.destroyPools();
    this.revisions.delete(s.key);
  }

  // -- arrival --

  handleRequest(req: IncomingMessage, res: ServerResponse, internal = false): void {
    const probe = probeAnswer(req.headers, this.closing);
    if (probe !== null) {
      sendBody(res, probe.status, probe.body, probe.headers);
      return;
    }
    const r = this.table.resolve(req.headers, internal);
    if (r.target === undefined) {
      this.reject(r.reason);
      sendError(res, r.status, r.message);
      return;
    }
    if (this.closing) {
      this.reject('shutting_down');
      sendError(res, 503, 'sluice gateway: shutting down', { connection: 'close' });
      return;
    }
    const ex = new Exchange(this, r.target, req, res, null, null, this.clock());
    if (r.setCookie !== undefined) ex.setCookie = r.setCookie;
    (res as Tagged<ServerResponse>)[kEx] = ex;
    res.on('close', onResClose);
    this.admit(ex);
  }

  /** A plain HTTP/1.1 request from the fast path: the same steps as handleRequest. */
  handleFast(f: FastRequest, internal: boolean): void {
    const probe = probeAnswer(f.headers, this.closing);
    if (probe !== null) {
      f.answer(probe.status, probe.body, probe.headers as Record<string, string>);
      return;
    }
    const r = this.table.resolve(f.headers, internal);
    if (r.target === undefined) {
      this.reject(r.reason);
      f.answer(r.status, errorBody(r.message));
      return;
    }
    if (this.closing) {
      this.reject('shutting_down');
      f.answer(503, errorBody('sluice gateway: shutting down'), { connection: 'close' });
      return;
    }
    const ex = new Exchange(this, r.target, null, null, null, null, this.clock(), f);
    if (r.setCookie !== undefined) ex.setCookie = r.setCookie;
    f.bind(ex);
    this.admit(ex);
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, internal = false): void {
    socket.on('error', onSocketError);
    const r = this.table.resolve(req.headers, internal);
    if (r.target === undefined || this.closing) {
      const why = r.target === undefined ? r : SHUTTING_DOWN;
      this.reject(why.reason);
      sendSocketError(socket, why.status, why.message);
      return;
    }
    const ex = new Exchange(this, r.target, req, null, socket, head, this.clock());
    if (r.setCookie !== undefined) ex.setCookie = r.setCookie;
    (socket as Tagged<Duplex>)[kEx] = ex;
    socket.on('close', onClientSocketClose);
    this.tunnels.add(ex);
    this.admit(ex);
  }

  private admit(ex: Exchange): void {
    const rev = ex.rev;
    rev.stats.arrivals++;
    rev.stats.meter.change(1, ex.start);
    this.timeouts.add(ex, rev.timeoutMs);
    if (rev.responseStartMs > 0 || rev.idleMs > 0) {
      ex.watch = new Deadlines({ responseStartMs: rev.responseStartMs, idleMs: rev.idleMs }, this.clock, (kind) => this.timeout(ex, kind));
    }
    // FIFO: nobody overtakes requests already held (they would have a slot if one were free).
    if (rev.queued === 0) {
      const ep = rev.acquire();
      if (ep !== null) {
        rev.stats.observeWait(0);
        this.forward(ex, ep);
        return;
      }
    }
    if (rev.queued >= this.maxQueued) {
      this.reject('queue_full');
      this.answer(ex, 503, queueFullMessage(rev.key, rev.queued), { 'retry-after': this.retryAfter });
      return;
    }
    // Hold without reading: the body stays in the socket until the request is forwarded.
    if (ex.fast !== null) ex.fast.pause();
    else if (ex.socket !== null) ex.socket.pause();
    else ex.req!.pause();
    rev.enqueue(ex);
    if (rev.queued === 1) this.demand(rev.key);
  }

  private demand(key: string): void {
    for (const cb of this.demandListeners) {
      try {
        cb(key);
      } catch (err) {
        // A broken listener must not break the request path.
        console.error(`sluice gateway: onDemand listener failed for ${key}: ${String(err)}`);
      }
    }
  }

  /** Error answer on whichever kind of exchange this is. */
  answer(ex: Exchange, status: number, message: string, extra?: Record<string, string | number>, exact = false): void {
    if (ex.fast !== null) ex.fast.answer(status, exact ? message : errorBody(message), extra);
    else if (ex.res !== null) (exact ? sendBody : sendError)(ex.res, status, message, extra);
    else if (ex.status !== 0)
      ex.socket!.destroy(); // a response is already streaming on the raw socket
    else {
      ex.status = status;
      sendSocketError(ex.socket!, status, message, extra);
    }
  }

  // -- forwarding --

  private forward(ex: Exchange, ep: EndpointState): void {
    ex.ep = ep;
    if (ex.fast !== null) {
      ex.sent = true;
      ex.fast.forward(ep, ex.viaActivator);
      return;
    }
    let up: Tagged<ClientRequest>;
    const req = ex.req!;
    if (ex.rev.h2c && ex.res !== null) {
      this.forwardH2(ex, ep);
      return;
    }
    ex.sent = true;
    try {
      up = http.request({
        host: ep.host,
        port: ep.port,
        method: req.method,
        path: req.url,
        headers: upstreamHeaders(req, ex.res === null, ex.viaActivator),
        // Upgraded sockets leave the pool anyway; a pool would only add bookkeeping.
        agent: ex.res === null ? false : ep.pool(),
      });
    } catch (err) {
      this.releaseSlot(ex);
      this.reject('upstream_error');
      this.answer(ex, 502, `sluice gateway: could not send the request to revision "${ex.rev.key}": ${errorCode(err)}`);
      return;
    }
    up[kEx] = ex;
    ex.upstream = up;
    up.on('error', onUpstreamError);
    up.on('close', onUpstreamClose);
    if (ex.res !== null) {
      up.on('response', onUpstreamResponse);
      if (ex.hasBody) req.pipe(up);
      else up.end();
    } else {
      up.on('upgrade', onUpstreamUpgrade);
      up.on('response', onUpgradeRefused);
      up.end();
    }
  }

  /** One attempt over HTTP/2 cleartext (the revision's port is named h2c); see h2/upstream.ts. */
  private forwardH2(ex: Exchange, ep: EndpointState): void {
    ex.sent = true;
    const req = ex.req!;
    const headers = h2RequestHeaders(req.method ?? 'GET', req.url ?? '/', upstreamHeaders(req, false, ex.viaActivator));
    const pool = (ep.h2 ??= new H2SessionPool(ep.host, ep.port)) as H2SessionPool;
    let stream: ClientHttp2Stream;
    try {
      stream = sendH2(pool, headers, !ex.hasBody, {
        response: (status, h, body, headersOnly) => {
          if (ex.upstream !== stream || ex.done || ex.timedOut) return void body.resume();
          body.on('error', () => ex.res?.destroy());
          // A stream the instance reset mid-body must not look complete to the client.
          body.on('close', () => {
            if (!body.readableEnded) ex.res?.destroy();
          });
          relayResponse(ex, status, undefined, h, body, headersOnly);
        },
        trailers: (t) => {
          if (ex.upstream === stream && !ex.done) ex.res?.addTrailers(t);
        },
        error: (err, reused) => {
          if (ex.upstream !== stream || ex.done || ex.timedOut) return;
          this.upstreamFailed(ex, reused, err);
        },
        close: () => {
          if (ex.upstream === stream) this.releaseSlot(ex);
        },
      }).stream;
    } catch (err) {
      this.releaseSlot(ex);
      this.reject('upstream_error');
      this.answer(ex, 502, `sluice gateway: could not send the request to revision "${ex.rev.key}": ${errorCode(err)}`);
      return;
    }
    ex.upstream = stream;
    if (ex.hasBody) req.pipe(stream);
  }

  upstreamFailed(ex: Exchange, reused: boolean, err: Error): void {
    const started = ex.fast !== null ? ex.fast.started : ex.res !== null ? ex.res.headersSent : ex.status !== 0;
    if (started) {
      // Too late for a clean error: cut the client connection so it sees the failure.
      if (ex.fast !== null) ex.fast.destroy();
      else if (ex.res !== null) ex.res.destroy();
      else ex.socket!.destroy();
      return;
    }
    const failed = ex.ep!;
    const rev = ex.rev;
    // Nothing reached the backend's handler and there is no body to replay: try once more.
    if (!ex.hasBody && !ex.retried && isRetryable(err, ex.method)) {
      ex.retried = true;
      const alt = rev.acquire(failed);
      if (alt !== null) {
        ex.ep = null;
        this.forward(ex, alt);
        this.releaseEndpoint(rev, failed);
        return;
      }
      if (reused) {
        // A kept-alive connection the backend had just closed: the instance itself may be fine.
        this.forward(ex, failed);
        return;
      }
    }
    // The slot is released by the failed attempt's 'close' (node:http) or here (fast path).
    if (ex.fast !== null) this.releaseSlot(ex);
    this.reject('upstream_error');
    this.answer(
      ex,
      502,
      `sluice gateway: revision "${rev.key}" instance "${failed.id}" (${failed.host}:${failed.port}) failed before responding: ${errorCode(err)}`,
    );
  }

  tunnel(ex: Exchange, ures: IncomingMessage, usock: Duplex, uhead: Buffer): void {
    this.timeouts.remove(ex);
    ex.watch?.stop();
    ex.upgraded = usock;
    ex.status = 101;
    (usock as Tagged<Duplex>)[kEx] = ex;
    usock.on('error', onSocketError);
    usock.on('close', onTunnelClose);
    const sock = ex.socket!;
    const cookie = ex.setCookie === undefined ? '' : `set-cookie: ${ex.setCookie}\r\n`;
    sock.write(rawResponseHead(101, ures.statusMessage, ures.rawHeaders, false) + cookie + '\r\n');
    if (uhead.length > 0) sock.write(uhead);
    if (ex.head !== null && ex.head.length > 0) usock.write(ex.head);
    usock.pipe(sock);
    sock.pipe(usock);
  }

  releaseSlot(ex: Exchange): void {
    const ep = ex.ep;
    if (ep === null) return;
    ex.ep = null;
    this.releaseEndpoint(ex.rev, ep);
  }

  private releaseEndpoint(rev: Rev, ep: EndpointState): void {
    ep.lastBusy = this.clock();
    rev.release(ep);
    this.pump(rev);
    if (!rev.known) this.maybeCollect(rev);
  }

  /** Forwards held requests, oldest first, while there are free slots. */
  pump(rev: Rev): void {
    if (rev.queued === 0 || this.pumping.has(rev)) return;
    this.pumping.add(rev);
    try {
      while (rev.queued > 0) {
        const ep = rev.acquire();
        if (ep === null) break;
        const ex = rev.shift()!;
        ex.viaActivator = true;
        rev.stats.observeWait((this.clock() - ex.start) / 1000);
        this.forward(ex, ep);
      }
    } finally {
      this.pumping.delete(rev);
    }
  }

  // -- ending --

  /** A deadline ran out (see deadlines.ts for which means what). */
  timeout(ex: Exchange, kind: DeadlineKind): void {
    if (ex.done || ex.timedOut) return;
    ex.timedOut = true;
    this.timeouts.remove(ex);
    ex.watch?.stop();
    const rev = ex.rev;
    this.reject(kind === 'timeout' ? 'timeout' : kind === 'idle' ? 'idle_timeout' : 'response_start_timeout');
    const held = ex.queued;
    if (held) rev.unlink(ex);
    else {
      // The slot is released by the upstream attempt's 'close' (node:http) or at once (fast path).
      ex.upstream?.destroy();
      ex.fast?.abortUpstream();
    }
    const started = ex.fast !== null ? ex.fast.started : ex.res !== null ? ex.res.headersSent : ex.status !== 0;
    const out = timeoutOutcome(started, !ex.sent);
    if (out.cut) {
      if (ex.fast !== null) ex.fast.destroy();
      else (ex.res ?? ex.socket)?.destroy();
    } else this.answer(ex, out.status, out.body, undefined, true);
  }

  /** The client side is finished (response sent, or connection gone): settle everything. */
  finish(ex: Exchange): void {
    if (ex.done) return;
    ex.done = true;
    this.timeouts.remove(ex);
    if (ex.watch !== null) ex.watch.stop();
    const rev = ex.rev;
    if (ex.queued) rev.unlink(ex);
    let status: number;
    const res = ex.res;
    if (ex.fast !== null) {
      status = ex.fast.finalStatus();
      if (status === 0) ex.fast.abortUpstream();
    } else if (res !== null) {
      const complete = res.writableFinished;
      status = complete ? res.statusCode : 0;
      // Client went away mid-exchange: stop the backend work and free the slot (on 'close').
      if (!complete) ex.upstream?.destroy();
    } else {
      this.tunnels.delete(ex);
      status = ex.status;
      if (ex.upgraded !== null) ex.upgraded.destroy();
      else ex.upstream?.destroy();
    }
    const now = this.clock();
    rev.stats.meter.change(-1, now);
    rev.stats.observe(status, (now - ex.start) / 1000);
    if (requestChannel.hasSubscribers) publishRequest(ex, status, (now - ex.start) / 1000);
    if (!rev.known) this.maybeCollect(rev);
  }

  revisionViews(): RevisionMetricsView[] {
    const now = this.clock();
    return [...this.revisions.values()].map((r) => this.viewOf(r, now));
  }

  viewOf(r: Rev, now = this.clock()): RevisionMetricsView {
    const head = r.oldest();
    return {
      key: r.key,
      stats: r.stats,
      inFlight: r.inFlight,
      queued: r.queued,
      oldestWait: head ? Math.max(0, now - head.start) / 1000 : 0,
    };
  }

  /** Answers the n requests held last with 503: the hold bound across processes was reached. */
  refuseNewest(rev: Rev, n: number, held: number): void {
    for (let i = 0; i < n; i++) {
      const ex = rev.newest();
      if (ex === null) return;
      rev.unlink(ex);
      this.reject('queue_full');
      this.answer(ex, 503, queueFullMessage(rev.key, held), { 'retry-after': this.retryAfter });
    }
  }

  failHeld(key: string, status: number, message: string, reason: string): number {
    const rev = this.revisions.get(key);
    if (!rev) return 0;
    const held = rev.takeAll();
    for (const ex of held) {
      this.reject(reason);
      this.answer(ex, status, message);
    }
    return held.length;
  }
}

function publishRequest(ex: Exchange, status: number, seconds: number): void {
  const req = ex.req;
  const f = ex.fast;
  const r: RequestRecord = {
    revision: ex.rev.key,
    method: ex.method,
    path: f !== null ? f.target : (req!.url ?? ''),
    host: (f !== null ? f.headers.host : req!.headers.host) ?? '',
    status,
    seconds,
  };
  requestChannel.publish(r);
}

const toTimerMs = (seconds: number) => Math.min(MAX_TIMER_MS, Math.max(1, Math.round(seconds * 1000)));
const optionalSeconds = (v: number | undefined) => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? toTimerMs(v) : 0);

function positiveInt(v: number | undefined, def: number, what: string): number {
  if (v === undefined) return def;
  if (!Number.isInteger(v) || v < 1) throw new TypeError(`${what} must be a positive integer, got ${String(v)}`);
  return v;
}

export class Gateway implements GatewayMetricsSource {
  private readonly core: Core;
  private ownMetrics: Registry | undefined;
  /** The public listener and the internal one (Knative's local gateway), once listening. */
  private listeners: { public: Listener | null; internal: Listener | null } = { public: null, internal: null };
  /** The fast path in front of each listener (none when GatewayOptions.fastPath is false). */
  private readonly fast: FastPath[] = [];
  private readonly fastPathOn: boolean;
  private readonly listenerOpts: ReturnType<typeof listenerOptions>;

  constructor(opts: GatewayOptions = {}) {
    this.listenerOpts = listenerOptions(opts.timeouts);
    const clock = opts.clock ?? (() => performance.now());
    const maxQueued = positiveInt(opts.maxQueuedPerRevision, DEFAULT_MAX_QUEUED_PER_REVISION, 'maxQueuedPerRevision');
    const retryAfter = opts.retryAfterSeconds ?? DEFAULT_RETRY_AFTER_SECONDS;
    if (!Number.isInteger(retryAfter) || retryAfter < 0)
      throw new TypeError(`retryAfterSeconds must be a non-negative integer, got ${String(retryAfter)}`);
    this.core = new Core(clock, maxQueued, retryAfter, opts.slotHooks ?? null);
    this.fastPathOn = opts.fastPath ?? true;
  }

  /** Starts the HTTP listener; resolves with the bound port (useful with port 0). */
  async listen(port: number, host = '127.0.0.1'): Promise<number> {
    if (this.listeners.public) throw new Error('gateway is already listening');
    const l = await this.open(port, host, false);
    this.listeners.public = l;
    const bound = (l.dispatcher.server.address() as AddressInfo).port;
    this.core.table.setPort(bound);
    return bound;
  }

  /**
   * Starts the internal listener (Knative's local gateway): it answers every host, cluster-local
   * ones too, which the public listener treats as unknown. Resolves with the bound port.
   */
  async listenInternal(port: number, host = '127.0.0.1'): Promise<number> {
    if (this.listeners.internal) throw new Error('gateway is already listening internally');
    const l = await this.open(port, host, true);
    this.listeners.internal = l;
    return (l.dispatcher.server.address() as AddressInfo).port;
  }

  private async open(port: number, host: string, internal: boolean): Promise<Listener> {
    // requestTimeout 0: held requests may legitimately wait for their body to be read longer than
    // Node's default; the revision's timeoutSeconds bounds them instead.
    // The header and idle timeouts still cut off clients that trickle headers or sit idle.
    const server = http.createServer({ requestTimeout: 0, noDelay: true, ...this.listenerOpts }, (req, res) =>
      this.core.handleRequest(req, res, internal),
    );
    // HTTP/2 streams go through the same exchange machinery: Node's compatibility request and
    // response have the members it uses (headers, url, pipe, writeHead, addTrailers, close).
    const h2 = new H2Inbound((req, res) => this.handleH2(req, res, internal), this.listenerOpts.keepAliveTimeout);
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (isH2cUpgrade(req)) h2.upgrade(req, socket, head);
      else this.core.handleUpgrade(req, socket, head, internal);
    });
    // Connections arrive at the fast path first; it hands node:http whatever is not plain HTTP/1.1,
    // and requests for revisions it cannot serve (h2c; response-start or idle deadlines).
    if (this.fastPathOn) {
      const fast = new FastPath({
        keepAliveTimeoutMs: this.listenerOpts.keepAliveTimeout,
        dispatch: (f) => this.core.handleFast(f, internal),
        wants: (headers) => !this.core.needsFullPath(headers, internal),
      });
      fast.attach(server);
      this.fast.push(fast);
    }
    // One listener; a connection's first bytes say HTTP/2 (prior knowledge) or HTTP/1.1.
    const dispatcher = new ConnectionDispatcher((socket: Socket) => server.emit('connection', socket), this.listenerOpts.headersTimeout);
    dispatcher.register(h2);
    const listener = dispatcher.server;
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject);
      listener.listen(port, host, () => {
        listener.off('error', reject);
        resolve();
      });
    });
    // node:http starts its header-timeout checks (and connection tracking) on 'listening'; the
    // socket it would listen on is the dispatcher's, so tell it.
    server.emit('listening');
    return { server, dispatcher, h2 };
  }

  /**
   * Stops listening, answers held requests with 503, cuts open connections and tunnels, and closes
   * every upstream pool.
   */
  async close(): Promise<void> {
    const core = this.core;
    core.closing = true;
    for (const rev of core.revisions.values()) core.failHeld(rev.key, 503, 'sluice gateway: shutting down', 'shutting_down');
    for (const ex of [...core.tunnels]) ex.socket?.destroy();
    const listeners = [this.listeners.public, this.listeners.internal];
    this.listeners = { public: null, internal: null };
    for (const l of listeners) {
      if (!l) continue;
      const closed = new Promise<void>((resolve) => l.dispatcher.server.close(() => resolve()));
      l.dispatcher.destroySniffing();
      l.server.closeAllConnections();
      // Stops node:http's connection checks; it never listened itself.
      l.server.close();
      l.h2.close();
      for (const fast of this.fast) fast.closeAll();
      await closed;
    }
    this.fast.length = 0;
    for (const rev of core.revisions.values()) rev.destroyPools();
  }

  /** Replaces the whole host table at once. Requests already admitted finish on their old target. */
  setRoutes(routes: HostRoute[]): void {
    if (!Array.isArray(routes)) throw new TypeError('setRoutes expects an array of HostRoute');
    this.core.setRoutes(routes);
  }

  /**
   * Sets the hosts of one control-plane route (`owner`, e.g. "ns/name"), replacing the ones it had;
   * an empty list removes them. Costs that route's hosts, not the table's size.
   */
  setRoute(owner: string, routes: HostRoute[]): void {
    if (typeof owner !== 'string' || !Array.isArray(routes))
      throw new TypeError('setRoute expects an owner string and an array of HostRoute');
    this.core.setRoute(owner, routes);
  }

  /** Sets a revision's ready endpoints and limits; held requests are forwarded if capacity appeared. */
  setRevision(backend: RevisionBackend): void {
    const { key, containerConcurrency: cc, timeoutSeconds } = checkBackend(backend);
    const rev = this.core.state(key);
    rev.known = true;
    rev.containerConcurrency = cc;
    const wasFull = rev.needsFullPath;
    rev.timeoutMs = toTimerMs(timeoutSeconds);
    rev.responseStartMs = optionalSeconds(backend.responseStartTimeoutSeconds);
    rev.idleMs = optionalSeconds(backend.idleTimeoutSeconds);
    const h2c = backend.protocol === 'h2c';
    if (h2c !== rev.h2c) {
      // Pools of the other protocol are of no use any more.
      rev.destroyPools();
      rev.h2c = h2c;
    }
    if (rev.needsFullPath !== wasFull) this.core.fullPathRevisions += wasFull ? -1 : 1;
    rev.setEndpoints(backend.endpoints);
    this.core.pump(rev);
  }

  /**
   * Forgets a revision: its endpoints stop taking requests (in-flight ones finish), held requests
   * get 503. If a route still points at it, new requests are held again as for an unknown revision.
   */
  removeRevision(key: string): void {
    const rev = this.core.revisions.get(key);
    if (!rev) return;
    rev.known = false;
    rev.retireAll();
    this.core.failHeld(key, 503, `sluice gateway: revision "${key}" was removed`, 'removed');
    this.core.maybeCollect(rev);
  }

  /**
   * Takes one instance out of routing and resolves once it has no in-flight requests (including
   * open WebSockets). Resolves at once for unknown revisions/endpoints. A later setRevision that
   * lists the endpoint again puts it back.
   */
  drain(revisionKey: string, endpointId: string): Promise<void> {
    const rev = this.core.revisions.get(revisionKey);
    if (!rev) return Promise.resolve();
    const ep = rev.retireById(endpointId);
    if (!ep) return Promise.resolve();
    const p = ep.whenIdle();
    this.core.maybeCollect(rev);
    return p;
  }

  /**
   * A new, independent reader of per-revision traffic windows (see dataplane/stats.ts): each
   * consumer (autoscaler, canary analysis, console) takes its own, and no read disturbs another.
   */
  reader(): StatsReader {
    const core = this.core;
    return new StatsReader({ now: core.clock, revision: (key) => core.revisions.get(key) });
  }

  /**
   * The revision's current load (held, in flight, per-endpoint busy/idle); undefined for a
   * revision the gateway does not know.
   * The autoscaler uses it for immediate decisions and the event-gateway class.
   */
  load(revisionKey: string): RevisionLoad | undefined {
    const rev = this.core.revisions.get(revisionKey);
    if (!rev) return undefined;
    const now = this.core.clock();
    return {
      queued: rev.queued,
      inFlight: rev.inFlight,
      endpoints: rev.endpoints.map((e) => ({
        id: e.id,
        inFlight: e.inFlight,
        idleMs: e.inFlight > 0 ? 0 : e.lastBusy < 0 ? null : Math.max(0, now - e.lastBusy),
      })),
    };
  }

  /**
   * Registers a listener called synchronously when a revision starts holding requests (no ready
   * endpoint, or all at capacity): once per episode, i.e. when its hold queue goes from empty to
   * non-empty. Returns an unsubscribe function.
   */
  onDemand(cb: (revisionKey: string) => void): () => void {
    this.core.demandListeners.push(cb);
    return () => {
      const i = this.core.demandListeners.indexOf(cb);
      if (i >= 0) this.core.demandListeners.splice(i, 1);
    };
  }

  /** Answers every request held for the revision with this status and message; returns how many. */
  failHeld(revisionKey: string, status: number, message: string): number {
    const s = Number.isInteger(status) && status >= 400 && status <= 599 ? status : 503;
    return this.core.failHeld(revisionKey, s, message, 'failed');
  }

  /** Per-revision counters and load right now, for metrics collected at scrape time. */
  revisionViews(): RevisionMetricsView[] {
    return this.core.revisionViews();
  }

  rejections(): ReadonlyMap<string, number> {
    return this.core.rejected;
  }

  /**
   * Prometheus text of the gateway's series alone (the server exports them with everything else
   * on its admin listener, see observability/admin.ts).
   */
  metrics(): string {
    if (!this.ownMetrics) {
      this.ownMetrics = new Registry();
      registerGatewayMetrics(this.ownMetrics, this);
    }
    return this.ownMetrics.render();
  }

  /** One HTTP/2 stream: routed by :authority (as Host) and served like an HTTP/1 request. */
  private handleH2(req: Http2ServerRequest, res: Http2ServerResponse, internal: boolean): void {
    const h = req.headers;
    if (h.host === undefined && h[':authority'] !== undefined) h.host = h[':authority'];
    this.core.handleRequest(req as unknown as IncomingMessage, res as unknown as ServerResponse, internal);
  }

  /** For embedding in another server: handle one request / Upgrade as the listener would. */
  handleRequest(req: IncomingMessage, res: ServerResponse): void {
    this.core.handleRequest(req, res);
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.core.handleUpgrade(req, socket, head);
  }

  /** With slot hooks: the revision's state (its endpoints' leases), undefined when unknown. */
  revisionState(revisionKey: string): RevisionState | undefined {
    return this.core.revisions.get(revisionKey);
  }

  /** Every revision's state, without a copy (a worker compares their counters every load interval). */
  revisionStates(): IterableIterator<RevisionState> {
    return this.core.revisions.values();
  }

  /** One revision's counters and load, as in revisionViews. */
  revisionView(revisionKey: string): RevisionMetricsView | undefined {
    const r = this.core.revisions.get(revisionKey);
    return r === undefined ? undefined : this.core.viewOf(r);
  }

  /** With slot hooks: forwards held requests after slots were granted. */
  pump(revisionKey: string): void {
    const rev = this.core.revisions.get(revisionKey);
    if (rev) this.core.pump(rev);
  }

  /** With slot hooks: answers the n requests held last with 503 (the bound across processes was hit). */
  refuseNewest(revisionKey: string, n: number, held: number): void {
    const rev = this.core.revisions.get(revisionKey);
    if (rev) this.core.refuseNewest(rev, n, held);
  }

  /** Hosts currently routed (for debugging and tests). */
  hosts(): string[] {
    return this.core.table.hosts();
  }
}
