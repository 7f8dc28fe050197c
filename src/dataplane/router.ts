// The gateway's routing table and its one resolution path: Host header -> route -> revision.
// The control plane replaces the whole table at once; a lookup is one Map.get for the common Host
// shapes (exact host, or host with the gateway's own port, both inserted ahead of time) and only
// falls back to normalising the header (strip port, lower-case) for unusual spellings.
//
// `resolve` is the only way the gateway turns a request into a target, for plain requests and
// Upgrades alike: host -> route -> header/cookie rules -> sticky key -> weighted pick. For a route
// that is a plain split it costs that Map.get plus `schedule[cursor]`: every possible answer is
// allocated when the table is built, never per request. Rules and sticky sessions are compiled
// into the route and only routes that have them pay for reading headers and cookies.

import type { IncomingHttpHeaders } from 'node:http';
import type { HostRoute, StickyPolicy, WeightedTarget } from './types.js';
import { Split } from './split.js';
import { RequestView, compileRuleMatch } from './match.js';
import { newStickyPoint, pointOfCookie, pointOfKey, slotOf, stickyCookie, stickyLayout } from './sticky.js';

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
  /** Present only when the route has rules or sticky sessions: the slower, request-reading path. */
  special?: SpecialRouting<T>;
  /** Rules and sticky policy as given, for equality checks. */
  shape: string;
}

interface SpecialRouting<T> {
  rules: { test: (req: RequestView) => boolean; targets: CompiledRoute<T>['targets']; split: Split<Routed<T>> }[];
  sticky?: { policy: StickyPolicy; ends: number[]; routed: Routed<T>[] };
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
      const targets = normalizeTargets(r.targets);
      const shape = r.rules?.length || r.sticky ? JSON.stringify([r.rules ?? [], r.sticky ?? null]) : '';
      const old = this.routes.get(host);
      if (old && old.shape === shape && sameTargets(old.targets, targets) && sameResolution(old, targets, resolve)) {
        next.set(host, old);
        continue;
      }
      const compiled: CompiledRoute<T> = { host, targets, split: splitOf(targets, resolve), shape };
      if (shape !== '') compiled.special = compileSpecial(r, targets, resolve);
      next.set(host, compiled);
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
    const routed = route.special === undefined ? route.split.pick() : resolveSpecial(route, route.special, headers);
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

  /** Revision keys referenced by any route (default split or rules). */
  referencedKeys(): Set<string> {
    const s = new Set<string>();
    for (const r of this.routes.values()) {
      for (const t of r.targets) s.add(t.revisionKey);
      for (const rule of r.special?.rules ?? []) for (const t of rule.targets) s.add(t.revisionKey);
    }
    return s;
  }
}

function normalizeTargets(ts: readonly WeightedTarget[] | undefined): CompiledRoute<unknown>['targets'] {
  return (ts ?? []).map((t) => ({ revisionKey: String(t.revisionKey), percent: Number(t.percent) }));
}

function splitOf<T>(targets: CompiledRoute<T>['targets'], resolve: (k: string) => T): Split<Routed<T>> {
  return new Split<Routed<T>>(
    targets.map((t) => ({ target: resolve(t.revisionKey) })),
    targets.map((t) => t.percent),
  );
}

function compileSpecial<T>(r: HostRoute, targets: CompiledRoute<T>['targets'], resolve: (k: string) => T): SpecialRouting<T> {
  const special: SpecialRouting<T> = {
    rules: (r.rules ?? []).map((rule) => {
      const ruleTargets = normalizeTargets(rule.targets);
      return { test: compileRuleMatch(rule), targets: ruleTargets, split: splitOf(ruleTargets, resolve) };
    }),
  };
  if (r.sticky) {
    special.sticky = {
      policy: r.sticky,
      ends: stickyLayout(targets.map((t) => t.percent)),
      routed: targets.map((t) => ({ target: resolve(t.revisionKey) })),
    };
  }
  return special;
}

/** Rules first (first match wins), then the sticky key, then the default split. */
function resolveSpecial<T>(route: CompiledRoute<T>, special: SpecialRouting<T>, headers: IncomingHttpHeaders): Routed<T> | undefined {
  const req = new RequestView(headers);
  for (const rule of special.rules) {
    if (rule.test(req)) {
      const hit = rule.split.pick();
      if (hit !== undefined) return hit;
    }
  }
  const sticky = special.sticky;
  if (sticky === undefined || route.split.schedule.length === 0) return route.split.pick();
  const { policy } = sticky;
  if (policy.from === 'set-cookie') {
    const point = pointOfCookie(req.cookie(policy.name));
    if (point !== undefined) return sticky.routed[slotOf(sticky.ends, point)];
    const fresh = newStickyPoint();
    return { target: sticky.routed[slotOf(sticky.ends, fresh.point)].target, setCookie: stickyCookie(policy.name, fresh.value) };
  }
  const key = policy.from === 'header' ? req.header(policy.name) : req.cookie(policy.name);
  // No key: the client is anonymous, so the split decides.
  if (key === undefined || key === '') return route.split.pick();
  return sticky.routed[slotOf(sticky.ends, pointOfKey(key))];
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
  for (const rule of old.special?.rules ?? []) {
    const ruleResolved = new Set(rule.targets.map((t) => resolve(t.revisionKey)));
    for (const t of rule.split.schedule) if (!ruleResolved.has(t.target)) return false;
  }
  return true;
}
