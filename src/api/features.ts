// Knative's feature flags (ConfigMap knative-serving/config-features): which optional pod-spec
// fields admission lets through and which optional behaviours (tag-header routing, multi-container
// probing) are on. Keys, defaults and parsing follow knative/serving pkg/apis/config/features.go:
// a value matches case-insensitively, and a value that is no flag keeps the default.

export const FEATURES_CONFIGMAP = 'config-features';

/** Enabled turns a behaviour on; Allowed lets a user opt in (e.g. by annotation); Disabled refuses it. */
export type Flag = 'Enabled' | 'Disabled' | 'Allowed' | 'AllowRootBounded';

const FEATURE_DEFAULTS = {
  'multi-container': 'Enabled',
  'multi-container-probing': 'Disabled',
  'kubernetes.podspec-affinity': 'Disabled',
  'kubernetes.podspec-topologyspreadconstraints': 'Disabled',
  'kubernetes.podspec-hostaliases': 'Disabled',
  'kubernetes.podspec-fieldref': 'Disabled',
  'kubernetes.podspec-nodeselector': 'Disabled',
  'kubernetes.podspec-runtimeclassname': 'Disabled',
  'kubernetes.podspec-securitycontext': 'Disabled',
  'kubernetes.podspec-shareprocessnamespace': 'Disabled',
  'kubernetes.podspec-hostipc': 'Disabled',
  'kubernetes.podspec-hostpid': 'Disabled',
  'kubernetes.podspec-hostnetwork': 'Disabled',
  'kubernetes.podspec-priorityclassname': 'Disabled',
  'kubernetes.podspec-schedulername': 'Disabled',
  'kubernetes.containerspec-addcapabilities': 'Disabled',
  'kubernetes.podspec-tolerations': 'Disabled',
  'kubernetes.podspec-volumes-emptydir': 'Enabled',
  'kubernetes.podspec-volumes-hostpath': 'Disabled',
  'kubernetes.podspec-volumes-mount-propagation': 'Disabled',
  'kubernetes.podspec-volumes-csi': 'Disabled',
  'kubernetes.podspec-volumes-ephemeral': 'Disabled',
  'kubernetes.podspec-volumes-image': 'Disabled',
  'kubernetes.podspec-persistent-volume-claim': 'Disabled',
  'kubernetes.podspec-persistent-volume-write': 'Disabled',
  'kubernetes.podspec-init-containers': 'Disabled',
  'kubernetes.podspec-dnspolicy': 'Disabled',
  'kubernetes.podspec-dnsconfig': 'Disabled',
  'queueproxy.mount-podinfo': 'Disabled',
  'queueproxy.resource-defaults': 'Disabled',
  'secure-pod-defaults': 'Disabled',
  'tag-header-based-routing': 'Disabled',
  'autodetect-http2': 'Disabled',
} as const satisfies Record<string, Flag>;

export type FeatureKey = keyof typeof FEATURE_DEFAULTS;
export type Features = Readonly<Record<FeatureKey, Flag>>;

export const DEFAULT_FEATURES: Features = FEATURE_DEFAULTS;

const FLAGS: readonly Flag[] = ['Enabled', 'Allowed', 'Disabled'];
// secure-pod-defaults has its own set: no Allowed, but AllowRootBounded.
const SECURE_POD_FLAGS: readonly Flag[] = ['Disabled', 'AllowRootBounded', 'Enabled'];

/** Parses config-features data; unknown keys are ignored and unrecognised values keep the default. */
export function parseFeatures(data: Record<string, unknown> = {}): Features {
  const out: Record<string, Flag> = { ...FEATURE_DEFAULTS };
  for (const key of Object.keys(FEATURE_DEFAULTS) as FeatureKey[]) {
    const raw = data[key];
    if (typeof raw !== 'string') continue;
    const choices = key === 'secure-pod-defaults' ? SECURE_POD_FLAGS : FLAGS;
    const flag = choices.find((f) => f.toLowerCase() === raw.toLowerCase());
    if (flag) out[key] = flag;
  }
  return out as Features;
}

/** The data Sluice writes when config-features is missing: every key at its default, spelled as Knative's file does. */
export function defaultFeaturesConfigData(): Record<string, string> {
  return Object.fromEntries(Object.entries(FEATURE_DEFAULTS).map(([k, v]) => [k, v.toLowerCase()]));
}

export const isEnabled = (f: Features, key: FeatureKey): boolean => f[key] === 'Enabled';
/** A field behind a flag may be set when the flag is Enabled or Allowed. */
export const isPermitted = (f: Features, key: FeatureKey): boolean => f[key] !== 'Disabled';
