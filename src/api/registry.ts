// The kinds Sluice serves: names, versions and printer columns, in one table that the API server
// (discovery, OpenAPI, Table output), the store and the CLI all read.

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'date' | 'boolean' | 'number';
  jsonPath: string;
  priority?: number;
}

export interface ResourceKind {
  group: string; // '' for the core group
  kind: string;
  listKind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  categories: string[];
  namespaced: boolean;
  storageVersion: string;
  servedVersions: string[];
  hasStatus: boolean;
  columns: PrinterColumn[];
  /** Field selector labels beyond metadata.name/metadata.namespace (e.g. involvedObject.name on Events). */
  fieldLabels?: string[];
  /**
   * Another kind's storage this one is a view of (events.k8s.io/v1 Events are core v1 Events,
   * converted on the way in and out, as Kubernetes serves them).
   */
  storedAs?: { resource: string; apiVersion: string };
}

const readyCols: PrinterColumn[] = [
  { name: 'Ready', type: 'string', jsonPath: ".status.conditions[?(@.type=='Ready')].status" },
  { name: 'Reason', type: 'string', jsonPath: ".status.conditions[?(@.type=='Ready')].reason" },
];

const servingVersions = ['v1', 'v1beta1', 'v1alpha1'];

/** The field selectors Kubernetes supports on Events (kubectl describe and kubectl events use them). */
const EVENT_FIELD_LABELS = [
  'involvedObject.kind',
  'involvedObject.namespace',
  'involvedObject.name',
  'involvedObject.uid',
  'involvedObject.apiVersion',
  'involvedObject.resourceVersion',
  'involvedObject.fieldPath',
  'reason',
  'reportingComponent',
  'source',
  'type',
];

const EVENT_KIND: Omit<ResourceKind, 'group'> = {
  kind: 'Event',
  listKind: 'EventList',
  plural: 'events',
  singular: 'event',
  shortNames: ['ev'],
  categories: [],
  namespaced: true,
  storageVersion: 'v1',
  servedVersions: ['v1'],
  hasStatus: false,
  columns: [],
  fieldLabels: EVENT_FIELD_LABELS,
};

export const KINDS: ResourceKind[] = [
  {
    group: 'serving.knative.dev',
    kind: 'Service',
    listKind: 'ServiceList',
    plural: 'services',
    singular: 'service',
    shortNames: ['ksvc', 'kservice'],
    categories: ['all', 'knative', 'serving'],
    namespaced: true,
    storageVersion: 'v1',
    servedVersions: servingVersions,
    hasStatus: true,
    columns: [
      { name: 'URL', type: 'string', jsonPath: '.status.url' },
      { name: 'LatestCreated', type: 'string', jsonPath: '.status.latestCreatedRevisionName' },
      { name: 'LatestReady', type: 'string', jsonPath: '.status.latestReadyRevisionName' },
      ...readyCols,
    ],
  },
  {
    group: 'serving.knative.dev',
    kind: 'Configuration',
    listKind: 'ConfigurationList',
    plural: 'configurations',
    singular: 'configuration',
    shortNames: ['config', 'cfg'],
    categories: ['all', 'knative', 'serving'],
    namespaced: true,
    storageVersion: 'v1',
    servedVersions: servingVersions,
    hasStatus: true,
    columns: [
      { name: 'LatestCreated', type: 'string', jsonPath: '.status.latestCreatedRevisionName' },
      { name: 'LatestReady', type: 'string', jsonPath: '.status.latestReadyRevisionName' },
      ...readyCols,
    ],
  },
  {
    group: 'serving.knative.dev',
    kind: 'Revision',
    listKind: 'RevisionList',
    plural: 'revisions',
    singular: 'revision',
    shortNames: ['rev'],
    categories: ['all', 'knative', 'serving'],
    namespaced: true,
    storageVersion: 'v1',
    servedVersions: servingVersions,
    hasStatus: true,
    columns: [
      { name: 'Config Name', type: 'string', jsonPath: ".metadata.labels['serving\\.knative\\.dev/configuration']" },
      { name: 'Generation', type: 'string', jsonPath: ".metadata.labels['serving\\.knative\\.dev/configurationGeneration']" },
      ...readyCols,
      { name: 'Actual Replicas', type: 'integer', jsonPath: '.status.actualReplicas' },
      { name: 'Desired Replicas', type: 'integer', jsonPath: '.status.desiredReplicas' },
    ],
  },
  {
    group: 'serving.knative.dev',
    kind: 'Route',
    listKind: 'RouteList',
    plural: 'routes',
    singular: 'route',
    shortNames: ['rt'],
    categories: ['all', 'knative', 'serving'],
    namespaced: true,
    storageVersion: 'v1',
    servedVersions: servingVersions,
    hasStatus: true,
    columns: [{ name: 'URL', type: 'string', jsonPath: '.status.url' }, ...readyCols],
  },
  {
    group: 'serving.knative.dev',
    kind: 'DomainMapping',
    listKind: 'DomainMappingList',
    plural: 'domainmappings',
    singular: 'domainmapping',
    shortNames: ['dm'],
    categories: ['all', 'knative', 'serving'],
    namespaced: true,
    // Knative serves DomainMapping at v1beta1 only (v1alpha1 was removed).
    storageVersion: 'v1beta1',
    servedVersions: ['v1beta1'],
    hasStatus: true,
    columns: [{ name: 'URL', type: 'string', jsonPath: '.status.url' }, ...readyCols],
  },
  {
    group: 'networking.internal.knative.dev',
    kind: 'ClusterDomainClaim',
    listKind: 'ClusterDomainClaimList',
    plural: 'clusterdomainclaims',
    singular: 'clusterdomainclaim',
    shortNames: ['cdc'],
    categories: ['knative-internal', 'networking'],
    namespaced: false,
    storageVersion: 'v1alpha1',
    servedVersions: ['v1alpha1'],
    hasStatus: true,
    columns: [],
  },
  {
    group: 'autoscaling.internal.knative.dev',
    kind: 'PodAutoscaler',
    listKind: 'PodAutoscalerList',
    plural: 'podautoscalers',
    singular: 'podautoscaler',
    shortNames: ['kpa', 'pa'],
    categories: ['all', 'knative-internal', 'autoscaling'],
    namespaced: true,
    storageVersion: 'v1alpha1',
    servedVersions: ['v1alpha1'],
    hasStatus: true,
    columns: [
      { name: 'DesiredScale', type: 'integer', jsonPath: '.status.desiredScale' },
      { name: 'ActualScale', type: 'integer', jsonPath: '.status.actualScale' },
      { name: 'Mode', type: 'string', jsonPath: '.status.mode' },
      ...readyCols,
    ],
  },
  {
    group: 'sluice.dev',
    kind: 'Rollout',
    listKind: 'RolloutList',
    plural: 'rollouts',
    singular: 'rollout',
    shortNames: ['ro'],
    categories: ['all', 'sluice'],
    namespaced: true,
    storageVersion: 'v1alpha1',
    servedVersions: ['v1alpha1'],
    hasStatus: true,
    columns: [
      { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
      { name: 'Stable', type: 'string', jsonPath: '.status.stableRevision' },
      { name: 'Canary', type: 'string', jsonPath: '.status.canaryRevision' },
      { name: 'Weight', type: 'integer', jsonPath: '.status.canaryWeight' },
      { name: 'Message', type: 'string', jsonPath: '.status.message', priority: 1 },
    ],
  },
  {
    group: '',
    kind: 'Namespace',
    listKind: 'NamespaceList',
    plural: 'namespaces',
    singular: 'namespace',
    shortNames: ['ns'],
    categories: [],
    namespaced: false,
    storageVersion: 'v1',
    servedVersions: ['v1'],
    hasStatus: true,
    columns: [{ name: 'Status', type: 'string', jsonPath: '.status.phase' }],
  },
  {
    group: '',
    kind: 'ConfigMap',
    listKind: 'ConfigMapList',
    plural: 'configmaps',
    singular: 'configmap',
    shortNames: ['cm'],
    categories: [],
    namespaced: true,
    storageVersion: 'v1',
    servedVersions: ['v1'],
    hasStatus: false,
    columns: [],
  },
  {
    group: '',
    kind: 'Secret',
    listKind: 'SecretList',
    plural: 'secrets',
    singular: 'secret',
    shortNames: [],
    categories: [],
    namespaced: true,
    storageVersion: 'v1',
    servedVersions: ['v1'],
    hasStatus: false,
    columns: [{ name: 'Type', type: 'string', jsonPath: '.type' }],
    fieldLabels: ['type'],
  },
  { ...EVENT_KIND, group: '' },
  // Field selectors name the core fields, which is how Kubernetes stores both versions.
  { ...EVENT_KIND, group: 'events.k8s.io', storedAs: { resource: 'events', apiVersion: 'v1' } },
];

/** Kinds every Kubernetes cluster serves itself (no CRD needed there). */
export function isBuiltIn(k: ResourceKind): boolean {
  return k.group === '' || k.group === 'events.k8s.io';
}

export function apiVersionOf(k: ResourceKind, version = k.storageVersion): string {
  return k.group ? `${k.group}/${version}` : version;
}

/** Finds a kind by plural, singular, short name or Kind (case-insensitive), optionally within a group. */
export function findKind(name: string, group?: string): ResourceKind | undefined {
  const n = name.toLowerCase();
  return KINDS.find(
    (k) =>
      (group === undefined || k.group === group) &&
      (k.plural === n || k.singular === n || k.kind.toLowerCase() === n || k.shortNames.includes(n)),
  );
}

export function kindByKind(kind: string, group?: string): ResourceKind | undefined {
  return KINDS.find((k) => k.kind === kind && (group === undefined || k.group === group));
}

/** Storage key for a kind, e.g. "serving.knative.dev/services" or "namespaces". */
export function resourceKey(k: ResourceKind): string {
  if (k.storedAs) return k.storedAs.resource;
  return k.group ? `${k.group}/${k.plural}` : k.plural;
}
