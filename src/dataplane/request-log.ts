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

/** Calls `cb` with each finished request of the revisions `want` accepts; returns the unsubscribe. */
export function subscribeRequests(want: (revision: string) => boolean, cb: (r: RequestRecord) => void): () => void {
  const listener = (msg: unknown) => {
    const r = msg as RequestRecord;
    if (want(r.revision)) cb(r);
  };
  requestChannel.subscribe(listener);
  return () => requestChannel.unsubscribe(listener);
}
