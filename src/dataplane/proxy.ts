// Header rewriting and error answers for the proxy. Kept free of gateway state so it can be tested
// on its own.

import { STATUS_CODES, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

/** Hop-by-hop headers (RFC 9110 §7.6.1 plus the usual legacy ones): meaningful for one connection only. */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Extra names a peer listed in its Connection header (beyond the usual tokens), lower-cased. */
export function connectionListed(value: string | string[] | undefined): Set<string> | null {
  if (value === undefined) return null;
  const v = Array.isArray(value) ? value.join(',') : value;
  // Fast path: the overwhelmingly common values name no extra headers.
  const lower = v.toLowerCase();
  if (lower === 'keep-alive' || lower === 'close' || lower === 'upgrade') return null;
  let set: Set<string> | null = null;
  for (const part of lower.split(',')) {
    const name = part.trim();
    if (name && name !== 'keep-alive' && name !== 'close' && name !== 'upgrade') (set ??= new Set()).add(name);
  }
  return set;
}

/** The client's address as the gateway reports it (IPv4-mapped IPv6 shown as plain IPv4). */
export function clientAddress(remoteAddress: string | undefined): string {
  const a = remoteAddress ?? '';
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

/**
 * Request headers never passed on as they came: hop-by-hop ones, `Expect`, and those only Knative's
 * own components may set. One lookup per header on the request path.
 */
const NOT_FORWARDED = new Set([...HOP_BY_HOP, 'expect', 'k-network-hash', 'k-proxy-request']);

/** Receives the edited request headers one by one, in the order they go on the wire. */
export interface HeaderSink {
  header(name: string, value: string | string[]): void;
}

/**
 * The request headers an instance sees, as Knative's runtime contract gives them. The one place
 * they are decided: every way the gateway forwards a request (node:http, HTTP/2, the HTTP/1.1 fast
 * path) calls this, the fast path with a sink that writes them straight to the wire.
 *
 * - The client's headers minus hop-by-hop ones (`TE: trailers` stays: gRPC needs it, RFC 9113
 *   §8.2.2 allows it), HTTP/2 pseudo-headers and `Expect` (the gateway answered 100-continue).
 *   For an Upgrade the Connection/Upgrade pair is kept, since the backend must see it.
 * - X-Forwarded-For gets the client's address appended (Envoy, the ingress of Knative); X-Forwarded-Proto
 *   and X-Forwarded-Host are set when no proxy in front set them.
 * - `Forwarded` (RFC 7239): passed on as it came if the client sent one, otherwise built from the
 *   X-Forwarded-* values, as Knative's queue-proxy does (pkg/queue/forwarded_shim.go).
 * - `K-Proxy-Request: activator` when the request was held for capacity (it went through what is
 *   Knative's activator); a client's own K-Proxy-Request and K-Network-Hash are dropped.
 *
 * Order: the client's headers in their order (X-Forwarded-For where it was), then the added ones.
 */
export function emitRequestHeaders(h: IncomingHttpHeaders, addr: string, upgrade: boolean, viaActivator: boolean, sink: HeaderSink): void {
  const listed = connectionListed(h.connection);
  const xff0 = h['x-forwarded-for'];
  const xff = xff0 ? `${xff0}, ${addr}` : addr;
  let xffSent = false;
  for (const k in h) {
    if (NOT_FORWARDED.has(k)) {
      if (k === 'te' && isTrailersOnly(h.te as string | string[] | undefined)) sink.header('te', 'trailers');
      continue;
    }
    if (k.charCodeAt(0) === 58 /* ':' */ || (listed !== null && listed.has(k))) continue;
    if (k === 'x-forwarded-for') {
      sink.header(k, xff);
      xffSent = true;
    } else sink.header(k, h[k]!);
  }
  if (upgrade) {
    sink.header('connection', 'Upgrade');
    if (h.upgrade !== undefined) sink.header('upgrade', h.upgrade);
  }
  if (viaActivator) sink.header('k-proxy-request', 'activator');
  if (!xffSent) sink.header('x-forwarded-for', xff);
  let xfp = h['x-forwarded-proto'];
  if (xfp === undefined) sink.header('x-forwarded-proto', (xfp = 'http'));
  let xfh = h['x-forwarded-host'];
  if (xfh === undefined && h.host !== undefined) sink.header('x-forwarded-host', (xfh = h.host));
  if (h.forwarded === undefined) sink.header('forwarded', forwardedFrom(xff, String(xfp), xfh === undefined ? '' : String(xfh)));
}

/** emitRequestHeaders into a headers object (for node:http's and HTTP/2's clients). */
export function editRequestHeaders(h: IncomingHttpHeaders, addr: string, upgrade: boolean, viaActivator: boolean): OutgoingHttpHeaders {
  const sink = new ObjectSink();
  emitRequestHeaders(h, addr, upgrade, viaActivator, sink);
  return sink.out;
}

class ObjectSink implements HeaderSink {
  readonly out: OutgoingHttpHeaders = {};
  header(name: string, value: string | string[]): void {
    this.out[name] = value;
  }
}

/** editRequestHeaders for a node:http (or HTTP/2 compatibility) request. */
export function upstreamHeaders(req: IncomingMessage, upgrade: boolean, viaActivator: boolean): OutgoingHttpHeaders {
  const out = editRequestHeaders(req.headers, clientAddress(req.socket?.remoteAddress), upgrade, viaActivator);
  // A body without Content-Length (chunked over HTTP/1.1, DATA frames over HTTP/2) is sent chunked:
  // node:http chunks such a body only for methods it expects bodies on, and would write a GET's or
  // DELETE's body as raw bytes, which the instance then reads as the next request.
  if (!upgrade && req.headers['content-length'] === undefined && hasBody(req)) out['transfer-encoding'] = 'chunked';
  return out;
}

function isTrailersOnly(te: string | string[] | undefined): boolean {
  return typeof te === 'string' && te.trim().toLowerCase() === 'trailers';
}

/**
 * RFC 7239 `Forwarded` from X-Forwarded-For/-Proto/-Host, as Knative's queue-proxy shims it: the
 * first node carries host and proto, each further node is its own `for=`; IPv6 nodes are quoted
 * and bracketed.
 */
export function forwardedFrom(xff: string, xfp: string, xfh: string): string {
  // Consecutive requests mostly come from the same client for the same host (keep-alive): the
  // last answer is kept, so the common request compares three strings instead of building one.
  if (xff === last.xff && xfp === last.xfp && xfh === last.xfh) return last.value;
  const value = buildForwarded(xff, xfp, xfh);
  last = { xff, xfp, xfh, value };
  return value;
}

let last = { xff: '', xfp: '', xfh: '', value: '' };

function buildForwarded(xff: string, xfp: string, xfh: string): string {
  const nodes = xff === '' ? [] : xff.split(',').map((n) => n.trim());
  const first: string[] = [];
  if (nodes.length > 0) first.push(`for=${forwardedNode(nodes[0])}`);
  if (xfh !== '') first.push(`host=${xfh}`);
  if (xfp !== '') first.push(`proto=${xfp}`);
  let s = first.join(';');
  for (let i = 1; i < nodes.length; i++) s += `, for=${forwardedNode(nodes[i])}`;
  return s;
}

function forwardedNode(node: string): string {
  return node.includes(':') ? `"[${node}]"` : node;
}

/** Response headers to pass to the client: the backend's minus hop-by-hop ones and HTTP/2 pseudo-headers. */
export function downstreamHeaders(h: IncomingHttpHeaders): OutgoingHttpHeaders {
  const listed = connectionListed(h.connection);
  const out: OutgoingHttpHeaders = {};
  for (const k in h) {
    if (HOP_BY_HOP.has(k) || k.charCodeAt(0) === 58 || (listed !== null && listed.has(k))) continue;
    out[k] = h[k];
  }
  return out;
}

/** Adds the gateway's sticky-session cookie next to any the backend set. */
export function addSetCookie(headers: OutgoingHttpHeaders, cookie: string): void {
  const have = headers['set-cookie'];
  headers['set-cookie'] = have === undefined ? [cookie] : Array.isArray(have) ? [...have, cookie] : [String(have), cookie];
}

/** The plain-text body of an error the gateway answers itself. */
export function errorBody(message: string): string {
  return message.endsWith('\n') ? message : message + '\n';
}

/** Raw header block for a response written straight to a socket (upgrade path). */
export function rawResponseHead(status: number, message: string | undefined, rawHeaders: readonly string[], dropHopByHop: boolean): string {
  let s = `HTTP/1.1 ${status} ${message || STATUS_CODES[status] || ''}\r\n`;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i];
    if (dropHopByHop) {
      const l = name.toLowerCase();
      if (HOP_BY_HOP.has(l) || l === 'content-length') continue;
    }
    s += `${name}: ${rawHeaders[i + 1]}\r\n`;
  }
  return s;
}

/**
 * Answers with a plain-text error the gateway produced itself. If the response already started,
 * the only honest signal left is to cut the connection.
 */
export function sendError(res: ServerResponse, status: number, message: string, extra?: OutgoingHttpHeaders): void {
  sendBody(res, status, errorBody(message), extra);
}

/** sendError with the body exactly as given (Knative's own answers, which some clients compare). */
export function sendBody(res: ServerResponse, status: number, body: string, extra?: OutgoingHttpHeaders): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  // HTTP/2 has no Connection header (and refuses to send one).
  if (extra?.connection !== undefined && isHttp2(res.req)) {
    const { connection: _drop, ...rest } = extra;
    extra = rest;
  }
  const headers: OutgoingHttpHeaders = {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'x-sluice-error': 'gateway',
    ...extra,
  };
  res.writeHead(status, headers);
  res.end(body);
}

/** Same as sendError, for a raw socket (an Upgrade request that never reached a backend). */
export function sendSocketError(socket: Duplex, status: number, message: string, extra?: Record<string, string | number>): void {
  if (socket.destroyed) return;
  const body = errorBody(message);
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nx-sluice-error: gateway\r\nconnection: close\r\n`;
  if (extra) for (const k in extra) head += `${k}: ${extra[k]}\r\n`;
  // The socket is not being read (Upgrade sockets have no reader until tunnelled), so the client's
  // FIN would never be seen: close our side fully once the answer is flushed.
  socket.end(head + '\r\n' + body, () => socket.destroy());
}

/** Whether a request came over HTTP/2 (Node's compatibility request has the stream; an HTTP/1 request line may say "HTTP/2.0"). */
export function isHttp2(req: IncomingMessage | undefined): boolean {
  return req !== undefined && (req as unknown as { stream?: unknown }).stream !== undefined;
}

/** Whether a request carries a body (so it cannot be replayed to another endpoint). */
export function hasBody(req: IncomingMessage): boolean {
  // An HTTP/2 request has a body unless its HEADERS frame ended the stream (gRPC sends no length).
  const stream = (req as unknown as { stream?: { endAfterHeaders: boolean } }).stream;
  if (stream !== undefined) return !stream.endAfterHeaders;
  const h = req.headers;
  if (h['transfer-encoding'] !== undefined) return true;
  const cl = h['content-length'];
  return cl !== undefined && cl !== '0';
}

/** The connection was never established: the request cannot have reached the backend. */
const NOT_CONNECTED = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);
/** The connection broke before any response: the backend may or may not have seen the request. */
const BROKEN = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);
/** Methods safe to send twice (RFC 9110 §9.2.2). */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/**
 * Whether a bodiless request that failed before any response may be sent again: always if it never
 * got a connection, and only for idempotent methods if the connection broke mid-way.
 */
export function isRetryable(err: unknown, method: string | undefined): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (code === undefined) return false;
  if (NOT_CONNECTED.has(code)) return true;
  return BROKEN.has(code) && IDEMPOTENT.has(method ?? 'GET');
}

export function errorCode(err: unknown): string {
  const e = err as NodeJS.ErrnoException | null;
  return e?.code ?? e?.message ?? String(err);
}
