// The gateway's one TCP listener and what decides, per new connection, which HTTP engine gets it.
//
//   first bytes of a connection -> a claimant whose `claims` says yes (in registration order)
//                               -> otherwise the HTTP/1.1 server (node:http)
//
// HTTP/2 with prior knowledge is recognised by its connection preface; other claimants (an HTTP/1.1
// fast path, say) register the same way. Bytes read while deciding are put back (unshift) before
// the socket is handed over, so whichever engine takes it sees the connection from its first byte.

import net, { type Server as NetServer, type Socket } from 'node:net';

/** RFC 9113 §3.4: what a client speaking HTTP/2 with prior knowledge sends first. */
export const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** 'yes' takes the connection, 'no' passes, 'more' needs more bytes before it can say. */
export type Claim = 'yes' | 'no' | 'more';

export interface Claimant {
  /** For errors and debugging. */
  readonly name: string;
  /** Looks at what the connection sent so far (at least one byte). */
  claims(first: Buffer): Claim;
  /**
   * Takes the socket; the bytes already read have been put back into it (unshift) and it is
   * paused: an engine that reads with 'data' events must resume it.
   */
  take(socket: Socket): void;
}

/** The HTTP/2 preface test: the bytes so far are a prefix of it ('more') or start with it ('yes'). */
export function claimsH2Preface(first: Buffer): Claim {
  const n = Math.min(first.length, H2_PREFACE.length);
  if (first.compare(H2_PREFACE, 0, n, 0, n) !== 0) return 'no';
  return first.length >= H2_PREFACE.length ? 'yes' : 'more';
}

/** What the dispatcher decides once all claimants answered for these bytes: a claimant, the fallback, or wait. */
export function decide(claimants: readonly Claimant[], first: Buffer): Claimant | 'fallback' | 'more' {
  let waiting = false;
  for (const c of claimants) {
    const a = c.claims(first);
    if (a === 'yes') {
      // An earlier claimant still undecided keeps its priority: wait for it.
      return waiting ? 'more' : c;
    }
    if (a === 'more') waiting = true;
  }
  return waiting ? 'more' : 'fallback';
}

/** The longest a claimant may wait for bytes: enough for the longest prefix any of them needs. */
const MAX_SNIFF_BYTES = 64;

export class ConnectionDispatcher {
  private readonly claimants: Claimant[] = [];
  readonly server: NetServer;
  /** Sockets still being looked at (not yet handed over), so close() can cut them. */
  private readonly sniffing = new Set<Socket>();

  /**
   * `fallback` takes every connection no claimant wants. `firstBytesTimeoutMs` bounds how long a
   * new connection may stay silent before it is closed (the listener's header timeout).
   */
  constructor(
    private readonly fallback: (socket: Socket) => void,
    private readonly firstBytesTimeoutMs: number,
  ) {
    this.server = net.createServer({ noDelay: true, pauseOnConnect: false }, (socket) => this.accept(socket));
  }

  /** Adds a claimant; earlier ones are asked first. */
  register(c: Claimant): void {
    this.claimants.push(c);
  }

  private accept(socket: Socket): void {
    if (this.claimants.length === 0) {
      this.fallback(socket);
      return;
    }
    this.sniffing.add(socket);
    let seen: Buffer | null = null;
    const done = (): void => {
      this.sniffing.delete(socket);
      socket.setTimeout(0);
      socket.off('data', onData);
      socket.off('timeout', onTimeout);
      socket.off('error', onError);
      socket.off('close', onClose);
    };
    const hand = (to: (s: Socket) => void, bytes: Buffer, flow: boolean): void => {
      done();
      socket.pause();
      socket.unshift(bytes);
      to(socket);
      // node:http parses straight from the handle and sees bytes already read only as 'data'
      // events, so they must flow; http2 reads them from the buffer itself (flowing would lose them).
      if (flow) socket.resume();
    };
    const onData = (chunk: Buffer): void => {
      seen = seen === null ? chunk : Buffer.concat([seen, chunk]);
      const d = decide(this.claimants, seen);
      if (d === 'more' && seen.length < MAX_SNIFF_BYTES) return;
      if (d === 'fallback' || d === 'more') hand(this.fallback, seen, true);
      else hand((s) => d.take(s), seen, false);
    };
    const onTimeout = (): void => void socket.destroy();
    const onError = (): void => void socket.destroy();
    const onClose = (): void => done();
    socket.setTimeout(this.firstBytesTimeoutMs);
    socket.on('data', onData);
    socket.on('timeout', onTimeout);
    socket.on('error', onError);
    socket.on('close', onClose);
  }

  /** Cuts the connections that no engine has taken yet (engines close their own). */
  destroySniffing(): void {
    for (const s of this.sniffing) s.destroy();
    this.sniffing.clear();
  }
}
