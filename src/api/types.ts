// Resource shapes shared by every part of Sluice. They follow Knative Serving v1
// (serving.knative.dev/v1) and Kubernetes' ObjectMeta; only the fields Sluice reads are typed,
// everything else a user sends is kept as-is.

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  [extra: string]: unknown;
}

export interface KObject<Spec = any, Status = any> {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec?: Spec;
  status?: Status;
  [extra: string]: unknown;
}

export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface Condition {
  type: string;
  status: ConditionStatus;
  reason?: string;
  message?: string;
  severity?: string;
  lastTransitionTime?: string;
}

export interface EnvVar {
  name: string;
  value?: string;
  [extra: string]: unknown;
}

export interface Probe {
  httpGet?: { path?: string; port?: number | string; host?: string; scheme?: string; httpHeaders?: { name: string; value: string }[] };
  tcpSocket?: { port?: number | string; host?: string };
  exec?: { command?: string[] };
  grpc?: { port?: number; service?: string };
  initialDelaySeconds?: number;
  periodSeconds?: number;
  timeoutSeconds?: number;
  successThreshold?: number;
  failureThreshold?: number;
}

export interface ContainerPort {
  containerPort: number;
  name?: string;
  protocol?: string;
}

export interface Container {
  name?: string;
  image?: string;
  command?: string[];
  args?: string[];
  workingDir?: string;
  env?: EnvVar[];
  ports?: ContainerPort[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean; subPath?: string; [extra: string]: unknown }[];
  resources?: { limits?: Record<string, string>; requests?: Record<string, string> };
  [extra: string]: unknown;
}

export interface RevisionSpec {
  containers: Container[];
  containerConcurrency?: number;
  timeoutSeconds?: number;
  responseStartTimeoutSeconds?: number;
  idleTimeoutSeconds?: number;
  initContainers?: Container[];
  volumes?: { name: string; [source: string]: unknown }[];
  [extra: string]: unknown;
}

export interface RevisionTemplate {
  metadata?: ObjectMeta;
  spec: RevisionSpec;
}

export interface TrafficTarget {
  tag?: string;
  revisionName?: string;
  configurationName?: string;
  latestRevision?: boolean;
  percent?: number;
  url?: string;
}

export interface ConfigurationSpec {
  template: RevisionTemplate;
}

export interface RouteSpec {
  traffic?: TrafficTarget[];
}

export interface ServiceSpec extends ConfigurationSpec, RouteSpec {}

export interface Addressable {
  url: string;
}

export interface StatusCommon {
  observedGeneration?: number;
  conditions?: Condition[];
  annotations?: Record<string, string>;
}

export interface ConfigurationStatus extends StatusCommon {
  latestCreatedRevisionName?: string;
  latestReadyRevisionName?: string;
}

export interface RouteStatus extends StatusCommon {
  url?: string;
  address?: Addressable;
  traffic?: TrafficTarget[];
}

export interface ServiceStatus extends ConfigurationStatus, RouteStatus {}

export interface RevisionStatus extends StatusCommon {
  actualReplicas?: number;
  desiredReplicas?: number;
  containerStatuses?: { name: string; imageDigest?: string }[];
  logUrl?: string;
}

export type Service = KObject<ServiceSpec, ServiceStatus>;
export type Configuration = KObject<ConfigurationSpec, ConfigurationStatus>;
export type Route = KObject<RouteSpec, RouteStatus>;
export type Revision = KObject<RevisionSpec, RevisionStatus>;

export const SERVING_GROUP = 'serving.knative.dev';
export const AUTOSCALING_GROUP = 'autoscaling.internal.knative.dev';

// Labels Knative puts on the children of a Service.
export const Labels = {
  service: 'serving.knative.dev/service',
  serviceUID: 'serving.knative.dev/serviceUID',
  configuration: 'serving.knative.dev/configuration',
  configurationUID: 'serving.knative.dev/configurationUID',
  configurationGeneration: 'serving.knative.dev/configurationGeneration',
  revision: 'serving.knative.dev/revision',
  revisionUID: 'serving.knative.dev/revisionUID',
  route: 'serving.knative.dev/route',
  routingState: 'serving.knative.dev/routingState',
} as const;

export const Annotations = {
  creator: 'serving.knative.dev/creator',
  lastModifier: 'serving.knative.dev/lastModifier',
  routes: 'serving.knative.dev/routes',
  routingStateModified: 'serving.knative.dev/routingStateModified',
} as const;
