// The gateway's routing table and its one resolution path: Host header -> route -> revision.
// The control plane replaces the whole table at once; a lookup is one Map.get for the common Host
// shapes (exact host, or host with the gateway's own port, both inserted ahead of time) and only
// falls back to normalising the header (strip port, lower-case) for unusual spellings.
//
// `resolve` is the only way the gateway turns a request into a target, for plain requests and
// Upgrades alike. For a route that is a plain split it costs that Map.get plus `schedule[cursor]`:
// every possible answer is allocated when the table is built, never per request.

import type { IncomingHttpHeaders } from 'node:http';
import type { HostRoute } from './types.js';
import { Split } from './split.js';

/** Lower-cased host without port or trailing dot; IPv6 literals keep their brackets. */
export function normalizeHost(raw: string): string {
  let end = raw.length;
  if (raw.charCodeAt(0) === 91 /* [ */) {
    const close = raw.indexOf(']');
    if (close >= 0) end = close + 1;
  } else {
    const colon = raw.indexOf(':');
    if (colon >= 0) end = colon;
  }
  if (end > 0 && raw.charCodeAt(end - 1) === 46 /* . */) end--;
  return raw.slice(0, end).trim().toLowerCase();
}

/** A request the table can send somewhere. */
export interface Routed<T> {
  readonly target: T;
  /** A Set-Cookie value the response must carry (sticky sessions), if any. */
  readonly setCookie?: string;
}

export type RejectReason = 'no_host' | 'unknown_host' | 'no_targets';

/** A request the table cannot route, with the answer the client gets. */
export interface Rejection {
  readonly target?: undefined;
  readonly status: 400 | 404 | 503;
  readonly reason: RejectReason;
  readonly message: string;
}

export type Resolution<T> = Routed<T> | Rejection;

export interface CompiledRoute<T> {
  host: string;
  /** Revision keys with their weights, as given (for equality checks and debugging). */
  targets: { revisionKey: string; percent: number }[];
  /** Precomputed answers, one per slot of the weighted cycle. */
  split: Split<Routed<T>>;
}

export class RoutingTable<T> {
  private routes = new Map<string, CompiledRoute<T>>();
  /** routes plus "host:port" aliases for the gateway's listening port. */
  private lookupMap = new Map<string, CompiledRoute<T>>();
  private port: number | undefined;

  /**
   * Replaces the table. `resolve` maps a revision key to the object requests are sent to; it is
   * called here, never per request. A host whose targets did not change keeps its position in the
   * split cycle, so unrelated route updates do not perturb its shares.
   */
  replace(routes: readonly HostRoute[], resolve: (revisionKey: string) => T): void {
    const next = new Map<string, CompiledRoute<T>>();
    for (const r of routes) {
      const host = normalizeHost(String(r.host ?? ''));
      if (!host) continue;
      const targets = (r.targets ?? []).map((t) => ({ revisionKey: String(t.revisionKey), percent: Number(t.percent) }));
      const old = this.routes.get(host);
      if (old && sameTargets(old.targets, targets) && sameResolution(old, targets, resolve)) {
        next.set(host, old);
        continue;
      }
      const split = new Split<Routed<T>>(
        targets.map((t) => ({ target: resolve(t.revisionKey) })),
        targets.map((t) => t.percent),
      );
      next.set(host, { host, targets, split });
    }
    this.routes = next;
    this.rebuildLookup();
  }

  /** Also answer "host:port" for the port the gateway listens on without string work per request. */
  setPort(port: number | undefined): void {
    this.port = port;
    this.rebuildLookup();
  }

  private rebuildLookup(): void {
    const m = new Map<string, CompiledRoute<T>>();
    for (const [host, route] of this.routes) {
      m.set(host, route);
      if (this.port !== undefined) m.set(`${host}:${this.port}`, route);
    }
    this.lookupMap = m;
  }

  lookup(rawHost: string): CompiledRoute<T> | undefined {
    return this.lookupMap.get(rawHost) ?? this.routes.get(normalizeHost(rawHost));
  }

  /** Where this request goes, or why it cannot go anywhere. */
  resolve(headers: IncomingHttpHeaders): Resolution<T> {
    const host = headers.host;
    if (host === undefined || host === '') return NO_HOST;
    const route = this.lookup(host);
    if (route === undefined)
      return { status: 404, reason: 'unknown_host', message: `sluice gateway: no service is routed at host "${normalizeHost(host)}"` };
    const routed = route.split.pick();
    if (routed === undefined)
      return {
        status: 503,
        reason: 'no_targets',
        message: `sluice gateway: host "${route.host}" has no traffic target with a positive percent`,
      };
    return routed;
  }

  hosts(): string[] {
    return [...this.routes.keys()];
  }

  /** Revision keys referenced by any route. */
  referencedKeys(): Set<string> {
    const s = new Set<string>();
    for (const r of this.routes.values()) for (const t of r.targets) s.add(t.revisionKey);
    return s;
  }
}

const NO_HOST: Rejection = {
  status: 400,
  reason: 'no_host',
  message: 'sluice gateway: the request has no Host header, so it cannot be routed to a service',
};

function sameTargets(a: CompiledRoute<unknown>['targets'], b: CompiledRoute<unknown>['targets']): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i].revisionKey !== b[i].revisionKey || a[i].percent !== b[i].percent) return false;
  }
  return true;
}

// The resolved objects can change identity (a revision forgotten and recreated), in which case the
// schedule must be rebuilt even though the keys are the same.
function sameResolution<T>(old: CompiledRoute<T>, targets: CompiledRoute<T>['targets'], resolve: (k: string) => T): boolean {
  const resolved = new Set(targets.map((t) => resolve(t.revisionKey)));
  for (const t of old.split.schedule) if (!resolved.has(t.target)) return false;
  return true;
}
