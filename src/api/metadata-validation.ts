// Knative's metadata rules for serving objects (knative/serving pkg/apis/serving/metadata_validation.go
// and the label/annotation checks of v1/*_validation.go): names, autoscaling annotations only on a
// revision template, networking annotations a template may carry, rollout-duration and
// progress-deadline values, queue-proxy resource annotations, and labels reserved to Knative.

import { isDeepStrictEqual } from 'node:util';
import { GoParseError, parseGoDuration, parseGoFloat } from '../autoscaler/goparse.js';
import { fe, type FieldError, invalidValue, missingField, outOfBounds } from './field-error.js';
import { dns1035LabelErrors } from './k8s-names.js';
import { parseQuantity } from './quantity.js';
import { Annotations, type ObjectMeta } from './types.js';

const AUTOSCALING_PREFIX = 'autoscaling.knative.dev';
const NETWORKING_PREFIX = 'networking.knative.dev';
/** knative.dev/networking's allowed networking annotations on a revision template. */
const TEMPLATE_NETWORKING_ANNOTATIONS = new Set([
  'networking.knative.dev/ingress.class',
  'networking.knative.dev/ingress-class',
  'networking.knative.dev/certificate.class',
  'networking.knative.dev/certificate-class',
  'networking.knative.dev/disableAutoTLS',
  'networking.knative.dev/disable-auto-tls',
  'networking.knative.dev/disable-external-domain-tls',
  'networking.knative.dev/httpOption',
  'networking.knative.dev/http-protocol',
]);
export const ROLLOUT_DURATION_KEYS = ['serving.knative.dev/rollout-duration', 'serving.knative.dev/rolloutDuration'];
const PROGRESS_DEADLINE_KEYS = ['serving.knative.dev/progress-deadline'];
export const QUEUE_PERCENTAGE_KEYS = [
  'queue.sidecar.serving.knative.dev/resource-percentage',
  'queue.sidecar.serving.knative.dev/resourcePercentage',
];
const QUEUE_RESOURCE_KEYS = [
  'cpu-resource-request',
  'cpu-resource-limit',
  'memory-resource-request',
  'memory-resource-limit',
  'ephemeral-storage-resource-request',
  'ephemeral-storage-resource-limit',
].map((k) => `queue.sidecar.serving.knative.dev/${k}`);

const invalidKeyName = (key: string, path: string, details?: string): FieldError => ({
  message: `invalid key name ${JSON.stringify(key)}`,
  paths: [path],
  ...(details ? { details } : {}),
});

/** kmap.KeyPriority.Get: the first of the keys present, with its value. */
function firstKey(m: Record<string, string>, keys: string[]): [string, string] | undefined {
  for (const k of keys) if (m[k] !== undefined) return [k, m[k]];
  return undefined;
}

const dnsMsg = (msgs: string[]) => `[${msgs.join(' ')}]`;

/** apis.ValidateObjectMetadata: DNS-1035 name or generateName prefix, one of them required (paths under metadata). */
export function validateObjectName(meta: ObjectMeta): FieldError[] {
  if (meta.generateName) {
    // A generateName prefix may end in "-"; apimachinery masks that before checking.
    const msgs = dns1035LabelErrors(meta.generateName.replace(/-$/, 'a'));
    if (msgs.length) return [fe(`not a DNS 1035 label prefix: ${dnsMsg(msgs)}`, 'generateName')];
  }
  if (meta.name) {
    const msgs = dns1035LabelErrors(String(meta.name));
    if (msgs.length) return [fe(`not a DNS 1035 label: ${dnsMsg(msgs)}`, 'name')];
  }
  if (!meta.name && !meta.generateName) return [fe('name or generateName is required', 'name')];
  return [];
}

/** Autoscaling annotations belong on the revision template; on a Service, Configuration or Route they do nothing. */
export function validateNoAutoscalingAnnotations(annotations: Record<string, string> | undefined): FieldError[] {
  return Object.keys(annotations ?? {})
    .filter((k) => k.startsWith(AUTOSCALING_PREFIX))
    .sort()
    .map((k) => invalidKeyName(k, '', 'autoscaling annotations must be put under "spec.template.metadata.annotations" to work'));
}

/** networking.ValidateAnnotations: a template may carry only the ingress/TLS/http-protocol networking annotations. */
export function validateTemplateNetworkingAnnotations(annotations: Record<string, string> | undefined): FieldError[] {
  return Object.keys(annotations ?? {})
    .filter((k) => k.startsWith(NETWORKING_PREFIX) && !TEMPLATE_NETWORKING_ANNOTATIONS.has(k))
    .sort()
    .map((k) => invalidKeyName(k, ''));
}

/** A duration annotation at whole seconds, not negative (rollout-duration, progress-deadline). */
function validateSecondsAnnotation(annotations: Record<string, string> | undefined, keys: string[], label: string): FieldError[] {
  const found = firstKey(annotations ?? {}, keys);
  if (!found || found[1] === '') return [];
  const [k, v] = found;
  let ms: number;
  try {
    ms = parseGoDuration(v);
  } catch (err) {
    if (err instanceof GoParseError) return [invalidValue(v, k)];
    throw err;
  }
  if (ms % 1000 !== 0) return [fe(`${label}=${v} is not at second precision`, k)];
  if (ms < 0) return [fe(`${label}=${v} must be positive`, k)];
  return [];
}

export const validateRolloutDuration = (annotations: Record<string, string> | undefined) =>
  validateSecondsAnnotation(annotations, ROLLOUT_DURATION_KEYS, 'rollout-duration');

export const validateProgressDeadline = (annotations: Record<string, string> | undefined) =>
  validateSecondsAnnotation(annotations, PROGRESS_DEADLINE_KEYS, 'progress-deadline');

/** The queue-proxy resource annotations of a template: quantities, and a percentage within 0.1..100. */
export function validateQueueSidecarAnnotations(annotations: Record<string, string> | undefined): FieldError[] {
  const m = annotations ?? {};
  const errs: FieldError[] = [];
  const pct = firstKey(m, QUEUE_PERCENTAGE_KEYS);
  if (pct) {
    const [k, v] = pct;
    let value: number | undefined;
    try {
      value = parseGoFloat(v);
    } catch {
      errs.push(invalidValue(v, k));
    }
    if (value !== undefined && !(value >= 0.1 && value <= 100)) errs.push(outOfBounds(value, 0.1, '100', k));
  }
  for (const k of QUEUE_RESOURCE_KEYS) {
    const v = m[k];
    if (v !== undefined && !parseQuantity(v).ok) errs.push(invalidValue(v, k));
  }
  return errs;
}

/** A label Knative sets on a child names its owner; set by hand without that owner it is refused. */
export function validateOwnerLabel(meta: ObjectMeta, label: string, ownerKind: string): FieldError[] {
  const val = meta.labels?.[label];
  if (val === undefined) return [];
  const owned = (meta.ownerReferences ?? []).some((r) => r.kind === ownerKind && r.name === val);
  return owned ? [] : [missingField(label)];
}

/**
 * knative.dev/pkg's ValidateCreatorAndModifier, on an update: the creator never changes, and
 * lastModifier only with the spec (admission then writes the user into it). Paths are under the
 * annotations; a missing annotation counts as "".
 */
export function validateCreatorAndModifier(
  oldSpec: unknown,
  newSpec: unknown,
  oldAnnotations: Record<string, string> | undefined,
  newAnnotations: Record<string, string> | undefined,
): FieldError[] {
  const was = (k: string) => oldAnnotations?.[k] ?? '';
  const now = (k: string) => newAnnotations?.[k] ?? '';
  const errs: FieldError[] = [];
  if (was(Annotations.creator) !== now(Annotations.creator)) errs.push(fe('annotation value is immutable', Annotations.creator));
  if (isDeepStrictEqual(oldSpec, newSpec) && was(Annotations.lastModifier) !== now(Annotations.lastModifier)) {
    errs.push(invalidValue(now(Annotations.lastModifier), Annotations.lastModifier));
  }
  return errs;
}
