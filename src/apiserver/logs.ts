// The revision log subresource (GET .../revisions/{name}/log): streams text/plain from whatever
// the runtime provides through the `logs` hook. Without follow, the response ends when the hook
// returns (or calls end()); with follow, when the hook calls end() or the client goes away, at
// which point the cancel function the hook returned is called.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError, badRequest, notFound } from '../api/errors.js';
import type { Store } from '../store/store.js';

export interface LogOptions {
  follow: boolean;
  tailLines?: number;
  /** One container of a multi-container revision (the `container` parameter, as on a pod's log). */
  container?: string;
}

/**
 * `write` takes one line of log text (a trailing newline is added when missing). The hook may
 * return (or resolve to) a function that stops following.
 */
export type LogsHook = (
  namespace: string,
  revision: string,
  opts: LogOptions,
  write: (line: string) => void,
  end: () => void,
) => void | (() => void) | Promise<void | (() => void)>;

function parseTail(v: string | null): number | undefined {
  if (v === null || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw badRequest(`invalid tailLines "${v}": must be a non-negative integer`);
  return n;
}

export async function serveRevisionLog(
  req: IncomingMessage,
  res: ServerResponse,
  query: URLSearchParams,
  store: Store,
  hook: LogsHook | undefined,
  namespace: string,
  name: string,
  track: (stop: () => void) => () => void,
): Promise<void> {
  if (!hook) throw notFound('revisions/log', name, 'serving.knative.dev');
  const follow = query.get('follow') === 'true' || query.get('follow') === '1';
  const tailLines = parseTail(query.get('tailLines'));
  const container = query.get('container') || undefined;
  if (!(await store.get('serving.knative.dev/revisions', namespace, name))) {
    throw notFound('revisions', name, 'serving.knative.dev');
  }

  let ended = false;
  let cancel: (() => void) | undefined;
  let untrack = () => {};
  // Headers wait for the first line or the hook's answer, so a hook that fails up front (e.g. the
  // revision has no running instance) still gets a proper Status.
  const start = () => {
    if (!res.headersSent) res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-cache, private' });
  };
  const end = () => {
    if (ended) return;
    ended = true;
    untrack();
    if (cancel) cancel();
    start();
    if (!res.writableEnded) res.end();
  };
  const write = (line: string) => {
    if (ended) return;
    start();
    const text = String(line);
    res.write(text.endsWith('\n') ? text : `${text}\n`);
  };
  untrack = track(end);
  res.on('close', end);
  let c: void | (() => void);
  try {
    const opts = { follow, ...(tailLines !== undefined ? { tailLines } : {}), ...(container ? { container } : {}) };
    c = await hook(namespace, name, opts, write, end);
  } catch (e) {
    if (!res.headersSent) {
      ended = true;
      untrack();
      // Like `kubectl logs` on a pod that isn't running: the request can't be served right now.
      throw e instanceof ApiError ? e : badRequest(`cannot read logs of revision "${name}": ${(e as Error).message}`);
    }
    write(`error reading logs: ${(e as Error).message}`);
    end();
    return;
  }
  if (typeof c === 'function') {
    if (ended) c();
    else cancel = c;
  }
  if (!follow) end();
  else {
    start();
    res.flushHeaders();
  }
}
