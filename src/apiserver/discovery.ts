// Discovery documents kubectl reads to map `ksvc` to a group, version and REST path: the legacy
// per-group-version documents and the aggregated (apidiscovery.k8s.io/v2) form kubectl 1.32 asks
// for first, which saves it one request per group version.

import { KINDS, type ResourceKind } from '../api/registry.js';

export const AGGREGATED_CONTENT_TYPE = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';

const ITEM_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
const STATUS_VERBS = ['get', 'patch', 'update'];

/** Versions of a group in preference order (the order kinds list them; the first is preferred). */
export function groupVersions(group: string): string[] {
  const out: string[] = [];
  for (const k of KINDS) if (k.group === group) for (const v of k.servedVersions) if (!out.includes(v)) out.push(v);
  return out;
}

export function groups(): string[] {
  const out: string[] = [];
  for (const k of KINDS) if (k.group && !out.includes(k.group)) out.push(k.group);
  return out;
}

const kindsAt = (group: string, version: string) => KINDS.filter((k) => k.group === group && k.servedVersions.includes(version));

const gv = (group: string, version: string) => (group ? `${group}/${version}` : version);

export function apiVersions(serverAddress: string) {
  return {
    kind: 'APIVersions',
    versions: groupVersions(''),
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

function apiGroup(group: string) {
  const versions = groupVersions(group).map((v) => ({ groupVersion: gv(group, v), version: v }));
  return { name: group, versions, preferredVersion: versions[0] };
}

export function apiGroupList() {
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: groups().map(apiGroup) };
}

export function apiGroupDoc(group: string) {
  return { kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(group) };
}

export function apiResourceList(group: string, version: string) {
  const resources: object[] = [];
  for (const k of kindsAt(group, version)) {
    resources.push({
      name: k.plural,
      singularName: k.singular,
      namespaced: k.namespaced,
      kind: k.kind,
      verbs: ITEM_VERBS,
      ...(k.shortNames.length ? { shortNames: k.shortNames } : {}),
      ...(k.categories.length ? { categories: k.categories } : {}),
    });
    if (k.hasStatus) {
      resources.push({ name: `${k.plural}/status`, singularName: '', namespaced: k.namespaced, kind: k.kind, verbs: STATUS_VERBS });
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: gv(group, version), resources };
}

function resourceDiscovery(k: ResourceKind, version: string) {
  const responseKind = { group: k.group, version, kind: k.kind };
  return {
    resource: k.plural,
    responseKind,
    scope: k.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: k.singular,
    verbs: ITEM_VERBS,
    ...(k.shortNames.length ? { shortNames: k.shortNames } : {}),
    ...(k.categories.length ? { categories: k.categories } : {}),
    ...(k.hasStatus ? { subresources: [{ subresource: 'status', responseKind, verbs: STATUS_VERBS }] } : {}),
  };
}

function groupDiscovery(group: string) {
  return {
    metadata: group ? { name: group, creationTimestamp: null } : { creationTimestamp: null },
    versions: groupVersions(group).map((version) => ({
      version,
      resources: kindsAt(group, version).map((k) => resourceDiscovery(k, version)),
      freshness: 'Current',
    })),
  };
}

/** Aggregated discovery: /api holds the core group only, /apis every named group. */
export function aggregatedDiscovery(legacy: boolean) {
  return {
    kind: 'APIGroupDiscoveryList',
    apiVersion: 'apidiscovery.k8s.io/v2',
    metadata: {},
    items: legacy ? [groupDiscovery('')] : groups().map(groupDiscovery),
  };
}
