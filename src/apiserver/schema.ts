// Structural schemas for the kinds Sluice serves, in the spirit of a CRD's openAPIV3Schema: they
// drive server-side field validation (fieldValidation=Strict|Warn|Ignore), pruning of unknown
// fields, type checks, and the OpenAPI documents kubectl reads. status is free-form: controllers
// own it. Knative's own rules (traffic sums, immutable revisions, ...) live in admission.

import { KINDS, type ResourceKind } from '../api/registry.js';

export type Schema =
  | { type: 'object'; description?: string; properties?: Record<string, Schema>; additionalProperties?: Schema; preserveUnknown?: boolean }
  | { type: 'array'; description?: string; items: Schema }
  | { type: 'string' | 'integer' | 'number' | 'boolean'; description?: string; format?: string }
  | { type: 'int-or-string'; description?: string };

const str = (description?: string): Schema => ({ type: 'string', description });
const int = (description?: string): Schema => ({ type: 'integer', description });
const bool = (description?: string): Schema => ({ type: 'boolean', description });
const intOrString = (description?: string): Schema => ({ type: 'int-or-string', description });
const arr = (items: Schema, description?: string): Schema => ({ type: 'array', items, description });
const obj = (properties: Record<string, Schema>, description?: string): Schema => ({ type: 'object', properties, description });
const mapOf = (values: Schema, description?: string): Schema => ({ type: 'object', additionalProperties: values, description });
/** An object whose content is not checked (status, Kubernetes structures Sluice passes through). */
const free = (description?: string): Schema => ({ type: 'object', preserveUnknown: true, description });

const ownerReference = obj({
  apiVersion: str(),
  kind: str(),
  name: str(),
  uid: str(),
  controller: bool(),
  blockOwnerDeletion: bool(),
});

export const objectMeta: Schema = obj(
  {
    name: str('Name must be unique within a namespace.'),
    generateName: str('Prefix the server uses to generate a unique name when name is not set.'),
    namespace: str('Namespace defines the space within which each name must be unique.'),
    selfLink: str(),
    uid: str('Unique identifier set by the server.'),
    resourceVersion: str('Opaque version of this object, used for optimistic concurrency.'),
    generation: int('A sequence number representing a specific generation of the desired state.'),
    creationTimestamp: str('Time the object was created (RFC 3339).'),
    deletionTimestamp: str(),
    deletionGracePeriodSeconds: int(),
    labels: mapOf(str(), 'Map of string keys and values that can be used to organize and select objects.'),
    annotations: mapOf(str(), 'Unstructured key value map of arbitrary metadata.'),
    ownerReferences: arr(ownerReference),
    finalizers: arr(str()),
    managedFields: arr(free()),
  },
  "Standard object's metadata.",
);

const objectReference = obj({
  apiVersion: str(),
  kind: str(),
  namespace: str(),
  name: str(),
  uid: str(),
  resourceVersion: str(),
  fieldPath: str(),
});

const keyRef = obj({ name: str(), key: str(), optional: bool() });
const envVar = obj({
  name: str('Name of the environment variable.'),
  value: str('Value of the environment variable.'),
  valueFrom: obj({
    fieldRef: obj({ apiVersion: str(), fieldPath: str() }),
    resourceFieldRef: obj({ containerName: str(), resource: str(), divisor: intOrString() }),
    configMapKeyRef: keyRef,
    secretKeyRef: keyRef,
  }),
});
const envFromSource = obj({
  prefix: str(),
  configMapRef: obj({ name: str(), optional: bool() }),
  secretRef: obj({ name: str(), optional: bool() }),
});
const probe = obj({
  exec: obj({ command: arr(str()) }),
  httpGet: obj({
    path: str(),
    port: intOrString(),
    host: str(),
    scheme: str(),
    httpHeaders: arr(obj({ name: str(), value: str() })),
  }),
  tcpSocket: obj({ port: intOrString(), host: str() }),
  grpc: obj({ port: int(), service: str() }),
  initialDelaySeconds: int(),
  timeoutSeconds: int(),
  periodSeconds: int(),
  successThreshold: int(),
  failureThreshold: int(),
  terminationGracePeriodSeconds: int(),
});
const container = obj({
  name: str('Name of the container.'),
  image: str('Container image name.'),
  command: arr(str(), 'Entrypoint array.'),
  args: arr(str(), 'Arguments to the entrypoint.'),
  workingDir: str(),
  ports: arr(obj({ name: str(), containerPort: int(), protocol: str(), hostPort: int(), hostIP: str() })),
  env: arr(envVar, 'List of environment variables to set in the container.'),
  envFrom: arr(envFromSource),
  resources: obj({ limits: mapOf(intOrString()), requests: mapOf(intOrString()), claims: arr(free()) }),
  volumeMounts: arr(obj({ name: str(), mountPath: str(), subPath: str(), subPathExpr: str(), readOnly: bool(), mountPropagation: str() })),
  livenessProbe: probe,
  readinessProbe: probe,
  startupProbe: probe,
  lifecycle: free(),
  securityContext: free(),
  terminationMessagePath: str(),
  terminationMessagePolicy: str(),
  imagePullPolicy: str(),
  stdin: bool(),
  stdinOnce: bool(),
  tty: bool(),
  // Kubernetes fields Knative refuses: kept in the schema so admission answers with Knative's message.
  volumeDevices: arr(free()),
  resizePolicy: arr(free()),
  restartPolicy: str(),
});

const revisionSpec = obj(
  {
    containers: arr(container, 'List of containers belonging to the revision.'),
    initContainers: arr(container),
    volumes: arr(free()),
    serviceAccountName: str(),
    automountServiceAccountToken: bool(),
    imagePullSecrets: arr(obj({ name: str() })),
    enableServiceLinks: bool(),
    nodeSelector: mapOf(str()),
    tolerations: arr(free()),
    affinity: free(),
    topologySpreadConstraints: arr(free()),
    securityContext: free(),
    runtimeClassName: str(),
    priorityClassName: str(),
    schedulerName: str(),
    dnsPolicy: str(),
    dnsConfig: free(),
    hostAliases: arr(free()),
    hostNetwork: bool(),
    hostPID: bool(),
    hostIPC: bool(),
    shareProcessNamespace: bool(),
    // Kubernetes fields Knative refuses: kept in the schema so admission answers with Knative's message.
    restartPolicy: str(),
    terminationGracePeriodSeconds: int(),
    activeDeadlineSeconds: int(),
    nodeName: str(),
    hostname: str(),
    subdomain: str(),
    priority: int(),
    readinessGates: arr(free()),
    preemptionPolicy: str(),
    overhead: mapOf(intOrString()),
    setHostnameAsFQDN: bool(),
    os: free(),
    hostUsers: bool(),
    schedulingGates: arr(free()),
    resourceClaims: arr(free()),
    ephemeralContainers: arr(free()),
    serviceAccount: str(),
    containerConcurrency: int('Maximum number of concurrent requests per container instance (0 = unlimited).'),
    timeoutSeconds: int('Maximum duration in seconds a request is allowed to run.'),
    responseStartTimeoutSeconds: int(),
    idleTimeoutSeconds: int(),
  },
  'RevisionSpec holds the desired state of the Revision.',
);

const revisionTemplate = obj(
  { metadata: objectMeta, spec: revisionSpec },
  'Template holds the latest specification for the Revision to be stamped out.',
);

const trafficTarget = obj({
  tag: str('Tag is optionally used to expose a dedicated url for referencing this target exclusively.'),
  revisionName: str('RevisionName of a specific revision to which to send this portion of traffic.'),
  configurationName: str('ConfigurationName of a configuration to whose latest revision traffic is sent.'),
  latestRevision: bool('LatestRevision may be set to send traffic to the latest ready Revision.'),
  percent: int('Percent indicates that percentage based routing should be used.'),
  url: str(),
});
const traffic = arr(trafficTarget, 'Traffic specifies how to distribute traffic over a collection of revisions.');
const status = free('Status communicates the observed state; written by Sluice controllers.');

function topLevel(kindName: string, properties: Record<string, Schema>, description: string): Schema {
  return obj(
    { apiVersion: str('APIVersion of this representation.'), kind: str('Kind of this object.'), metadata: objectMeta, ...properties },
    description,
  );
}

const SCHEMAS: Record<string, Schema> = {
  Service: topLevel(
    'Service',
    { spec: obj({ template: revisionTemplate, traffic }), status },
    'Service manages the lifecycle of a Configuration and Route.',
  ),
  Configuration: topLevel(
    'Configuration',
    { spec: obj({ template: revisionTemplate }), status },
    'Configuration stamps out Revisions from a template.',
  ),
  Revision: topLevel('Revision', { spec: revisionSpec, status }, 'Revision is an immutable snapshot of code and configuration.'),
  Route: topLevel('Route', { spec: obj({ traffic }), status }, 'Route maps a network endpoint to Revisions.'),
  DomainMapping: topLevel(
    'DomainMapping',
    {
      spec: obj(
        {
          ref: obj(
            {
              apiVersion: str('API version of the referent.'),
              kind: str('Kind of the referent (a Knative Service or Route).'),
              name: str('Name of the referent.'),
              namespace: str("Namespace of the referent (defaults to the mapping's; must be the same)."),
              group: str(),
              address: str(),
            },
            'Ref specifies the target of the Domain Mapping: an Addressable whose address is {name}.{namespace}.svc.cluster.local.',
          ),
          tls: obj({ secretName: str() }, 'TLS allows the DomainMapping to terminate TLS traffic with an existing secret.'),
        },
        'Spec is the desired state of the DomainMapping.',
      ),
      status,
    },
    'DomainMapping is a mapping from a custom hostname to an Addressable.',
  ),
  ClusterDomainClaim: topLevel(
    'ClusterDomainClaim',
    {
      spec: obj(
        { namespace: str("Namespace is the namespace which is allowed to create a DomainMapping using this ClusterDomainClaim's name.") },
        'Spec is the desired state of the ClusterDomainClaim.',
      ),
      status,
    },
    'ClusterDomainClaim is a cluster-wide reservation for a particular domain name.',
  ),
  PodAutoscaler: topLevel('PodAutoscaler', { spec: free(), status }, 'PodAutoscaler scales a Revision (internal).'),
  Rollout: topLevel(
    'Rollout',
    { spec: free(), status },
    'Rollout is a canary policy for a Service: steps, gates on its per-revision numbers, webhooks.',
  ),
  Namespace: topLevel('Namespace', { spec: obj({ finalizers: arr(str()) }), status }, 'Namespace provides a scope for names.'),
  ConfigMap: topLevel(
    'ConfigMap',
    { data: mapOf(str()), binaryData: mapOf(str()), immutable: bool() },
    'ConfigMap holds configuration data.',
  ),
  Secret: topLevel(
    'Secret',
    {
      data: mapOf(str(), 'Secret data; each value is base64-encoded.'),
      stringData: mapOf(str(), 'Write-only plain-text values, merged into data on write.'),
      type: str('Used to facilitate programmatic handling of secret data (default Opaque).'),
      immutable: bool(),
    },
    'Secret holds secret data of a certain type.',
  ),
  Event: topLevel(
    'Event',
    {
      involvedObject: objectReference,
      reason: str('A short, machine understandable string that gives the reason for the transition.'),
      message: str('A human-readable description of the status of this operation.'),
      source: obj({ component: str(), host: str() }),
      firstTimestamp: str(),
      lastTimestamp: str(),
      count: int('The number of times this event has occurred.'),
      type: str('Type of this event (Normal, Warning).'),
      eventTime: str(),
      series: obj({ count: int(), lastObservedTime: str() }),
      action: str(),
      related: objectReference,
      reportingComponent: str(),
      reportingInstance: str(),
    },
    'Event is a report of an event somewhere in the cluster.',
  ),
  'events.k8s.io/Event': topLevel(
    'Event',
    {
      eventTime: str(),
      series: obj({ count: int(), lastObservedTime: str() }),
      reportingController: str(),
      reportingInstance: str(),
      action: str(),
      reason: str(),
      regarding: objectReference,
      related: objectReference,
      note: str('A human-readable description of the status of this operation.'),
      type: str(),
      deprecatedSource: obj({ component: str(), host: str() }),
      deprecatedFirstTimestamp: str(),
      deprecatedLastTimestamp: str(),
      deprecatedCount: int(),
    },
    'Event is a report of an event somewhere in the cluster.',
  ),
};

export function schemaFor(kind: ResourceKind): Schema {
  return SCHEMAS[`${kind.group}/${kind.kind}`] ?? SCHEMAS[kind.kind] ?? topLevel(kind.kind, { spec: free(), status }, kind.kind);
}

// Every kind in the registry must have a schema; a missing one is a programming error.
for (const k of KINDS) if (!SCHEMAS[k.kind]) throw new Error(`apiserver: no schema for kind ${k.kind}`);

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

export interface TypeError {
  field: string;
  expected: string;
  got: string;
}

export interface CheckResult {
  /** The value with unknown fields and nulls removed (what gets stored). */
  value: any;
  unknownFields: string[];
  typeErrors: TypeError[];
}

const typeName = (v: unknown): string =>
  v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v === 'number' ? (Number.isInteger(v) ? 'integer' : 'number') : typeof v;

const join = (path: string, key: string) => (path ? `${path}.${key}` : key);

/**
 * Walks `value` against `schema`: records unknown fields and type mismatches, and returns a copy
 * without unknown fields and without nulls (a null means "unset", as Kubernetes treats it).
 */
export function checkAgainstSchema(value: unknown, schema: Schema): CheckResult {
  const result: CheckResult = { value: undefined, unknownFields: [], typeErrors: [] };
  result.value = walk(value, schema, '', result);
  return result;
}

function walk(v: unknown, s: Schema, path: string, r: CheckResult): unknown {
  const mismatch = (expected: string) => {
    r.typeErrors.push({ field: path || '<root>', expected, got: typeName(v) });
    return v;
  };
  switch (s.type) {
    case 'string':
      return typeof v === 'string' ? v : mismatch('string');
    case 'boolean':
      return typeof v === 'boolean' ? v : mismatch('boolean');
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v) ? v : mismatch('integer');
    case 'number':
      return typeof v === 'number' ? v : mismatch('number');
    case 'int-or-string':
      return typeof v === 'string' || (typeof v === 'number' && Number.isInteger(v)) ? v : mismatch('integer or string');
    case 'array': {
      if (!Array.isArray(v)) return mismatch('array');
      return v.map((item, i) => (item === null ? null : walk(item, s.items, `${path}[${i}]`, r)));
    }
    case 'object': {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) return mismatch('object');
      if (s.preserveUnknown) return v;
      const out: Record<string, unknown> = {};
      for (const [key, val] of Object.entries(v)) {
        if (val === null) continue;
        const known = s.properties !== undefined && Object.prototype.hasOwnProperty.call(s.properties, key);
        const sub = known ? s.properties![key] : s.additionalProperties;
        if (!sub) {
          r.unknownFields.push(join(path, key));
          continue;
        }
        // defineProperty: a key such as "__proto__" must stay data, not become a prototype.
        Object.defineProperty(out, key, {
          value: walk(val, sub, known ? join(path, key) : `${path}[${key}]`, r),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return out;
    }
  }
}
