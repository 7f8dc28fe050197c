// Knative's allowlist of Kubernetes fields in a revision's pod spec (knative/serving
// pkg/apis/serving/fieldmask.go): for each structure, the keys a user may set, some only while a
// config-features flag permits them. A key that is set (not a Go zero value) and not allowed is
// reported by its JSON name, as Knative's "must not set the field(s)" error does.

import { isPermitted, type FeatureKey, type Features } from './features.js';

/** A key, optionally allowed only while a feature flag is not Disabled. */
type MaskEntry = string | { key: string; flag: FeatureKey };
export type Mask = readonly MaskEntry[];

/**
 * Whether a JSON value counts as set when Knative compares it with its mask: scalars at their Go
 * zero value (false, 0, "") are unset; a list or object is set once present, even empty (in Go it
 * is a non-nil pointer, slice or map).
 */
export function isSet(v: unknown): boolean {
  return !(v === undefined || v === null || v === false || v === 0 || v === '');
}

/** apimachinery's semantic emptiness: zero scalars, and lists/objects holding only empty values. */
export function isEmptyDeep(v: unknown): boolean {
  if (!isSet(v)) return true;
  if (Array.isArray(v)) return v.every(isEmptyDeep);
  if (typeof v === 'object') return Object.values(v as object).every(isEmptyDeep);
  return false;
}

/** The keys of obj that are set but not in the mask (under the given features), sorted. */
export function disallowedKeys(obj: unknown, mask: Mask, features: Features): string[] {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return [];
  const allowed = new Set<string>();
  for (const e of mask) {
    if (typeof e === 'string') allowed.add(e);
    else if (isPermitted(features, e.flag)) allowed.add(e.key);
  }
  return Object.entries(obj)
    .filter(([k, v]) => !allowed.has(k) && isSet(v))
    .map(([k]) => k)
    .sort();
}

export const POD_SPEC: Mask = [
  'serviceAccountName',
  'containers',
  'volumes',
  'imagePullSecrets',
  'enableServiceLinks',
  // automountServiceAccountToken: only `false` is allowed, checked by the caller.
  { key: 'affinity', flag: 'kubernetes.podspec-affinity' },
  { key: 'topologySpreadConstraints', flag: 'kubernetes.podspec-topologyspreadconstraints' },
  { key: 'hostAliases', flag: 'kubernetes.podspec-hostaliases' },
  { key: 'nodeSelector', flag: 'kubernetes.podspec-nodeselector' },
  { key: 'runtimeClassName', flag: 'kubernetes.podspec-runtimeclassname' },
  { key: 'tolerations', flag: 'kubernetes.podspec-tolerations' },
  { key: 'shareProcessNamespace', flag: 'kubernetes.podspec-shareprocessnamespace' },
  { key: 'priorityClassName', flag: 'kubernetes.podspec-priorityclassname' },
  { key: 'schedulerName', flag: 'kubernetes.podspec-schedulername' },
  { key: 'initContainers', flag: 'kubernetes.podspec-init-containers' },
  { key: 'dnsPolicy', flag: 'kubernetes.podspec-dnspolicy' },
  { key: 'dnsConfig', flag: 'kubernetes.podspec-dnsconfig' },
  { key: 'hostIPC', flag: 'kubernetes.podspec-hostipc' },
  { key: 'hostPID', flag: 'kubernetes.podspec-hostpid' },
  { key: 'hostNetwork', flag: 'kubernetes.podspec-hostnetwork' },
  // securityContext: allowed by podspec-securitycontext or secure-pod-defaults, checked by the caller.
];

/** Knative's own RevisionSpec fields, which sit beside the inlined pod spec. */
export const REVISION_SPEC_OWN = ['containerConcurrency', 'timeoutSeconds', 'responseStartTimeoutSeconds', 'idleTimeoutSeconds'];

export const CONTAINER: Mask = [
  'name',
  'args',
  'command',
  'env',
  'workingDir',
  'envFrom',
  'image',
  'imagePullPolicy',
  'livenessProbe',
  'ports',
  'readinessProbe',
  'resources',
  'securityContext',
  'startupProbe',
  'terminationMessagePath',
  'terminationMessagePolicy',
  'volumeMounts',
];

export const VOLUME_SOURCE: Mask = [
  'secret',
  'configMap',
  'projected',
  { key: 'emptyDir', flag: 'kubernetes.podspec-volumes-emptydir' },
  { key: 'persistentVolumeClaim', flag: 'kubernetes.podspec-persistent-volume-claim' },
  { key: 'hostPath', flag: 'kubernetes.podspec-volumes-hostpath' },
  { key: 'csi', flag: 'kubernetes.podspec-volumes-csi' },
  { key: 'ephemeral', flag: 'kubernetes.podspec-volumes-ephemeral' },
  { key: 'image', flag: 'kubernetes.podspec-volumes-image' },
];
/** A Volume is its name plus one inlined source. */
export const VOLUME: Mask = ['name', ...VOLUME_SOURCE];
export const VOLUME_PROJECTION: Mask = ['secret', 'configMap', 'serviceAccountToken', 'downwardAPI'];
export const OBJECT_PROJECTION: Mask = ['name', 'items', 'optional'];
export const SERVICE_ACCOUNT_TOKEN_PROJECTION: Mask = ['audience', 'expirationSeconds', 'path'];
export const DOWNWARD_API_PROJECTION: Mask = ['items'];
export const DOWNWARD_API_FILE: Mask = ['fieldRef', 'resourceFieldRef', 'path', 'mode'];
export const KEY_TO_PATH: Mask = ['key', 'path', 'mode'];
export const VOLUME_MOUNT: Mask = [
  'name',
  'readOnly',
  'mountPath',
  'subPath',
  { key: 'mountPropagation', flag: 'kubernetes.podspec-volumes-mount-propagation' },
];

/** A Probe is its timing fields plus one inlined handler. */
export const PROBE_HANDLER: Mask = ['exec', 'httpGet', 'tcpSocket', 'grpc'];
export const PROBE: Mask = [
  ...PROBE_HANDLER,
  'initialDelaySeconds',
  'timeoutSeconds',
  'periodSeconds',
  'successThreshold',
  'failureThreshold',
  'terminationGracePeriodSeconds',
];
export const EXEC_ACTION: Mask = ['command'];
export const HTTP_GET_ACTION: Mask = ['host', 'path', 'scheme', 'httpHeaders', 'port'];
export const TCP_SOCKET_ACTION: Mask = ['host', 'port'];
export const GRPC_ACTION: Mask = ['port', 'service'];

export const CONTAINER_PORT: Mask = ['containerPort', 'name', 'protocol'];
export const ENV_VAR: Mask = ['name', 'value', 'valueFrom'];
export const ENV_VAR_SOURCE: Mask = [
  'configMapKeyRef',
  'secretKeyRef',
  { key: 'fieldRef', flag: 'kubernetes.podspec-fieldref' },
  { key: 'resourceFieldRef', flag: 'kubernetes.podspec-fieldref' },
];
export const KEY_SELECTOR: Mask = ['key', 'optional', 'name'];
export const ENV_FROM_SOURCE: Mask = ['prefix', 'configMapRef', 'secretRef'];
export const ENV_SOURCE: Mask = ['optional', 'name'];
export const RESOURCE_REQUIREMENTS: Mask = ['limits', 'requests'];

/** The pod's securityContext: nothing unless podspec-securitycontext is permitted (secure-pod-defaults lets seccompProfile through). */
export function podSecurityContextMask(f: Features): Mask {
  if (isPermitted(f, 'kubernetes.podspec-securitycontext')) {
    return ['runAsUser', 'runAsGroup', 'runAsNonRoot', 'fsGroup', 'supplementalGroups', 'seccompProfile'];
  }
  return f['secure-pod-defaults'] === 'Enabled' || f['secure-pod-defaults'] === 'AllowRootBounded' ? ['seccompProfile'] : [];
}

/** A container's securityContext; `privileged` only as false, checked by the caller. */
export const SECURITY_CONTEXT: Mask = [
  'capabilities',
  'readOnlyRootFilesystem',
  'runAsUser',
  'runAsGroup',
  'runAsNonRoot',
  'allowPrivilegeEscalation',
  'seccompProfile',
];

/** capabilities.add needs containerspec-addcapabilities Enabled (secure-pod-defaults allows exactly NET_BIND_SERVICE). */
export function capabilitiesDisallowed(cap: Record<string, unknown>, f: Features): string[] {
  const out = disallowedKeys(cap, ['drop', 'add'], f);
  if (!isSet(cap.add)) return out;
  if (f['kubernetes.containerspec-addcapabilities'] === 'Enabled') return out;
  const secure = f['secure-pod-defaults'] === 'Enabled' || f['secure-pod-defaults'] === 'AllowRootBounded';
  const onlyBind = Array.isArray(cap.add) && cap.add.length === 1 && cap.add[0] === 'NET_BIND_SERVICE';
  return secure && onlyBind ? out : [...out, 'add'].sort();
}
