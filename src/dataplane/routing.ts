// Host table: Host header -> precomputed split over revisions. The control plane replaces the
// whole table at once; lookups are one Map.get for the common Host shapes (exact host, or host
// with the gateway's own port, both inserted ahead of time) and only fall back to normalising the
// header (strip port, lower-case) for unusual spellings.

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

export interface CompiledRoute<T> {
  host: string;
  /** Revision keys with their weights, as given (for equality checks and debugging). */
  targets: { revisionKey: string; percent: number }[];
  split: Split<T>;
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
      const split = new Split(
        targets.map((t) => resolve(t.revisionKey)),
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
  for (const t of old.split.schedule) if (!resolved.has(t)) return false;
  return true;
}
