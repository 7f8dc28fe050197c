// Maps a Kubernetes REST path to what it addresses:
//   /api/v1/[watch/][namespaces/{ns}/]{plural}[/{name}[/{subresource}]]
//   /apis/{group}/{version}/[watch/][namespaces/{ns}/]{plural}[/{name}[/{subresource}]]
// Only kinds from the registry at versions they serve resolve; anything else is a 404. The path is
// taken raw (never through URL's dot-segment resolution), so "%2e%2e" cannot climb out of a
// namespace; a namespace or name that is "." or "..", or holds "/" or "%" once decoded, is a 400,
// as kube-apiserver's path-segment rule has it.

import { badRequest } from '../api/errors.js';
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

/** apimachinery's IsValidPathSegmentName: what a name must be to sit in a URL path. */
export function pathSegmentErrors(name: string): string[] {
  if (name === '.' || name === '..') return [`may not be '${name}'`];
  return ['/', '%'].filter((c) => name.includes(c)).map((c) => `may not contain '${c}'`);
}

function checkSegment(what: 'Namespace' | 'Name', value: string | undefined): void {
  if (value === undefined) return;
  const errs = pathSegmentErrors(value);
  if (errs.length) throw badRequest(`${what} parameter invalid: ${JSON.stringify(value)}: ${errs.join('; ')}`);
}

/** The path part of a request target, as sent: no dot-segment resolution, no decoding. */
export function rawPathOf(target: string): string {
  const q = target.search(/[?#]/);
  const path = q < 0 ? target : target.slice(0, q);
  return path.startsWith('/') ? path : `/${path}`;
}

export function matchPath(pathname: string): PathMatch {
  const m = matchSegments(pathname);
  if (m.type === 'resource') {
    checkSegment('Namespace', m.path.namespace);
    checkSegment('Name', m.path.name);
  }
  return m;
}

function matchSegments(pathname: string): PathMatch {
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
