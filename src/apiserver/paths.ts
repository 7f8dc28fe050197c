// Maps a Kubernetes REST path to what it addresses:
//   /api/v1/[watch/][namespaces/{ns}/]{plural}[/{name}[/{subresource}]]
//   /apis/{group}/{version}/[watch/][namespaces/{ns}/]{plural}[/{name}[/{subresource}]]
// Only kinds from the registry at versions they serve resolve; anything else is a 404.

import { KINDS, type ResourceKind } from '../api/registry.js';

export interface ResourcePath {
  kind: ResourceKind;
  group: string;
  version: string;
  /** Set for namespaced requests; undefined for cluster-scoped kinds and all-namespace lists. */
  namespace?: string;
  name?: string;
  subresource?: string;
  /** The deprecated /watch/ path prefix was used. */
  watchPrefix: boolean;
}

export type PathMatch =
  { type: 'resource'; path: ResourcePath } | { type: 'groupVersion'; group: string; version: string } | { type: 'none' };

export function servesGroupVersion(group: string, version: string): boolean {
  return KINDS.some((k) => k.group === group && k.servedVersions.includes(version));
}

function kindFor(group: string, version: string, plural: string): ResourceKind | undefined {
  return KINDS.find((k) => k.group === group && k.plural === plural && k.servedVersions.includes(version));
}

export function splitPath(pathname: string): string[] | undefined {
  try {
    return pathname
      .split('/')
      .filter((s) => s !== '')
      .map((s) => decodeURIComponent(s));
  } catch {
    return undefined; // malformed %-escape
  }
}

export function matchPath(pathname: string): PathMatch {
  const segs = splitPath(pathname);
  if (!segs) return { type: 'none' };
  let group: string;
  let version: string;
  let rest: string[];
  if (segs[0] === 'api' && segs.length >= 2) {
    [group, version, rest] = ['', segs[1], segs.slice(2)];
  } else if (segs[0] === 'apis' && segs.length >= 3) {
    [group, version, rest] = [segs[1], segs[2], segs.slice(3)];
  } else {
    return { type: 'none' };
  }
  if (!servesGroupVersion(group, version)) return { type: 'none' };
  if (rest.length === 0) return { type: 'groupVersion', group, version };

  let watchPrefix = false;
  if (rest[0] === 'watch') {
    watchPrefix = true;
    rest = rest.slice(1);
  }
  const resource = (kind: ResourceKind | undefined, p: Omit<ResourcePath, 'kind' | 'group' | 'version' | 'watchPrefix'>): PathMatch =>
    kind ? { type: 'resource', path: { kind, group, version, watchPrefix, ...p } } : { type: 'none' };

  // namespaces/{ns}/{plural}... addresses a namespaced kind; namespaces/{name}[/{sub}] the Namespace itself.
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    const inner = kindFor(group, version, rest[2]);
    if (inner && inner.namespaced) {
      if (rest.length > 5) return { type: 'none' };
      return resource(inner, { namespace: rest[1], name: rest[3], subresource: rest[4] });
    }
  }
  const kind = kindFor(group, version, rest[0]);
  if (!kind || rest.length > 3) return { type: 'none' };
  if (kind.namespaced) {
    // Only the all-namespaces collection is addressable without a namespace.
    return rest.length === 1 ? resource(kind, {}) : { type: 'none' };
  }
  return resource(kind, { name: rest[1], subresource: rest[2] });
}
