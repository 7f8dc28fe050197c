// Clients speaking HTTP/2 cleartext to the gateway's plain listener: with prior knowledge (the
// connection dispatcher hands over connections that open with the HTTP/2 preface) and through
// HTTP/1.1's `Upgrade: h2c` (RFC 7540 §3.2). Each stream reaches the gateway as a request/response
// pair of Node's http2 compatibility API, which the gateway's exchange machinery drives like an
// HTTP/1 one, so routing, holding, containerConcurrency, stats, timeouts and request logs are the same.

import http2, { type Http2ServerRequest, type Http2ServerResponse, type Http2Session, type ServerHttp2Session } from 'node:http2';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { claimsH2Preface, H2_PREFACE, type Claim, type Claimant } from '../connections.js';
import { requestFrames } from './hpack.js';
import { sendSocketError } from '../proxy.js';

export type H2RequestHandler = (req: Http2ServerRequest, res: Http2ServerResponse) => void;

/** Open streams per session, so an idle timeout only ends sessions with nothing in flight. */
const kOpen = Symbol('sluice.h2.open');
type Counted = Http2Session & { [kOpen]?: number };

/** Request headers an Upgrade carries for the HTTP/1.1 connection only (RFC 7540 §3.2, RFC 9113 §8.2.2). */
const NOT_FORWARDED_ON_UPGRADE = new Set([
  'connection',
  'upgrade',
  'http2-settings',
  'host',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
]);

/** Largest body an Upgrade request may carry: what fits in HTTP/2's initial flow-control window. */
export const MAX_UPGRADE_BODY = 65_535;

/** Whether an HTTP/1.1 request asks to switch to HTTP/2 cleartext. */
export function isH2cUpgrade(req: IncomingMessage): boolean {
  const u = req.headers.upgrade;
  if (u === undefined || u.toLowerCase() !== 'h2c') return false;
  return req.headers['http2-settings'] !== undefined;
}

/** Stream 1's fields for an upgraded request: pseudo-headers first, then its end-to-end headers. */
export function upgradeFields(req: IncomingMessage): Array<[string, string]> {
  const h = req.headers;
  const fields: Array<[string, string]> = [
    [':method', req.method ?? 'GET'],
    [':scheme', 'http'],
    [':path', req.url ?? '/'],
  ];
  if (h.host !== undefined) fields.push([':authority', h.host]);
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    if (NOT_FORWARDED_ON_UPGRADE.has(name)) continue;
    if (name === 'te' && raw[i + 1].trim().toLowerCase() !== 'trailers') continue;
    fields.push([name, raw[i + 1]]);
  }
  return fields;
}

export class H2Inbound implements Claimant {
  readonly name = 'http2';
  private readonly server: http2.Http2Server;
  private readonly sessions = new Set<ServerHttp2Session>();

  constructor(onRequest: H2RequestHandler, idleTimeoutMs: number) {
    this.server = http2.createServer({}, onRequest);
    this.server.on('session', (s: ServerHttp2Session) => {
      this.sessions.add(s);
      s.on('close', () => this.sessions.delete(s));
      s.on('error', () => s.destroy());
    });
    this.server.on('stream', (stream) => {
      const s = stream.session as Counted;
      s[kOpen] = (s[kOpen] ?? 0) + 1;
      stream.on('close', () => {
        s[kOpen]!--;
      });
    });
    // A session quiet this long with no stream open is closed, like an idle HTTP/1 keep-alive connection.
    this.server.setTimeout(idleTimeoutMs);
    this.server.on('timeout', (s: Http2Session) => {
      if (((s as Counted)[kOpen] ?? 0) === 0) s.close();
    });
  }

  claims(first: Buffer): Claim {
    return claimsH2Preface(first);
  }

  take(socket: Socket): void {
    this.server.emit('connection', socket);
  }

  /**
   * Answers an HTTP/1.1 `Upgrade: h2c` request: 101, then the connection is HTTP/2 and the request
   * is its stream 1, served like any other stream. Its body (Content-Length only) is read first.
   */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const cl = req.headers['content-length'];
    const length = cl === undefined ? 0 : Number(cl);
    if (req.headers['transfer-encoding'] !== undefined || !Number.isInteger(length) || length < 0 || length > MAX_UPGRADE_BODY) {
      sendSocketError(
        socket,
        400,
        `sluice gateway: an Upgrade to h2c needs a request body of known length up to ${MAX_UPGRADE_BODY} bytes; send larger bodies over HTTP/2 with prior knowledge or without Upgrade`,
      );
      return;
    }
    const frames = requestFrames(upgradeFields(req), Buffer.alloc(0));
    if (frames === null) {
      sendSocketError(socket, 431, 'sluice gateway: the request headers are too large to upgrade to h2c');
      return;
    }
    let buf: Buffer = head;
    let bodyDone = false;
    let body: Buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      step();
    };
    const step = (): void => {
      if (!bodyDone) {
        if (buf.length < length) return;
        body = buf.subarray(0, length);
        buf = buf.subarray(length);
        bodyDone = true;
        socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n');
      }
      // The client now sends the preface and its SETTINGS frame; stream 1 goes in right after them.
      const need = H2_PREFACE.length + 9;
      if (buf.length < need) {
        if (buf.length > 0 && claimsH2Preface(buf) === 'no') socket.destroy();
        return;
      }
      if (claimsH2Preface(buf) !== 'yes' || buf[H2_PREFACE.length + 3] !== 0x4) {
        socket.destroy();
        return;
      }
      const settingsEnd = need + buf.readUIntBE(H2_PREFACE.length, 3);
      if (buf.length < settingsEnd) return;
      socket.off('data', onData);
      socket.pause();
      const stream1 = requestFrames(upgradeFields(req), body)!;
      socket.unshift(Buffer.concat([buf.subarray(0, settingsEnd), stream1, buf.subarray(settingsEnd)]));
      this.server.emit('connection', socket);
    };
    socket.on('data', onData);
    step();
  }

  /** Ends every HTTP/2 connection at once (the gateway is closing). */
  close(): void {
    for (const s of this.sessions) s.destroy();
    this.sessions.clear();
  }
}
