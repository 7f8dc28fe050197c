// Keep-alive TCP connections to one backend instance, for the fast path: plain sockets handed out
// last-in first-out (warm ones first, the rest left to the backend's idle timeout). Unbounded, as
// the node:http path's Agent is: the containerConcurrency breaker already caps what is in use.
// A socket idle in the pool that receives data or closes is dropped.
//
// Every pooled socket reads into one shared buffer (net's `onread`), so a read allocates nothing and
// skips the Readable stream machinery (push, 'data', the read-more tick). The bytes a user gets are
// a view of that buffer, valid only until the call returns: what it keeps, it copies.

import net from 'node:net';
import type { ResponseHead } from './heads.js';

/** Whoever is using a pooled connection gets its events. */
export interface UpstreamUser {
  /** `chunk` is a view of the shared read buffer: overwritten by the next read of any pooled socket. */
  upstreamData(chunk: Buffer): void;
  upstreamEnd(): void;
  upstreamError(err: Error): void;
}

const kConn = Symbol('sluice.upstream');
type Tagged = net.Socket & { [kConn]?: UpstreamConn };

/** Node's own read size. Reads run one at a time on the event loop, so one buffer serves every socket. */
const READ_BUFFER = Buffer.allocUnsafeSlow(64 * 1024);

export class UpstreamConn {
  user: UpstreamUser | null = null;
  /** Has carried a request before: a failure may just be the backend closing an idle connection. */
  reused = false;
  /** Gone (closed, errored or destroyed): never pooled again. */
  dead = false;
  /**
   * The last response head remembered (on its own copy of the bytes), the client's edit of it for
   * `headKey`, and how often it came again: see connection.ts remember().
   */
  head: ResponseHead | null = null;
  headOut: Buffer | null = null;
  headKey = -1;
  /** The listener's fast path headOut was made for (its Keep-Alive line). */
  headFor: object | null = null;
  headHits = 0;
  headSkip = 0;

  constructor(
    readonly socket: net.Socket,
    private readonly pool: UpstreamPool,
  ) {
    (socket as Tagged)[kConn] = this;
    socket.on('end', onEnd);
    socket.on('error', onError);
    socket.on('close', onClose);
  }

  /** Done with a whole exchange and the connection is still good: back to the pool. */
  release(): void {
    this.user = null;
    if (this.dead || this.pool.closed) {
      this.destroy();
      return;
    }
    this.reused = true;
    this.pool.idle.push(this);
  }

  destroy(): void {
    this.user = null;
    if (!this.dead) {
      this.dead = true;
      this.pool.forget(this);
    }
    this.socket.destroy();
  }

  gone(): void {
    if (this.dead) return;
    this.dead = true;
    this.pool.forget(this);
  }
}

function onRead(this: Tagged, nread: number, buf: Uint8Array): boolean {
  const c = this[kConn]!;
  if (c.user !== null) c.user.upstreamData((buf as Buffer).subarray(0, nread));
  else c.destroy(); // unsolicited bytes on an idle connection: its framing can no longer be trusted
  // (false would stop reading; a user that must stop pauses the socket itself.)
  return true;
}

function onEnd(this: Tagged): void {
  const c = this[kConn]!;
  const u = c.user;
  c.gone();
  this.destroy();
  u?.upstreamEnd();
}

function onError(this: Tagged, err: Error): void {
  const c = this[kConn]!;
  const u = c.user;
  c.user = null;
  c.gone();
  u?.upstreamError(err);
}

function onClose(this: Tagged): void {
  const c = this[kConn]!;
  const u = c.user;
  c.user = null;
  c.gone();
  // Closed without an 'error' or 'end' first (destroyed locally, or reset): same as a hang-up.
  if (u !== null) u.upstreamEnd();
}

export class UpstreamPool {
  readonly idle: UpstreamConn[] = [];
  closed = false;

  constructor(
    private readonly host: string,
    private readonly port: number,
  ) {}

  /** A connection for `user`: the most recently released idle one, or a new one (still connecting). */
  take(user: UpstreamUser): UpstreamConn {
    let c = this.idle.pop();
    while (c !== undefined && (c.dead || c.socket.destroyed)) c = this.idle.pop();
    if (c === undefined)
      c = new UpstreamConn(
        net.connect({ host: this.host, port: this.port, noDelay: true, onread: { buffer: READ_BUFFER, callback: onRead } }),
        this,
      );
    c.user = user;
    return c;
  }

  forget(c: UpstreamConn): void {
    const i = this.idle.indexOf(c);
    if (i >= 0) this.idle.splice(i, 1);
  }

  destroy(): void {
    this.closed = true;
    for (const c of this.idle.splice(0)) c.destroy();
  }
}
