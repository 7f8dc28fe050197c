// Per-request log records, published on a diagnostics channel only while someone listens (the
// admin listener's request-log stream), so the request path pays one boolean check otherwise.

import diagnostics_channel from 'node:diagnostics_channel';

export interface RequestRecord {
  /** "{namespace}/{revision}" */
  revision: string;
  method: string;
  path: string;
  host: string;
  /** 0: the connection closed before a status was sent. */
  status: number;
  /** Arrival to end of response, including time held. */
  seconds: number;
}

export const requestChannel = diagnostics_channel.channel('sluice:gateway:request');

let streams = 0;
const watchers = new Set<(streaming: boolean) => void>();

/**
 * Told when request-log streams start (the first) and stop (the last): gateway worker processes
 * publish their records into this process only while somebody reads them.
 */
export function watchRequestStreams(cb: (streaming: boolean) => void): () => void {
  watchers.add(cb);
  return () => watchers.delete(cb);
}

/** Calls `cb` with each finished request of the revisions `want` accepts; returns the unsubscribe. */
export function subscribeRequests(want: (revision: string) => boolean, cb: (r: RequestRecord) => void): () => void {
  const listener = (msg: unknown) => {
    const r = msg as RequestRecord;
    if (want(r.revision)) cb(r);
  };
  requestChannel.subscribe(listener);
  if (++streams === 1) for (const w of watchers) w(true);
  let done = false;
  return () => {
    if (done) return;
    done = true;
    requestChannel.unsubscribe(listener);
    if (--streams === 0) for (const w of watchers) w(false);
  };
}
