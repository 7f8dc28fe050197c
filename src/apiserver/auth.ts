// Bearer-token authentication: one shared token, compared in constant time so response timing
// tells an attacker nothing about how much of a guess was right.

import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Paths a load balancer or probe may hit without credentials (Kubernetes allows these too). */
const PUBLIC_PATHS = new Set(['/healthz', '/livez', '/readyz']);

export function isPublicPath(path: string): boolean {
  return PUBLIC_PATHS.has(path);
}

export function makeAuthenticator(token: string): (req: IncomingMessage) => boolean {
  if (!token) throw new Error('apiserver: a non-empty bearer token is required');
  const want = digest(token);
  return (req) => {
    const header = req.headers.authorization;
    if (typeof header !== 'string') return false;
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) return false;
    // Hashing first makes both sides the same length, which timingSafeEqual requires.
    return timingSafeEqual(digest(m[1]), want);
  };
}
