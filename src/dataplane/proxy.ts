// Header rewriting and error answers for the proxy. Kept free of gateway state so it can be tested
// on its own.

import { STATUS_CODES, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

/** Hop-by-hop headers (RFC 9110 §7.6.1 plus the usual legacy ones): meaningful for one connection only. */
const HOP_BY_HOP = new Set([
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
function connectionListed(value: string | string[] | undefined): Set<string> | null {
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
 * Headers to send upstream: the client's headers minus hop-by-hop ones, `Expect` (the gateway has
 * already answered 100-continue itself), plus X-Forwarded-For (appended), X-Forwarded-Proto and
 * X-Forwarded-Host (kept if a proxy in front already set them). For an Upgrade request the
 * Connection/Upgrade pair is kept, since the backend must see it.
 */
export function upstreamHeaders(req: IncomingMessage, upgrade: boolean): OutgoingHttpHeaders {
  return editRequestHeaders(req.headers, clientAddress(req.socket.remoteAddress), upgrade);
}

/**
 * The gateway's request header edits, on headers shaped like node:http's `req.headers` (lower-case
 * names). Both the node:http path and the fast path (fastpath/) call this one function, so the
 * backend sees the same headers whichever path a request took.
 */
export function editRequestHeaders(h: IncomingHttpHeaders, addr: string, upgrade: boolean): OutgoingHttpHeaders {
  const listed = connectionListed(h.connection);
  const out: OutgoingHttpHeaders = {};
  for (const k in h) {
    if (HOP_BY_HOP.has(k) || k === 'expect' || (listed !== null && listed.has(k))) continue;
    out[k] = h[k];
  }
  if (upgrade) {
    out.connection = 'Upgrade';
    if (h.upgrade !== undefined) out.upgrade = h.upgrade;
  }
  const xff = h['x-forwarded-for'];
  out['x-forwarded-for'] = xff ? `${xff}, ${addr}` : addr;
  if (h['x-forwarded-proto'] === undefined) out['x-forwarded-proto'] = 'http';
  if (h['x-forwarded-host'] === undefined && h.host !== undefined) out['x-forwarded-host'] = h.host;
  return out;
}

/** Response headers to pass to the client: the backend's minus hop-by-hop ones. */
export function downstreamHeaders(h: IncomingHttpHeaders): OutgoingHttpHeaders {
  const listed = connectionListed(h.connection);
  const out: OutgoingHttpHeaders = {};
  for (const k in h) {
    if (HOP_BY_HOP.has(k) || (listed !== null && listed.has(k))) continue;
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
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const body = errorBody(message);
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

/** Whether a request carries a body (so it cannot be replayed to another endpoint). */
export function hasBody(req: IncomingMessage): boolean {
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
