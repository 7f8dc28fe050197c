// Checks a RevisionBackend the control plane pushes, with the same errors whichever gateway takes
// it (the in-process one, or the process that fans it out to gateway workers).

import { DEFAULT_TIMEOUT_SECONDS } from './revision.js';
import type { RevisionBackend } from './types.js';

export interface CheckedBackend {
  key: string;
  containerConcurrency: number;
  /** The revision timeout in seconds (Knative's default when unset or not positive). */
  timeoutSeconds: number;
}

/** Throws a TypeError naming the bad field; returns the values the gateway applies. */
export function checkBackend(backend: RevisionBackend): CheckedBackend {
  const key = backend?.key;
  if (typeof key !== 'string' || key === '') throw new TypeError('setRevision: key must be a non-empty "{namespace}/{revision}" string');
  if (!Array.isArray(backend.endpoints)) throw new TypeError(`setRevision(${key}): endpoints must be an array`);
  for (const e of backend.endpoints) {
    if (typeof e?.id !== 'string' || typeof e.host !== 'string' || !Number.isInteger(e.port) || e.port < 1 || e.port > 65535) {
      throw new TypeError(`setRevision(${key}): endpoint ${JSON.stringify(e)} needs a string id, a string host and a port in 1..65535`);
    }
  }
  const cc = backend.containerConcurrency ?? 0;
  if (!Number.isInteger(cc) || cc < 0)
    throw new TypeError(`setRevision(${key}): containerConcurrency must be an integer >= 0, got ${String(cc)}`);
  const t = backend.timeoutSeconds;
  const timeoutSeconds = typeof t === 'number' && Number.isFinite(t) && t > 0 ? t : DEFAULT_TIMEOUT_SECONDS;
  return { key, containerConcurrency: cc, timeoutSeconds };
}
