// Watch: newline-delimited JSON events {type, object} on a chunked 200 response. Without a
// resourceVersion (or "0") the current objects come first as ADDED, then live changes; with one,
// the store replays what happened after it (a too-old one fails with 410 before any byte is sent,
// which client-go turns into a relist).

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KObject } from '../api/types.js';
import { resourceKey, type ResourceKind } from '../api/registry.js';
import type { Store, WatchEvent } from '../store/store.js';
import { clampDelay } from '../timers.js';
import type { Matcher } from './selectors.js';

export interface WatchRequest {
  store: Store;
  kind: ResourceKind;
  namespace?: string;
  matcher: Matcher;
  resourceVersion?: string;
  timeoutSeconds?: number;
  /** Converts a stored object to what the client asked for (version, Table row...). */
  render: (obj: KObject, first: boolean) => unknown;
  /** Registers a stopper so the server can end every watch when it closes. */
  track: (stop: () => void) => () => void;
}

const DEFAULT_TIMEOUT_SECONDS = 30 * 60;
/** A client that stops reading must not make the server buffer without bound. */
const MAX_BUFFERED_BYTES = 16 * 1024 * 1024;

export async function serveWatch(req: IncomingMessage, res: ServerResponse, w: WatchRequest): Promise<void> {
  const key = resourceKey(w.kind);
  const seen = new Set<string>(); // objects this watch reported as matching (for selector transitions)
  const id = (o: KObject) => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
  let started = false;
  let first = true;
  let stopped = false;
  const pending: string[] = [];

  const emit = (type: string, obj: KObject) => {
    const line = JSON.stringify({ type, object: w.render(obj, first) }) + '\n';
    first = false;
    if (!started) pending.push(line);
    else if (!stopped) {
      res.write(line);
      if (res.writableLength > MAX_BUFFERED_BYTES) stop();
    }
  };

  const onEvent = (e: Pick<WatchEvent, 'type' | 'object'>) => {
    const o = e.object;
    if (w.namespace !== undefined && o.metadata?.namespace !== w.namespace) return;
    const k = id(o);
    const matches = w.matcher(o);
    if (e.type === 'DELETED') {
      if (matches || seen.has(k)) emit('DELETED', o);
      seen.delete(k);
    } else if (matches) {
      emit(e.type, o);
      seen.add(k);
    } else if (seen.has(k)) {
      // The object stopped matching the selector: to this watcher it is gone.
      seen.delete(k);
      emit('DELETED', o);
    }
  };

  // Without a resourceVersion the store sends the current objects as ADDED first. Rejects (e.g.
  // 410 Expired) before the response starts, so the caller can send a Status.
  const unsubscribe = await w.store.watch(
    key,
    { resourceVersion: w.resourceVersion, namespace: w.namespace },
    { onEvent, onClosed: () => stop() },
  );

  let timer: NodeJS.Timeout | undefined;
  let untrack = () => {};
  function stop() {
    if (stopped) return;
    stopped = true;
    unsubscribe();
    untrack();
    if (timer) clearTimeout(timer);
    if (!res.writableEnded) res.end();
  }
  untrack = w.track(stop);
  timer = setTimeout(stop, clampDelay((w.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS) * 1000));
  timer.unref();
  res.on('close', stop);

  res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
  started = true;
  // Send headers at once so the client knows the watch is established even before any event.
  res.flushHeaders();
  for (const line of pending) res.write(line);
  pending.length = 0;
}
