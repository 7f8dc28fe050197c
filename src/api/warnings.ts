// What Knative's validating webhook answers as warnings rather than errors (apis.WarningLevel):
// the insecure Kubernetes defaults of each container's securityContext (k8s_validation.go's
// warnDefaultContainerSecurityContext, silent once config-features secure-pod-defaults is on) and
// the deprecated queue-proxy resource-percentage annotation. Pure; each string is one warning as
// kubectl prints it after "Warning: ", merged by message as Knative's FieldError does.

import { fe, type FieldError, invalidValue, mergedFieldErrors, via } from './field-error.js';
import type { Features } from './features.js';
import { QUEUE_PERCENTAGE_KEYS } from './metadata-validation.js';
import type { KObject } from './types.js';

const INSECURE_DEFAULT = 'Kubernetes default value is insecure, Knative may default this to secure in a future release';
const QUEUE_PERCENTAGE_DEPRECATED =
  'Queue proxy resource percentage annotation is deprecated. Please use the available annotations to explicitly set resource values per service';

const isObject = (v: unknown): v is Record<string, any> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** One container's securityContext against the pod's: the fields left at Kubernetes' insecure default. */
function containerSecurityWarnings(pod: Record<string, any>, container: Record<string, any>): FieldError[] {
  const psc = isObject(pod) ? pod : {};
  const sc = isObject(container) ? container : {};
  const insecure = (path: string) => fe(INSECURE_DEFAULT, path);
  const out: FieldError[] = [];
  if (psc.runAsNonRoot == null && sc.runAsNonRoot == null) out.push(insecure('runAsNonRoot'));
  if (sc.allowPrivilegeEscalation == null) out.push(insecure('allowPrivilegeEscalation'));
  if (sc.seccompProfile == null && psc.seccompProfile == null) out.push(insecure('seccompProfile'));
  else if (!psc.seccompProfile?.type && !sc.seccompProfile?.type) out.push(insecure('seccompProfile.type'));
  const caps = sc.capabilities;
  if (caps == null) out.push(insecure('capabilities'));
  else if (caps.drop == null) out.push(insecure('capabilities.drop'));
  else if (Array.isArray(caps.drop) && caps.drop[0] === 'all') {
    // "all" drops nothing: Kubernetes only knows "ALL".
    out.push({ ...invalidValue('all', 'capabilities.drop'), details: "Must be spelled as 'ALL'" });
  }
  return out;
}

/** The pod spec's warnings, paths relative to it. */
function podSpecWarnings(spec: unknown, features: Features): FieldError[] {
  if (!isObject(spec)) return [];
  const secure = features['secure-pod-defaults'];
  if (secure === 'Enabled' || secure === 'AllowRootBounded') return [];
  const out: FieldError[] = [];
  for (const list of ['containers', 'initContainers'] as const) {
    const cs: unknown = spec[list];
    if (!Array.isArray(cs)) continue;
    cs.forEach((c, i) => {
      const sc = isObject(c) ? c.securityContext : undefined;
      out.push(...via(`${list}[${i}].securityContext`, containerSecurityWarnings(spec.securityContext, sc)));
    });
  }
  return out;
}

function annotationWarnings(annotations: unknown): FieldError[] {
  if (!isObject(annotations)) return [];
  const key = QUEUE_PERCENTAGE_KEYS.find((k) => annotations[k] !== undefined);
  return key ? [fe(QUEUE_PERCENTAGE_DEPRECATED, `[${key}]`)] : [];
}

/** Knative's warnings for a defaulted Service, Configuration or Revision (none for other kinds). */
export function admissionWarnings(kind: string, obj: KObject, features: Features): string[] {
  const errs: FieldError[] = [];
  if (kind === 'Service' || kind === 'Configuration') {
    const template: unknown = obj.spec?.template;
    if (isObject(template)) {
      errs.push(...via('spec.template.spec', podSpecWarnings(template.spec, features)));
      errs.push(...via('spec.template.metadata.annotations', annotationWarnings(template.metadata?.annotations)));
    }
  } else if (kind === 'Revision') {
    errs.push(...via('spec', podSpecWarnings(obj.spec, features)));
    errs.push(...via('metadata.annotations', annotationWarnings(obj.metadata?.annotations)));
  }
  return mergedFieldErrors(errs);
}
