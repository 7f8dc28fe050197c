// The gateway's fast path for plain HTTP/1.1: client connections are read as bytes, each request
// head is parsed strictly (heads.ts), and a request the parser takes is relayed over a pooled
// keep-alive socket to the instance the gateway picked — head written after the gateway's one
// shared header edit (proxy.ts emitRequestHeaders), body by its Content-Length, response by its
// own framing (Content-Length, chunked, or until close) with the response edit (hop-by-hop headers
// dropped, as proxy.ts downstreamHeaders does). No IncomingMessage, ServerResponse or
// ClientRequest is made, and no header object or string for the response: each message is
// assembled as bytes in one buffer and written with one call (wire.ts).
//
// Everything else is not ours: at the start of any request whose head is not plain, or not wholly
// in the bytes at hand, the connection and the bytes already read go to node:http unchanged, and
// node:http (llhttp) answers it and whatever follows on that connection. That happens only between
// exchanges, so node:http never sees half of one.
//
// Routing, the hold queue, concurrency slots, timeouts, retries, stats and request logs are the
// gateway's (gateway.ts): a request reaches it as a FastRequest and the gateway drives it through
// the same steps as a node:http one.

import { STATUS_CODES, type IncomingHttpHeaders, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { clientAddress, connectionListed, emitRequestHeaders, errorBody, HOP_BY_HOP, type HeaderSink } from '../proxy.js';
import type { EndpointState } from '../revision.js';
import { ChunkedReader } from './chunked.js';
import {
  EMPTY_BODY_LENGTH_METHODS,
  isNotPlain,
  LINE_FIELDS,
  Name,
  nameIs,
  parseRequestHead,
  parseResponseHead,
  ResponseError,
  type RequestHead,
  ResponseHead,
} from './heads.js';
import type { UpstreamConn, UpstreamUser } from './upstream-pool.js';
import { wire } from './wire.js';

/** What the gateway's exchange does for a fast-path request (implemented by gateway.ts's Exchange). */
export interface FastHooks {
  /** The sticky-session cookie the response must carry, if any. */
  readonly setCookie: string | undefined;
  /** The client side is done (response sent, or the client gone). */
  finished(): void;
  /** The backend failed before any byte of a response reached the client. */
  failed(err: Error, reused: boolean): void;
  /** The instance slot is no longer used by this request. */
  slotFree(): void;
}

/** A fast-path request as the gateway sees it. */
export interface FastRequest {
  readonly method: string;
  readonly target: string;
  /** node:http's `req.headers` shape: lower-case names, one value each. */
  readonly headers: IncomingHttpHeaders;
  readonly hasBody: boolean;
  readonly clientAddress: string;
  /** Some of the response has reached the client. */
  readonly started: boolean;
  bind(hooks: FastHooks): void;
  /** Held: stop taking the body (it stays in the kernel) until forwarded. */
  pause(): void;
  /** Sends the request to an instance, headers edited by proxy.ts emitRequestHeaders. */
  forward(ep: EndpointState, viaActivator: boolean): void;
  /** An answer of the gateway's own (plain text), or a cut connection if a response already started. */
  answer(status: number, body: string, extra?: Record<string, string | number>): void;
  /** Stops the backend side (timeout, client gone) and frees the slot. */
  abortUpstream(): void;
  /** Cuts the client connection. */
  destroy(): void;
  /** The status sent, once the whole response is; 0 before that or if it never was. */
  finalStatus(): number;
}

export interface FastPathOptions {
  /** Idle keep-alive timeout of client connections (the listener's, see net/listener.ts). */
  keepAliveTimeoutMs: number;
  /** Takes a request the parser accepted. */
  dispatch(req: FastRequest): void;
  /** Whether the fast path should relay this plain request; false hands the connection to node:http as for one that is not plain. */
  wants?(headers: IncomingHttpHeaders): boolean;
}

/** Bytes of pipelined requests buffered per connection before it stops reading. */
const MAX_PENDING = 64 * 1024;
/** A response head larger than node:http's client would take is refused the same way. */
const MAX_RESPONSE_HEAD = 16 * 1024;

/** node:http's own answer to a request llhttp refuses (its badRequestResponse). */
const BAD_REQUEST = 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n';

const kConn = Symbol('sluice.fastpath');
type Tagged = Socket & { [kConn]?: FastConnection };

/** The fast path of one listener: intercepts its connections and tracks the ones it keeps. */
export class FastPath {
  readonly connections = new Set<FastConnection>();
  private handOver: (socket: Socket) => void = () => {};
  readonly keepAliveSeconds: number;
  /** The Connection and Keep-Alive lines of a response on a connection that stays open. */
  readonly keepAliveLines: string;

  constructor(readonly opts: FastPathOptions) {
    this.keepAliveSeconds = Math.floor(opts.keepAliveTimeoutMs / 1000);
    this.keepAliveLines = `Connection: keep-alive\r\nKeep-Alive: timeout=${this.keepAliveSeconds}\r\n`;
  }

  /**
   * Puts the fast path in front of a node:http server: every new connection comes here first; those
   * it does not keep go to the server's own connection handling, as if they had just arrived.
   */
  attach(server: Server): void {
    const original = server.listeners('connection') as ((socket: Socket) => void)[];
    server.removeAllListeners('connection');
    this.handOver = (socket) => {
      for (const l of original) l.call(server, socket);
    };
    server.on('connection', (socket: Socket) => this.connections.add(new FastConnection(socket, this)));
  }

  /** Gives a connection (with the bytes read from it, not yet answered) to node:http. */
  giveToNode(c: FastConnection, bytes: Buffer | null): void {
    this.connections.delete(c);
    const s = c.socket;
    s.pause();
    s.removeListener('data', onClientData);
    s.removeListener('end', onClientEnd);
    s.removeListener('close', onClientClose);
    s.removeListener('error', onClientError);
    c.stopIdleTimer();
    if (bytes !== null && bytes.length > 0) s.unshift(bytes);
    this.handOver(s);
    s.resume();
  }

  /** Cuts every connection the fast path holds (gateway shutdown). */
  closeAll(): void {
    for (const c of [...this.connections]) c.socket.destroy();
    this.connections.clear();
  }
}

// ---- client connections ----

function onClientData(this: Tagged, chunk: Buffer): void {
  this[kConn]!.data(chunk);
}
function onClientEnd(this: Tagged): void {
  this[kConn]!.ended();
}
function onClientClose(this: Tagged): void {
  this[kConn]!.closed();
}
function onIdleTimer(c: FastConnection): void {
  c.idleCheck();
}
function onClientError(this: Tagged): void {
  this.destroy();
}

export class FastConnection {
  current: FastExchange | null = null;
  private pending: Buffer | null = null;
  private clientEnded = false;
  private starting = false;
  private again = false;
  private gone = false;
  /** Bytes of an answered request's body still to come and be dropped. */
  private skip = 0;
  /** Read once: remoteAddress asks the OS each time. */
  readonly clientAddress: string;
  /**
   * The keep-alive timeout: one timer per connection, re-armed only when it fires. Ending an
   * exchange just notes the time (socket.setTimeout would make a timer per request and refresh it
   * on every read and write).
   */
  private idleTimer: NodeJS.Timeout | null = null;
  /** performance.now() when the connection last became idle (or read bytes while idle). */
  private idleSince: number;
  /**
   * The last request head forwarded as it came from the client (headIn), as parsed (headParsed)
   * and as it went to the instance (headOut, for `headVia`). Parse and edit are functions of those
   * bytes, this connection's client address and viaActivator alone, so a client repeating its head
   * (keep-alive clients mostly do) gets neither again. Request heads are never changed once parsed.
   */
  headIn: Buffer | null = null;
  headParsed: RequestHead | null = null;
  headOut: Buffer | null = null;
  headVia = false;

  constructor(
    readonly socket: Socket,
    readonly path: FastPath,
  ) {
    (socket as Tagged)[kConn] = this;
    this.clientAddress = clientAddress(socket.remoteAddress);
    socket.on('data', onClientData);
    socket.on('end', onClientEnd);
    socket.on('close', onClientClose);
    socket.on('error', onClientError);
    this.idleSince = performance.now();
    this.armIdleTimer(path.opts.keepAliveTimeoutMs);
  }

  private armIdleTimer(ms: number): void {
    if (ms <= 0) return;
    this.idleTimer = setTimeout(onIdleTimer, Math.max(1, Math.ceil(ms)), this);
    this.idleTimer.unref();
  }

  /** The idle timer fired: close the connection if it has been idle for the whole timeout. */
  idleCheck(): void {
    this.idleTimer = null;
    if (this.gone) return;
    const timeout = this.path.opts.keepAliveTimeoutMs;
    if (this.current !== null) {
      this.armIdleTimer(timeout);
      return;
    }
    const left = timeout - (performance.now() - this.idleSince);
    if (left > 0) this.armIdleTimer(left);
    else this.socket.destroy();
  }

  stopIdleTimer(): void {
    if (this.idleTimer !== null) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }

  data(chunk: Buffer): void {
    if (this.skip > 0) {
      // The rest of a body the exchange was answered without: read and dropped, as node:http does.
      if (this.current === null) this.idleSince = performance.now();
      if (chunk.length <= this.skip) {
        this.skip -= chunk.length;
        return;
      }
      chunk = chunk.subarray(this.skip);
      this.skip = 0;
    }
    const ex = this.current;
    if (ex !== null) {
      ex.clientData(chunk);
      return;
    }
    this.addPending(chunk);
    this.next();
  }

  addPending(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.pending = this.pending === null ? bytes : Buffer.concat([this.pending, bytes]);
    if (this.current !== null && this.pending.length > MAX_PENDING) this.socket.pause();
  }

  /** Starts the next request from the pending bytes, if no exchange is under way. */
  private next(): void {
    if (this.starting) {
      this.again = true;
      return;
    }
    this.starting = true;
    try {
      do {
        this.again = false;
        const buf = this.pending;
        if (buf === null || this.current !== null || this.gone) return;
        const known = this.headParsed;
        const head = known !== null && startsWith(buf, this.headIn!) ? known : parseRequestHead(buf);
        if (isNotPlain(head) || (this.path.opts.wants !== undefined && !this.path.opts.wants(head.headers))) {
          this.pending = null;
          this.path.giveToNode(this, buf);
          this.gone = true;
          return;
        }
        this.pending = null;
        const ex = new FastExchange(this, head, buf);
        this.current = ex;
        if (head.end < buf.length) ex.begin(buf.subarray(head.end));
        this.path.opts.dispatch(ex);
      } while (this.again);
    } finally {
      this.starting = false;
    }
  }

  /** The exchange is over on the client side. */
  done(ex: FastExchange, keepAlive: boolean, unread: number): void {
    if (this.current !== ex) return;
    this.current = null;
    this.skip = unread;
    const s = this.socket;
    if (!keepAlive || this.clientEnded) {
      this.gone = true;
      this.stopIdleTimer();
      this.path.connections.delete(this);
      s.end(() => s.destroy());
      return;
    }
    if (s.isPaused()) s.resume();
    if (this.pending === null || this.skip > 0) this.idleSince = performance.now();
    else this.next();
  }

  ended(): void {
    this.clientEnded = true;
    if (this.gone) return;
    // As node:http does (httpAllowHalfOpen off): a client's end of input aborts what is under way
    // and closes the connection; a partial request before it is dropped unanswered.
    this.gone = true;
    this.stopIdleTimer();
    this.path.connections.delete(this);
    const ex = this.current;
    this.current = null;
    this.pending = null;
    // Input ended inside a request body: llhttp calls that malformed and node:http answers 400.
    const truncated = ex !== null ? ex.bodyUnread && !ex.started : this.skip > 0;
    ex?.clientClosed();
    this.socket.end(truncated ? BAD_REQUEST : '', 'latin1', () => this.socket.destroy());
  }

  closed(): void {
    this.gone = true;
    this.stopIdleTimer();
    this.path.connections.delete(this);
    const ex = this.current;
    this.current = null;
    ex?.clientClosed();
  }
}

// ---- one request ----

let dateAt = 0;
let dateLine = '';
/** The Date header line, formatted once a second. */
function httpDateLine(): string {
  const now = Date.now();
  if (now - dateAt >= 1000) {
    dateAt = now - (now % 1000);
    dateLine = `Date: ${new Date(dateAt).toUTCString()}\r\n`;
  }
  return dateLine;
}

function headerLine(name: string, value: string): void {
  wire.text(name);
  wire.byte(COLON);
  wire.byte(SP);
  wire.text(value);
  wire.crlf();
}

/** The edited request headers, written to the wire as node:http's client writes them. */
const WIRE_SINK: HeaderSink = {
  header(name: string, value: string | string[]): void {
    if (typeof value === 'string') headerLine(name, value);
    else for (const v of value) headerLine(name, v);
  },
};

/** HOP_BY_HOP by name length, to test a name's bytes against only the names as long as it. */
const HOP_BY_LENGTH: string[][] = [];
for (const n of HOP_BY_HOP) (HOP_BY_LENGTH[n.length] ??= []).push(n);

function isHopByHop(raw: Buffer, start: number, end: number): boolean {
  const names = HOP_BY_LENGTH[end - start];
  if (names === undefined) return false;
  for (const n of names) if (nameIs(raw, start, end, n)) return true;
  return false;
}

/**
 * The backend's header lines the client gets, as they came: all but hop-by-hop ones, those its
 * Connection header names (as proxy.ts downstreamHeaders drops them) and repeats of Content-Length
 * (same value; node:http keeps one). Runs of kept lines are copied at once.
 */
function writeResponseLines(h: ResponseHead): void {
  const raw = h.raw;
  const l = h.lines;
  const listed = h.connection === null ? null : connectionListed(h.connection);
  const last = h.end - 2;
  let runStart = -1;
  let runEnd = -1;
  let length = false;
  for (let i = 0; i < l.length; i += LINE_FIELDS) {
    const n0 = l[i];
    const n1 = l[i + 1];
    const lineEnd = i + LINE_FIELDS < l.length ? l[i + LINE_FIELDS] : last;
    let keep: boolean;
    if (l[i + 4] === Name.ContentLength) {
      keep = !length;
      length = true;
    } else keep = !isHopByHop(raw, n0, n1) && (listed === null || !listed.has(raw.toString('latin1', n0, n1).toLowerCase()));
    if (!keep) continue;
    if (n0 !== runEnd) {
      if (runStart >= 0) wire.copy(raw, runStart, runEnd);
      runStart = n0;
    }
    runEnd = lineEnd;
  }
  if (runStart >= 0) wire.copy(raw, runStart, runEnd);
}

/** Body bytes of a chunked (or close-delimited) response, framed again as one chunk. */
function chunkToWire(buf: Buffer, start: number, end: number): void {
  wire.number(end - start, 16);
  wire.crlf();
  wire.copy(buf, start, end);
  wire.crlf();
}

function hangUp(): Error {
  return Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
}

const enum Body {
  None,
  Length,
  Chunked,
  UntilClose,
}

const SP = 32;
const COLON = 58;
/** Longer heads are not remembered for reuse (FastConnection.headIn, UpstreamConn.head). */
const MAX_REMEMBERED_HEAD = 2048;

/** Whether `buf` starts with the bytes of `prefix`. */
function startsWith(buf: Buffer, prefix: Buffer): boolean {
  const n = prefix.length;
  if (buf.length < n) return false;
  if (n > 128) return buf.compare(prefix, 0, n, 0, n) === 0;
  for (let i = 0; i < n; i++) if (buf[i] !== prefix[i]) return false;
  return true;
}

/**
 * Makes `h` (parsed from the shared read buffer) the connection's remembered head, on a copy of its
 * bytes, and returns the copy's head; or returns `h` as it is. A connection whose remembered head
 * was never seen again remembers only every 16th new head after that: heads that always differ
 * (a Content-Length per response) cost little more than their parse.
 */
function remember(up: UpstreamConn, h: ResponseHead): ResponseHead {
  if (up.headSkip > 0) {
    up.headSkip--;
    return h;
  }
  if (up.head !== null && up.headHits === 0) {
    up.head = null;
    up.headOut = null;
    up.headSkip = 15;
    return h;
  }
  const raw = Buffer.from(h.raw.subarray(0, h.end));
  const r = new ResponseHead(
    raw,
    h.status,
    h.reasonStart,
    h.reasonEnd,
    h.http10,
    h.lines,
    h.contentLength,
    h.chunked,
    h.untilClose,
    h.close,
    h.connection,
    h.hasDate,
    h.end,
  );
  up.head = r;
  up.headHits = 0;
  up.headOut = null;
  return r;
}

const LAST_CHUNK = '0\r\n\r\n';

export class FastExchange implements FastRequest, UpstreamUser {
  readonly method: string;
  readonly target: string;
  readonly headers: IncomingHttpHeaders;
  readonly hasBody: boolean;
  readonly clientAddress: string;
  private hooks: FastHooks | null = null;
  /** Request body bytes still to come from the client. */
  private bodyLeft: number;
  /** Body bytes read before the request was forwarded. */
  private bodyParts: Buffer[] | null = null;
  private readonly close: boolean;
  private up: UpstreamConn | null = null;
  /** Response bytes already read while the head was incomplete. */
  private rbuf: Buffer | null = null;
  private rhead: ResponseHead | null = null;
  private body = Body.None;
  private left = 0;
  private chunks: ChunkedReader | null = null;
  /** The backend's connection may carry another request once this one is done. */
  private reusable = true;
  private keepAlive = true;
  started = false;
  private status = 0;
  private complete = false;
  private over = false;

  constructor(
    private readonly conn: FastConnection,
    private readonly head: RequestHead,
    /** The bytes the head was read from (the head is raw[0..head.end)). */
    private readonly raw: Buffer,
  ) {
    this.method = head.method;
    this.target = head.target;
    this.headers = head.headers as IncomingHttpHeaders;
    this.bodyLeft = head.contentLength;
    this.hasBody = head.contentLength > 0;
    this.close = head.close;
    this.clientAddress = conn.clientAddress;
  }

  /** Takes the bytes that followed the head in the same read. */
  begin(rest: Buffer): void {
    if (rest.length > 0) this.clientData(rest);
  }

  bind(hooks: FastHooks): void {
    this.hooks = hooks;
  }

  /** Part of the request body has not arrived yet. */
  get bodyUnread(): boolean {
    return this.bodyLeft > 0;
  }

  clientData(chunk: Buffer): void {
    if (this.bodyLeft === 0) {
      this.conn.addPending(chunk);
      return;
    }
    let part = chunk;
    if (chunk.length > this.bodyLeft) {
      part = chunk.subarray(0, this.bodyLeft);
      this.conn.addPending(chunk.subarray(this.bodyLeft));
    }
    this.bodyLeft -= part.length;
    const up = this.up;
    if (up !== null) {
      if (!up.socket.write(part)) this.waitForUpstreamDrain(up);
    } else if (!this.over) (this.bodyParts ??= []).push(part);
  }

  private waitForUpstreamDrain(up: UpstreamConn): void {
    const client = this.conn.socket;
    client.pause();
    up.socket.once('drain', () => {
      if (this.up === up && !this.over) client.resume();
    });
  }

  pause(): void {
    // A bodiless request keeps its connection read, so a client that leaves is noticed while held.
    if (this.bodyLeft > 0) this.conn.socket.pause();
  }

  forward(ep: EndpointState, viaActivator: boolean): void {
    const up = ep.fastPool().take(this);
    this.up = up;
    this.rbuf = null;
    const c = this.conn;
    const again = c.headOut;
    // (headParsed is this head only if its bytes are headIn: see FastConnection.next.)
    if (again !== null && c.headVia === viaActivator && c.headParsed === this.head) wire.bytes(again, 0, again.length);
    else {
      const mark = wire.mark();
      // As node:http's client writes it: Connection after the given headers, then the empty body's length.
      wire.text(this.method);
      wire.byte(SP);
      wire.text(this.target);
      wire.text(' HTTP/1.1\r\n');
      emitRequestHeaders(this.headers, this.clientAddress, false, viaActivator, WIRE_SINK);
      wire.text('Connection: keep-alive\r\n');
      if (this.headers['content-length'] === undefined && EMPTY_BODY_LENGTH_METHODS.has(this.method)) wire.text('Content-Length: 0\r\n');
      wire.crlf();
      const end = this.head.end;
      const out = end <= MAX_REMEMBERED_HEAD ? wire.since(mark) : null;
      c.headOut = out;
      c.headIn = out === null ? null : Buffer.from(this.raw.subarray(0, end));
      c.headParsed = out === null ? null : this.head;
      c.headVia = viaActivator;
    }
    const parts = this.bodyParts;
    this.bodyParts = null;
    if (parts !== null) for (const p of parts) wire.bytes(p, 0, p.length);
    if (!wire.send(up.socket) && parts !== null) {
      this.waitForUpstreamDrain(up);
      return;
    }
    if (this.bodyLeft > 0) this.conn.socket.resume();
  }

  // -- the backend's side --

  upstreamData(chunk: Buffer): void {
    if (this.over) return;
    let buf = chunk;
    let from = 0;
    if (this.rhead === null) {
      if (this.rbuf !== null) {
        buf = Buffer.concat([this.rbuf, chunk]);
        this.rbuf = null;
      }
      for (;;) {
        let h: ResponseHead | null;
        const up = this.up;
        const known = up !== null ? up.head : null;
        // The same bytes as the connection's last remembered head parse the same: no parse.
        if (known !== null && startsWith(buf, known.raw)) {
          h = known;
          up!.headHits++;
        } else {
          try {
            h = parseResponseHead(buf, MAX_RESPONSE_HEAD);
          } catch (err) {
            this.upstreamFailed(err as Error);
            return;
          }
          if (h !== null && up !== null && h.status >= 200 && h.hasDate && h.end <= MAX_REMEMBERED_HEAD) h = remember(up, h);
        }
        if (h === null) {
          // `chunk` is the pool's shared read buffer (see upstream-pool.ts): keep a copy.
          this.rbuf = buf.buffer === chunk.buffer ? Buffer.from(buf) : buf;
          return;
        }
        if (h.status >= 200) {
          this.startResponse(h, up);
          from = h.end;
          break;
        }
        if (h.status === 101) {
          this.upstreamFailed(new ResponseError('HPE_UNEXPECTED_UPGRADE', 'Upgrade the request did not ask for'));
          return;
        }
        // 1xx (100 Continue, 103 Early Hints): node:http's client skips them, so does the gateway.
        buf = buf.subarray(h.end);
        if (buf.length === 0) return;
      }
    }
    this.relay(buf, from);
  }

  private startResponse(h: ResponseHead, up: UpstreamConn | null): void {
    this.rhead = h;
    const bodyAllowed = this.method !== 'HEAD' && h.status !== 204 && h.status !== 304;
    if (!bodyAllowed) this.body = Body.None;
    else if (h.chunked) {
      this.body = Body.Chunked;
      this.chunks = new ChunkedReader();
    } else if (h.contentLength >= 0) {
      this.body = h.contentLength > 0 ? Body.Length : Body.None;
      this.left = h.contentLength;
    } else this.body = Body.UntilClose;
    if (h.http10 || h.close || this.body === Body.UntilClose) this.reusable = false;
    this.keepAlive = !this.close;
    const cookie = this.hooks?.setCookie;
    // What the client gets is a function of the head, keepAlive and bodyAllowed alone when there is
    // no cookie to add and no Date to make: then a remembered head's edit is sent again.
    const key = (this.keepAlive ? 1 : 0) | (bodyAllowed ? 2 : 0);
    const path = this.conn.path;
    const again = up !== null && up.head === h && cookie === undefined && up.headFor === path ? up.headOut : null;
    if (again !== null && up!.headKey === key) wire.bytes(again, 0, again.length);
    else {
      const mark = wire.mark();
      const raw = h.raw;
      wire.text('HTTP/1.1 ');
      wire.copy(raw, 9, 12);
      wire.byte(SP);
      wire.copy(raw, h.reasonStart, h.reasonEnd);
      wire.crlf();
      writeResponseLines(h);
      if (cookie !== undefined) headerLine('set-cookie', cookie);
      if (!h.hasDate) wire.text(httpDateLine());
      wire.text(this.keepAlive ? path.keepAliveLines : 'Connection: close\r\n');
      if (bodyAllowed && h.contentLength < 0) wire.text('Transfer-Encoding: chunked\r\n');
      wire.crlf();
      if (up !== null && up.head === h && cookie === undefined) {
        up.headOut = wire.since(mark);
        up.headKey = key;
        up.headFor = path;
      }
    }
    this.status = h.status;
    this.started = true;
  }

  private relay(buf: Buffer, from: number): void {
    let finished = false;
    const n = buf.length;
    switch (this.body) {
      case Body.None:
        finished = true;
        if (from < n) this.reusable = false;
        break;
      case Body.Length: {
        const take = Math.min(this.left, n - from);
        if (take > 0) wire.copy(buf, from, from + take);
        this.left -= take;
        if (this.left === 0) {
          finished = true;
          if (from + take < n) this.reusable = false;
        }
        break;
      }
      case Body.Chunked: {
        let at: number;
        try {
          at = this.chunks!.read(buf, from, n, chunkToWire);
        } catch {
          // Bad framing mid-body: the client must not take a truncated body for a whole one.
          this.flush();
          this.cut();
          return;
        }
        if (at >= 0) {
          finished = true;
          wire.text(LAST_CHUNK);
          if (at < n) this.reusable = false;
        }
        break;
      }
      case Body.UntilClose:
        if (from < n) chunkToWire(buf, from, n);
        break;
    }
    this.flush();
    if (finished) this.responseDone();
  }

  /** Writes what was assembled in the wire for the client. */
  private flush(): void {
    const s = this.conn.socket;
    if (!wire.send(s) && this.up !== null) {
      // The client reads slower than the backend writes: stop reading the backend until it catches up.
      const up = this.up;
      up.socket.pause();
      s.once('drain', () => {
        if (this.up === up) up.socket.resume();
      });
    }
  }

  private responseDone(): void {
    const up = this.up;
    this.up = null;
    if (up !== null) {
      if (this.reusable && this.bodyLeft === 0) up.release();
      else up.destroy();
    }
    this.hooks?.slotFree();
    this.complete = true;
    this.end();
  }

  upstreamEnd(): void {
    if (this.over || this.up === null) return;
    if (this.rhead !== null && this.body === Body.UntilClose) {
      this.up = null;
      wire.text(LAST_CHUNK);
      this.flush();
      this.hooks?.slotFree();
      this.complete = true;
      this.end();
      return;
    }
    this.upstreamError(hangUp());
  }

  upstreamError(err: Error): void {
    if (this.over || this.up === null) return;
    if (this.started) {
      // The backend went away mid-body: cut the client so it sees the failure.
      this.up = null;
      this.cut();
      return;
    }
    this.upstreamFailed(err);
  }

  /** The backend failed before any response byte reached the client: the gateway decides (retry, 502). */
  private upstreamFailed(err: Error): void {
    const up = this.up;
    this.up = null;
    if (up === null) return;
    const reused = up.reused;
    up.destroy();
    if (this.hooks !== null) this.hooks.failed(err, reused);
    else
      this.answer(
        502,
        errorBody(`sluice gateway: the backend failed before responding: ${String((err as NodeJS.ErrnoException).code ?? err.message)}`),
      );
  }

  // -- the gateway's answers and the ends --

  answer(status: number, body: string, extra?: Record<string, string | number>): void {
    if (this.over) return;
    if (this.started) {
      this.cut();
      return;
    }
    let closeAfter = this.close;
    let s = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nx-sluice-error: gateway\r\n`;
    if (extra)
      for (const k in extra) {
        if (k === 'connection') {
          if (String(extra[k]).toLowerCase() === 'close') closeAfter = true;
          continue;
        }
        s += `${k}: ${extra[k]}\r\n`;
      }
    s += httpDateLine();
    s += closeAfter ? 'Connection: close\r\n' : `Connection: keep-alive\r\nKeep-Alive: timeout=${this.conn.path.keepAliveSeconds}\r\n`;
    this.keepAlive = !closeAfter;
    // A HEAD answer has the length of the body it would have had, and no body.
    this.conn.socket.write(this.method === 'HEAD' ? s + '\r\n' : s + '\r\n' + body, 'utf8');
    this.started = true;
    this.status = status;
    this.complete = true;
    this.end();
  }

  private end(): void {
    if (this.over) return;
    this.over = true;
    this.bodyParts = null;
    this.hooks?.finished();
    const unread = this.bodyLeft;
    this.bodyLeft = 0;
    this.conn.done(this, this.keepAlive, unread);
  }

  /** Ends the exchange by cutting the client connection (its 'close' settles the rest). */
  private cut(): void {
    this.abortUpstream();
    this.conn.socket.destroy();
  }

  abortUpstream(): void {
    const up = this.up;
    this.up = null;
    if (up !== null) up.destroy();
    this.hooks?.slotFree();
  }

  destroy(): void {
    this.cut();
  }

  clientClosed(): void {
    if (this.over) return;
    this.over = true;
    this.bodyParts = null;
    this.hooks?.finished();
    this.abortUpstream();
  }

  finalStatus(): number {
    return this.complete ? this.status : 0;
  }
}
