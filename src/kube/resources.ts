// The Kubernetes resource types Sluice reads and writes on a cluster, and their REST paths.
// Knative's kinds come from the registry (one source of truth); the built-in ones are listed here.

import { KINDS, type ResourceKind } from '../api/registry.js';

export interface ResourceType {
  group: string; // '' for the core group
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
}

export const apiVersionOfType = (t: ResourceType): string => (t.group ? `${t.group}/${t.version}` : t.version);

/** /api/v1/namespaces/ns/pods/name/status, /apis/apps/v1/deployments ... */
export function resourcePath(t: ResourceType, namespace?: string, name?: string, subresource?: string): string {
  let p = t.group ? `/apis/${t.group}/${t.version}` : `/api/${t.version}`;
  if (t.namespaced && namespace !== undefined) p += `/namespaces/${encodeURIComponent(namespace)}`;
  p += `/${t.plural}`;
  if (name !== undefined) p += `/${encodeURIComponent(name)}`;
  if (subresource) p += `/${subresource}`;
  return p;
}

/** A registry kind at its storage version, as a cluster serves it. */
export function typeOfKind(k: ResourceKind): ResourceType {
  return { group: k.group, version: k.storageVersion, plural: k.plural, kind: k.kind, namespaced: k.namespaced };
}

const builtin = (group: string, version: string, plural: string, kind: string, namespaced = true): ResourceType => ({
  group,
  version,
  plural,
  kind,
  namespaced,
});

export const T = {
  namespaces: builtin('', 'v1', 'namespaces', 'Namespace', false),
  configmaps: builtin('', 'v1', 'configmaps', 'ConfigMap'),
  secrets: builtin('', 'v1', 'secrets', 'Secret'),
  services: builtin('', 'v1', 'services', 'Service'),
  pods: builtin('', 'v1', 'pods', 'Pod'),
  nodes: builtin('', 'v1', 'nodes', 'Node', false),
  events: builtin('', 'v1', 'events', 'Event'),
  deployments: builtin('apps', 'v1', 'deployments', 'Deployment'),
  replicasets: builtin('apps', 'v1', 'replicasets', 'ReplicaSet'),
  endpointslices: builtin('discovery.k8s.io', 'v1', 'endpointslices', 'EndpointSlice'),
  hpas: builtin('autoscaling', 'v2', 'horizontalpodautoscalers', 'HorizontalPodAutoscaler'),
  leases: builtin('coordination.k8s.io', 'v1', 'leases', 'Lease'),
  crds: builtin('apiextensions.k8s.io', 'v1', 'customresourcedefinitions', 'CustomResourceDefinition', false),
  mutatingWebhooks: builtin('admissionregistration.k8s.io', 'v1', 'mutatingwebhookconfigurations', 'MutatingWebhookConfiguration', false),
  validatingWebhooks: builtin(
    'admissionregistration.k8s.io',
    'v1',
    'validatingwebhookconfigurations',
    'ValidatingWebhookConfiguration',
    false,
  ),
} as const;

/** The storage key the rest of Sluice uses (registry resourceKey) → the cluster's resource type. */
export function typeForKey(key: string): ResourceType | undefined {
  for (const k of KINDS) {
    if ((k.group ? `${k.group}/${k.plural}` : k.plural) === key) return typeOfKind(k);
  }
  return undefined;
}
