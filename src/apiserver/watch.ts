// Watch: newline-delimited JSON events {type, object} on a chunked 200 response. Without a
// resourceVersion (or "0") the current objects come first as ADDED, then live changes; with one,
// the store replays what happened after it (a too-old one fails with 410 before any byte is sent,
// which client-go turns into a relist).

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KObject } from '../api/types.js';
import { resourceKey, type ResourceKind } from '../api/registry.js';
import type { Store, WatchEvent } from '../store/store.js';
import { serializedObject } from '../store/watch-hub.js';
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
  /**
   * allowWatchBookmarks: BOOKMARK events carrying the newest resourceVersion this watch has
   * reached, every minute and before the watch times out, so a client resumes from there.
   */
  bookmarks?: { apiVersion: string; kind: string; intervalMs?: number };
  /** sendInitialEvents=true: a bookmark annotated k8s.io/initial-events-end follows the initial ADDED events. */
  initialEventsEnd?: boolean;
}

const DEFAULT_TIMEOUT_SECONDS = 30 * 60;
const BOOKMARK_INTERVAL_MS = 60_000;
/** A client that stops reading must not make the server buffer without bound. */
const MAX_BUFFERED_BYTES = 16 * 1024 * 1024;

export async function serveWatch(req: IncomingMessage, res: ServerResponse, w: WatchRequest): Promise<void> {
  const key = resourceKey(w.kind);
  const seen = new Set<string>(); // objects this watch reported as matching (for selector transitions)
  const id = (o: KObject) => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
  let started = false;
  let first = true;
  let stopped = false;
  const pending: string[][] = [];

  const emit = (type: string, obj: KObject) => {
    const view = w.render(obj, first);
    // The object as stored: its JSON is the store's, serialized once for every watcher, and
    // written as it is (one line in three pieces): concatenated, each watcher would flatten its
    // own copy of it (for a 200 KB object, 200 KB of garbage per watcher per event).
    const line = [`{"type":${JSON.stringify(type)},"object":`, serializedObject(view), '}\n'];
    first = false;
    emitRaw(line);
  };
  const write = (pieces: string[]) => {
    res.cork();
    for (const p of pieces) res.write(p);
    res.uncork();
  };
  const emitRaw = (line: string[]) => {
    if (!started) pending.push(line);
    else if (!stopped) {
      write(line);
      if (res.writableLength > MAX_BUFFERED_BYTES) stop();
    }
  };

  let lastRv: string | undefined = w.resourceVersion && w.resourceVersion !== '0' ? w.resourceVersion : undefined;
  const replaying = lastRv !== undefined;
  const bookmark = (annotations?: Record<string, string>) => {
    if (!w.bookmarks || lastRv === undefined) return;
    const metadata = { resourceVersion: lastRv, ...(annotations ? { annotations } : {}) };
    emitRaw([
      JSON.stringify({ type: 'BOOKMARK', object: { kind: w.bookmarks.kind, apiVersion: w.bookmarks.apiVersion, metadata } }) + '\n',
    ]);
  };

  const onEvent = (e: Pick<WatchEvent, 'type' | 'object'>) => {
    const o = e.object;
    // Live events (and a replay from a resourceVersion) come in order; initial ADDED ones do not.
    if ((synced || replaying) && typeof o.metadata?.resourceVersion === 'string') lastRv = o.metadata.resourceVersion;
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

  let synced = false;
  function onSynced() {
    synced = true;
    if (!w.bookmarks) return;
    // The list's resourceVersion covers every initial object (their own ones are not ordered).
    void w.store.list(key, w.namespace).then(
      (l) => {
        lastRv ??= l.resourceVersion;
        if (w.initialEventsEnd) bookmark({ 'k8s.io/initial-events-end': 'true' });
      },
      () => {},
    );
  }

  // Without a resourceVersion the store sends the current objects as ADDED first. Rejects (e.g.
  // 410 Expired) before the response starts, so the caller can send a Status.
  const unsubscribe = await w.store.watch(
    key,
    { resourceVersion: w.resourceVersion, namespace: w.namespace },
    { onEvent, onSynced, onClosed: () => stop() },
  );

  let timer: NodeJS.Timeout | undefined;
  let ticker: NodeJS.Timeout | undefined;
  let untrack = () => {};
  function stop() {
    if (stopped) return;
    stopped = true;
    unsubscribe();
    untrack();
    if (timer) clearTimeout(timer);
    if (ticker) clearInterval(ticker);
    if (!res.writableEnded) res.end();
  }
  untrack = w.track(stop);
  timer = setTimeout(
    () => {
      bookmark(); // where to resume from
      stop();
    },
    clampDelay((w.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS) * 1000),
  );
  timer.unref();
  if (w.bookmarks) {
    ticker = setInterval(() => bookmark(), w.bookmarks.intervalMs ?? BOOKMARK_INTERVAL_MS);
    ticker.unref();
  }
  res.on('close', stop);

  res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
  started = true;
  // Send headers at once so the client knows the watch is established even before any event.
  res.flushHeaders();
  for (const line of pending) write(line);
  pending.length = 0;
}
