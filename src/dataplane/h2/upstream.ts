// HTTP/2 cleartext to instances of a revision whose container port is named `h2c` (Knative's
// protocol selection by port name): a small pool of client sessions per instance, one stream per
// request. The client side may be HTTP/1.1 or HTTP/2; the gateway translates either way (header
// case and pseudo-headers here, trailers relayed as trailers).

import http2, { type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders as H2Headers } from 'node:http2';
import type { OutgoingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';

const { NGHTTP2_FLAG_END_STREAM } = http2.constants;

/** Streams one session carries before another is opened when the peer did not say (RFC 9113 suggests ≥ 100). */
const DEFAULT_MAX_STREAMS = 100;

/** A few sessions to one instance; a session that closes, fails or is told to go away leaves the pool. */
export class H2SessionPool {
  private sessions: Array<{ session: ClientHttp2Session; open: number; used: boolean }> = [];

  constructor(
    private readonly host: string,
    private readonly port: number,
  ) {}

  /** A session with room for one more stream; `reused` when it had already carried one. */
  acquire(): { session: ClientHttp2Session; reused: boolean; release: () => void } {
    let entry = this.sessions.find((e) => !e.session.closed && !e.session.destroyed && e.open < streamLimit(e.session));
    if (entry === undefined) {
      const session = http2.connect(`http://${this.host}:${this.port}`);
      const e = { session, open: 0, used: false };
      entry = e;
      const drop = () => {
        this.sessions = this.sessions.filter((x) => x !== e);
      };
      // Errors reach the streams (as their error's cause); the session itself just leaves the pool.
      session.on('error', drop);
      session.on('close', drop);
      session.on('goaway', drop);
      this.sessions.push(e);
    }
    const e = entry;
    const reused = e.used;
    e.used = true;
    e.open++;
    let released = false;
    return {
      session: e.session,
      reused,
      release: () => {
        if (released) return;
        released = true;
        e.open--;
      },
    };
  }

  destroy(): void {
    for (const e of this.sessions) e.session.destroy();
    this.sessions = [];
  }
}

function streamLimit(s: ClientHttp2Session): number {
  const m = s.remoteSettings?.maxConcurrentStreams;
  return typeof m === 'number' && m > 0 ? Math.min(m, 2 ** 31) : DEFAULT_MAX_STREAMS;
}

/** Headers only HTTP/1.1 has (RFC 9113 §8.2.2): never sent on an HTTP/2 stream. */
const H1_ONLY = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'host']);

/** An upstream HTTP/1-style header set (already without hop-by-hop fields) as an HTTP/2 request. */
export function h2RequestHeaders(method: string, path: string, h: OutgoingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = { ':method': method, ':scheme': 'http', ':path': path };
  const authority = h.host;
  if (authority !== undefined) out[':authority'] = String(authority);
  for (const k in h) {
    if (H1_ONLY.has(k)) continue;
    if (k === 'te' && String(h[k]).toLowerCase() !== 'trailers') continue;
    out[k] = h[k];
  }
  return out;
}

/** Trailers as they go back to the client: no pseudo-headers, nothing HTTP/1-only. */
export function relayableTrailers(t: H2Headers): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const k in t) {
    if (k.charCodeAt(0) === 58 || H1_ONLY.has(k)) continue;
    out[k] = t[k];
  }
  return out;
}

/**
 * An HTTP/2 stream error in the words isRetryable understands: a stream the instance refused
 * (REFUSED_STREAM) or one cancelled because the session never connected was not processed.
 */
export function h2ErrorCode(err: unknown): string | undefined {
  const e = err as (NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException }) | null;
  if (e?.cause?.code !== undefined) return e.cause.code;
  if (e?.code === 'ERR_HTTP2_STREAM_ERROR' && /REFUSED_STREAM/.test(e.message)) return 'ECONNREFUSED';
  if (e?.code === 'ERR_HTTP2_GOAWAY_SESSION' || e?.code === 'ERR_HTTP2_INVALID_SESSION') return 'ECONNRESET';
  return e?.code;
}

export interface H2Callbacks {
  /**
   * The instance answered: status, headers, body to relay. `headersOnly`: its HEADERS frame ended
   * the stream (gRPC's trailers-only answer), which the client must get the same way.
   */
  response(status: number, headers: H2Headers, body: Readable, headersOnly: boolean): void;
  /** Trailers arrived (before the body's end). */
  trailers(t: OutgoingHttpHeaders): void;
  /** The stream failed; `reused` when its session had carried streams before. */
  error(err: Error & { code?: string }, reused: boolean): void;
  /** The stream is gone (after success or failure): the slot may be released. */
  close(): void;
}

/** Sends one request on a pooled session; returns the stream (destroy it to cancel). */
export function sendH2(
  pool: H2SessionPool,
  headers: OutgoingHttpHeaders,
  endStream: boolean,
  cb: H2Callbacks,
): { stream: ClientHttp2Stream; reused: boolean } {
  const { session, reused, release } = pool.acquire();
  let stream: ClientHttp2Stream;
  try {
    stream = session.request(headers, { endStream });
  } catch (err) {
    release();
    throw err;
  }
  stream.on('response', (h: H2Headers, flags: number) => {
    const status = Number(h[':status']) || 502;
    // (stream.endAfterHeaders is only kept for server streams.)
    cb.response(status, h, stream, (flags & NGHTTP2_FLAG_END_STREAM) !== 0);
  });
  stream.on('trailers', (t: H2Headers) => cb.trailers(relayableTrailers(t)));
  stream.on('error', (err: Error) => {
    const code = h2ErrorCode(err);
    cb.error(Object.assign(err, code === undefined ? {} : { code }), reused);
  });
  stream.on('close', () => {
    release();
    cb.close();
  });
  return { stream, reused };
}
