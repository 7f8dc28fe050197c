// Timeouts for Sluice's two HTTP listeners (the API server and the gateway), so a client that
// trickles its headers or holds an idle keep-alive connection is cut off instead of holding a
// socket forever. The defaults are nginx's: client_header_timeout 60 s, keepalive_timeout 75 s.

import type { Server } from 'node:http';
import { MAX_TIMEOUT_MS } from '../timers.js';

export interface ListenerTimeouts {
  /** Most time a client may take to send a request's headers (answered 408, then closed). */
  headersTimeoutMs: number;
  /** How long an idle keep-alive connection stays open between requests. */
  keepAliveTimeoutMs: number;
}

export const DEFAULT_LISTENER_TIMEOUTS: ListenerTimeouts = { headersTimeoutMs: 60_000, keepAliveTimeoutMs: 75_000 };

/** Node checks header deadlines on this interval; a tenth of the deadline keeps the overshoot small. */
const checkInterval = (headersTimeoutMs: number) => Math.max(100, Math.min(30_000, Math.floor(headersTimeoutMs / 10)));

/** Options for http.createServer / https.createServer carrying the timeouts Node takes at creation. */
export function listenerOptions(t: Partial<ListenerTimeouts> = {}): {
  headersTimeout: number;
  keepAliveTimeout: number;
  connectionsCheckingInterval: number;
} {
  const { headersTimeoutMs, keepAliveTimeoutMs } = { ...DEFAULT_LISTENER_TIMEOUTS, ...t };
  checkTimeout(headersTimeoutMs, 'headersTimeoutMs');
  checkTimeout(keepAliveTimeoutMs, 'keepAliveTimeoutMs');
  return {
    headersTimeout: headersTimeoutMs,
    keepAliveTimeout: keepAliveTimeoutMs,
    connectionsCheckingInterval: checkInterval(headersTimeoutMs),
  };
}

function checkTimeout(ms: number, what: string): void {
  if (!Number.isInteger(ms) || ms < 1 || ms > MAX_TIMEOUT_MS) {
    throw new TypeError(`${what} must be a whole number of milliseconds between 1 and ${MAX_TIMEOUT_MS}, got ${String(ms)}`);
  }
}

/** The timeouts a listener actually has (for tests and startup logs). */
export function timeoutsOf(server: Server): ListenerTimeouts {
  return { headersTimeoutMs: server.headersTimeout, keepAliveTimeoutMs: server.keepAliveTimeout };
}
