// The gateway's routing table and its one resolution path: Host header -> route -> revision.
// The control plane sets one route's hosts at a time (upsert/delete, by the route that owns them)
// or the whole table at once (replace); a lookup is one Map.get for the common Host
// shapes (exact host, or host with the gateway's own port, both inserted ahead of time) and only
// falls back to normalising the header (strip port, lower-case) for unusual spellings.
//
// `resolve` is the only way the gateway turns a request into a target, for plain requests and
// Upgrades alike: host -> route -> header/cookie rules -> sticky key -> weighted pick. For a route
// that is a plain split it costs that Map.get plus `schedule[cursor]`: every possible answer is
// allocated when the table is built, never per request. Rules and sticky sessions are compiled
// into the route and only routes that have them pay for reading headers and cookies.
// A host carries its visibility: cluster-local hosts resolve only for the internal listener.

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
  /** Served only to requests that came in on the internal listener. */
  clusterLocal: boolean;
}

interface SpecialRouting<T> {
  rules: { test: (req: RequestView) => boolean; targets: CompiledRoute<T>['targets']; split: Split<Routed<T>> }[];
  sticky?: { policy: StickyPolicy; ends: number[]; routed: Routed<T>[] };
}

export class RoutingTable<T> {
  private readonly routes = new Map<string, CompiledRoute<T>>();
  /** routes plus "host:port" aliases for the gateway's listening port. */
  private readonly lookupMap = new Map<string, CompiledRoute<T>>();
  private port: number | undefined;
  /** The hosts each control-plane route owns, and which route owns each host. */
  private readonly hostsOf = new Map<string, string[]>();
  private readonly ownerOf = new Map<string, string>();
  /** How many hosts send to each revision key. */
  private readonly refs = new Map<string, number>();

  /**
   * Sets the hosts of one control-plane route (`owner`, e.g. "ns/name"), replacing the ones it had:
   * the cost is that route's hosts, not the table's size. `resolve` maps a revision key to the
   * object requests are sent to; it is called here, never per request. A host whose targets did
   * not change keeps its position in the split cycle. Returns the revision keys no host sends to
   * any more.
   */
  upsert(owner: string, routes: readonly HostRoute[], resolve: (revisionKey: string) => T): string[] {
    const next = new Map<string, CompiledRoute<T>>();
    for (const r of routes) {
      const host = normalizeHost(String(r.host ?? ''));
      if (!host) continue;
      const targets = normalizeTargets(r.targets);
      const shape = r.rules?.length || r.sticky ? JSON.stringify([r.rules ?? [], r.sticky ?? null]) : '';
      const clusterLocal = r.visibility === 'cluster-local';
      const old = this.routes.get(host);
      if (
        old &&
        old.shape === shape &&
        old.clusterLocal === clusterLocal &&
        sameTargets(old.targets, targets) &&
        sameResolution(old, targets, resolve)
      ) {
        next.set(host, old);
        continue;
      }
      const compiled: CompiledRoute<T> = { host, targets, split: splitOf(targets, resolve), shape, clusterLocal };
      if (shape !== '') compiled.special = compileSpecial(r, targets, resolve);
      next.set(host, compiled);
    }
    const dropped: string[] = [];
    for (const host of this.hostsOf.get(owner) ?? []) if (!next.has(host)) this.removeHost(owner, host, dropped);
    for (const [host, route] of next) this.putHost(owner, host, route, dropped);
    if (next.size > 0) this.hostsOf.set(owner, [...next.keys()]);
    else this.hostsOf.delete(owner);
    return dropped.filter((k) => !this.refs.has(k));
  }

  /** Removes one control-plane route's hosts; returns the revision keys no host sends to any more. */
  delete(owner: string, resolve: (revisionKey: string) => T): string[] {
    return this.upsert(owner, [], resolve);
  }

  /** Replaces the whole table with routes owned by nobody in particular (tests, simple embedders). */
  replace(routes: readonly HostRoute[], resolve: (revisionKey: string) => T): string[] {
    const dropped: string[] = [];
    for (const owner of [...this.hostsOf.keys()]) if (owner !== '') dropped.push(...this.delete(owner, resolve));
    dropped.push(...this.upsert('', routes, resolve));
    return dropped.filter((k) => !this.refs.has(k));
  }

  private putHost(owner: string, host: string, route: CompiledRoute<T>, dropped: string[]): void {
    const prevOwner = this.ownerOf.get(host);
    if (prevOwner !== undefined && prevOwner !== owner) {
      // Two routes claiming one host: the later one wins, as when the table was one flat list.
      const hosts = this.hostsOf.get(prevOwner)?.filter((h) => h !== host);
      if (hosts?.length) this.hostsOf.set(prevOwner, hosts);
      else this.hostsOf.delete(prevOwner);
    }
    const prev = this.routes.get(host);
    if (prev === route) {
      this.ownerOf.set(host, owner);
      return;
    }
    if (prev) this.unref(prev, dropped);
    for (const key of keysOf(route)) this.refs.set(key, (this.refs.get(key) ?? 0) + 1);
    this.routes.set(host, route);
    this.ownerOf.set(host, owner);
    this.lookupMap.set(host, route);
    if (this.port !== undefined) this.lookupMap.set(`${host}:${this.port}`, route);
  }

  private removeHost(owner: string, host: string, dropped: string[]): void {
    if (this.ownerOf.get(host) !== owner) return;
    const prev = this.routes.get(host);
    if (prev) this.unref(prev, dropped);
    this.routes.delete(host);
    this.ownerOf.delete(host);
    this.lookupMap.delete(host);
    if (this.port !== undefined) this.lookupMap.delete(`${host}:${this.port}`);
  }

  private unref(route: CompiledRoute<T>, dropped: string[]): void {
    for (const key of keysOf(route)) {
      const n = (this.refs.get(key) ?? 0) - 1;
      if (n > 0) this.refs.set(key, n);
      else {
        this.refs.delete(key);
        dropped.push(key);
      }
    }
  }

  /** Also answer "host:port" for the port the gateway listens on without string work per request. */
  setPort(port: number | undefined): void {
    this.port = port;
    this.lookupMap.clear();
    for (const [host, route] of this.routes) {
      this.lookupMap.set(host, route);
      if (port !== undefined) this.lookupMap.set(`${host}:${port}`, route);
    }
  }

  lookup(rawHost: string): CompiledRoute<T> | undefined {
    return this.lookupMap.get(rawHost) ?? this.routes.get(normalizeHost(rawHost));
  }

  /**
   * Where this request goes, or why it cannot go anywhere. `internal`: the request came in on the
   * internal listener, which also answers cluster-local hosts; to the public one they do not exist.
   */
  resolve(headers: IncomingHttpHeaders, internal = false): Resolution<T> {
    const host = headers.host;
    if (host === undefined || host === '') return NO_HOST;
    const route = this.lookup(host);
    if (route === undefined || (route.clusterLocal && !internal))
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

  /** The revision keys a host can send to (none for an unknown host, or a cluster-local one on the public listener). */
  revisionKeysAt(rawHost: string, internal: boolean): Iterable<string> {
    const route = this.lookup(rawHost);
    return route === undefined || (route.clusterLocal && !internal) ? [] : keysOf(route);
  }

  hosts(): string[] {
    return [...this.routes.keys()];
  }

  /** Whether any host sends to this revision key. */
  isReferenced(revisionKey: string): boolean {
    return this.refs.has(revisionKey);
  }

  /** Revision keys referenced by any route (default split or rules). */
  referencedKeys(): Set<string> {
    return new Set(this.refs.keys());
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

/** Every revision key a host can send to (its default split and its rules), each once. */
function keysOf(route: CompiledRoute<unknown>): Set<string> {
  const keys = new Set(route.targets.map((t) => t.revisionKey));
  for (const rule of route.special?.rules ?? []) for (const t of rule.targets) keys.add(t.revisionKey);
  return keys;
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
