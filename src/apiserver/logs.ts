// The revision log subresource (GET .../revisions/{name}/log): streams text/plain from whatever
// the runtime provides through the `logs` hook. The stream ends when the hook calls end(), or is
// cancelled (through the function the hook returns) when the client goes away.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { badRequest, notFound } from '../api/errors.js';
import type { Store } from '../store/store.js';

export interface LogOptions {
  follow: boolean;
  tailLines?: number;
}

export type LogsHook = (
  namespace: string,
  revision: string,
  opts: LogOptions,
  write: (chunk: string | Buffer) => void,
  end: () => void,
) => void | (() => void) | Promise<void | (() => void)>;

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
  const tail = query.get('tailLines');
  let tailLines: number | undefined;
  if (tail !== null && tail !== '') {
    tailLines = Number(tail);
    if (!Number.isInteger(tailLines) || tailLines < 0) throw badRequest(`invalid tailLines "${tail}": must be a non-negative integer`);
  }
  if (!(await store.get('serving.knative.dev/revisions', namespace, name))) {
    throw notFound('revisions', name, 'serving.knative.dev');
  }

  let ended = false;
  let cancel: (() => void) | undefined;
  let untrack = () => {};
  const end = () => {
    if (ended) return;
    ended = true;
    untrack();
    if (cancel) cancel();
    if (!res.headersSent) res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
    if (!res.writableEnded) res.end();
  };
  const write = (chunk: string | Buffer) => {
    if (ended) return;
    if (!res.headersSent) res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Transfer-Encoding': 'chunked' });
    res.write(chunk);
  };
  untrack = track(end);
  req.on('close', end);
  res.on('close', end);
  res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Transfer-Encoding': 'chunked' });
  res.flushHeaders();
  try {
    const c = await hook(namespace, name, { follow, tailLines }, write, end);
    if (typeof c === 'function') {
      if (ended) c();
      else cancel = c;
    }
  } catch (e) {
    write(`error reading logs: ${(e as Error).message}\n`);
    end();
  }
}
