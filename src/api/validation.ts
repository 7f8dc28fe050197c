// Knative's validating webhook for serving.knative.dev, as pure functions returning FieldErrors
// with Knative's messages and field paths (see field-error.ts for how they print).

import { isDeepStrictEqual } from 'node:util';
import {
  disallowedFields,
  fe,
  type FieldError,
  invalidValue,
  missingField,
  missingOneOf,
  multipleOneOf,
  outOfBounds,
  via,
} from './field-error.js';
import { dns1035LabelErrors, qualifiedNameErrors } from './k8s-names.js';
import { localRuntimeLimits } from './runtime-limits.js';
import {
  validateNoAutoscalingAnnotations,
  validateObjectName,
  validateOwnerLabel,
  validateProgressDeadline,
  validateQueueSidecarAnnotations,
  validateTemplateNetworkingAnnotations,
} from './metadata-validation.js';
import { validatePodSpec } from './podspec-validation.js';
import { validateRoutingAnnotations } from './traffic-annotations.js';
import { DEFAULT_SERVING_CONFIG, type ServingConfig } from './serving-config.js';
import { Labels, type KObject, type ObjectMeta, type RevisionSpec, type RevisionTemplate, type TrafficTarget } from './types.js';

const isObject = (v: unknown): v is Record<string, any> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

/** Annotation validation is plugged in by the autoscaler module (it owns those names and messages). */
export type AnnotationValidator = (annotations: Record<string, string>) => FieldError[];
let annotationValidator: AnnotationValidator = () => [];
export function setAnnotationValidator(v: AnnotationValidator): void {
  annotationValidator = v;
}

const annotationsOf = (meta: unknown): Record<string, string> | undefined =>
  isObject(meta) && isObject(meta.annotations) ? (meta.annotations as Record<string, string>) : undefined;

/** Metadata of a Service, Configuration or Route: its name, and no autoscaling annotations (they belong on the template). */
function validateParentMeta(meta: ObjectMeta): FieldError[] {
  return [...validateObjectName(meta), ...via('annotations', validateNoAutoscalingAnnotations(annotationsOf(meta)))];
}

export function validateRevisionSpec(spec: unknown, cfg: ServingConfig = DEFAULT_SERVING_CONFIG): FieldError[] {
  if (!isObject(spec)) return [missingField('')];
  const rs = spec as RevisionSpec;
  const d = cfg.defaults;
  const errs = validatePodSpec(rs, cfg.features);
  // timeoutSeconds 0 means "the default" to Knative.
  if (rs.timeoutSeconds !== undefined && rs.timeoutSeconds !== 0) {
    if (!isInt(rs.timeoutSeconds) || rs.timeoutSeconds < 0 || rs.timeoutSeconds > d.maxRevisionTimeoutSeconds) {
      errs.push(outOfBounds(rs.timeoutSeconds, 0, d.maxRevisionTimeoutSeconds, 'timeoutSeconds'));
    }
  }
  if (rs.containerConcurrency !== undefined) {
    const min = d.allowContainerConcurrencyZero ? 0 : 1;
    const cc = rs.containerConcurrency;
    if (!isInt(cc) || cc < min || cc > d.containerConcurrencyMaxLimit) {
      errs.push(outOfBounds(cc, min, d.containerConcurrencyMaxLimit, 'containerConcurrency'));
    }
  }
  for (const k of ['responseStartTimeoutSeconds', 'idleTimeoutSeconds'] as const) {
    const v = rs[k];
    if (v !== undefined && (!isInt(v) || v < 0)) errs.push(outOfBounds(v, 0, d.maxRevisionTimeoutSeconds, k));
  }
  errs.push(...localRuntimeLimits(rs));
  return errs;
}

/** Template of a Configuration or Service; parentName is that object's name (for the BYO prefix). */
export function validateTemplate(t: unknown, parent: ObjectMeta, cfg: ServingConfig = DEFAULT_SERVING_CONFIG): FieldError[] {
  if (!isObject(t)) return [missingField('template')];
  const tpl = t as RevisionTemplate;
  const errs = via('template.spec', validateRevisionSpec(tpl.spec, cfg));
  const meta = tpl.metadata;
  if (meta !== undefined && !isObject(meta)) return [...errs, invalidValue('must be an object', 'template.metadata')];
  const anns = annotationsOf(meta);
  if (anns !== undefined) {
    errs.push(
      ...via('template.metadata.annotations', [
        ...annotationValidator(anns),
        ...validateTemplateNetworkingAnnotations(anns),
        ...validateQueueSidecarAnnotations(anns),
        ...validateProgressDeadline(anns),
      ]),
    );
  }
  const generateName = meta?.generateName;
  if (typeof generateName === 'string' && generateName !== '') {
    const msgs = dns1035LabelErrors(generateName.replace(/-$/, 'a'));
    if (msgs.length) errs.push(invalidValue(`not a DNS 1035 label prefix: [${msgs.join(' ')}]`, 'template.metadata.generateName'));
  }
  const name = meta?.name;
  if (name !== undefined && name !== '') {
    if (typeof name !== 'string') return [...errs, invalidValue(String(name), 'template.metadata.name')];
    const msgs = dns1035LabelErrors(name);
    if (msgs.length) errs.push(invalidValue(`not a DNS 1035 label: [${msgs.join(' ')}]`, 'template.metadata.name'));
    else if (!parent.name && parent.generateName) errs.push(disallowedFields('template.metadata.name'));
    else if (!name.startsWith(`${parent.name}-`)) {
      errs.push(invalidValue(`"${name}" must have prefix "${parent.name}-"`, 'template.metadata.name'));
    }
  }
  return errs;
}

/** Traffic names are Kubernetes qualified names; Knative reports them as an invalid key name. */
function qualifiedNameProblem(name: unknown, path: string): FieldError[] {
  const msgs = qualifiedNameErrors(String(name));
  return typeof name === 'string' && !msgs.length
    ? []
    : [{ message: `invalid key name ${JSON.stringify(String(name))}`, paths: [path], details: msgs.join(', ') }];
}

function validateTarget(tt: unknown, inService: boolean): FieldError[] {
  if (!isObject(tt)) return [invalidValue('must be an object', '')];
  const t = tt as TrafficTarget;
  const errs: FieldError[] = [];
  if (t.latestRevision !== undefined) {
    if (typeof t.latestRevision !== 'boolean') errs.push(invalidValue(String(t.latestRevision), 'latestRevision'));
    else if (!!t.revisionName === t.latestRevision) {
      errs.push(fe(`may not set revisionName "${t.revisionName ?? ''}" when latestRevision is ${t.latestRevision}`, 'latestRevision'));
    }
  }
  if (inService && t.configurationName) errs.push(disallowedFields('configurationName'));
  else if (t.revisionName && t.configurationName) errs.push(multipleOneOf('revisionName', 'configurationName'));
  else if (t.revisionName) errs.push(...qualifiedNameProblem(t.revisionName, 'revisionName'));
  else if (t.configurationName) errs.push(...qualifiedNameProblem(t.configurationName, 'configurationName'));
  else if (!inService) errs.push(missingOneOf('revisionName', 'configurationName'));
  if (t.percent !== undefined && (!isInt(t.percent) || t.percent < 0 || t.percent > 100)) {
    errs.push(outOfBounds(t.percent, 0, 100, 'percent'));
  }
  if (t.url !== undefined) errs.push(disallowedFields('url'));
  return errs;
}

export function validateTraffic(traffic: unknown, inService: boolean): FieldError[] {
  if (traffic === undefined) return inService ? [] : [fe('Traffic targets sum to 0, want 100', 'traffic')];
  if (!Array.isArray(traffic)) return [invalidValue('must be a list', 'traffic')];
  const errs: FieldError[] = [];
  const tags = new Map<string, number>();
  let sum = 0;
  traffic.forEach((tt, i) => {
    errs.push(...via(`traffic[${i}]`, validateTarget(tt, inService)));
    if (!isObject(tt)) return;
    if (isInt(tt.percent)) sum += tt.percent;
    const tag = tt.tag;
    if (tag === undefined || tag === '') return;
    if (typeof tag !== 'string' || dns1035LabelErrors(tag).length) {
      // Knative indexes this one under the field name (traffic.tag[i]).
      errs.push(invalidValue(`not a DNS 1035 label: [${dns1035LabelErrors(String(tag)).join(' ')}]`, `traffic.tag[${i}]`));
    }
    const prev = tags.get(tag);
    if (prev !== undefined) errs.push(fe(`Multiple definitions for "${tag}"`, `traffic[${i}].tag`, `traffic[${prev}].tag`));
    else tags.set(tag, i);
  });
  if (sum !== 100) errs.push(fe(`Traffic targets sum to ${sum}, want 100`, 'traffic'));
  return errs;
}

/** A short "-old +new" diff of two JSON values, one line per changed leaf, like Knative's kmp.ShortDiff. */
export function shortDiff(oldV: unknown, newV: unknown, path = ''): string[] {
  if (isDeepStrictEqual(oldV, newV)) return [];
  if (isObject(oldV) && isObject(newV)) {
    const keys = [...new Set([...Object.keys(oldV), ...Object.keys(newV)])].sort();
    return keys.flatMap((k) => shortDiff(oldV[k], newV[k], path ? `${path}.${k}` : k));
  }
  if (Array.isArray(oldV) && Array.isArray(newV) && oldV.length === newV.length) {
    return oldV.flatMap((v, i) => shortDiff(v, newV[i], `${path}[${i}]`));
  }
  const show = (v: unknown) => (v === undefined ? '<absent>' : JSON.stringify(v));
  return [`{${path}}:\n\t-: ${show(oldV)}\n\t+: ${show(newV)}`];
}

/** Knative's VerifyNameChange: a BYO revision name must change whenever the template changes. */
export function verifyNameChange(newT: RevisionTemplate | undefined, oldT: RevisionTemplate | undefined): FieldError[] {
  const name = newT?.metadata?.name;
  if (!name || !oldT || name !== oldT.metadata?.name) return [];
  const diff = shortDiff(oldT, newT);
  if (!diff.length) return [];
  return [
    { message: 'Saw the following changes without a name change (-old +new)', paths: ['template.metadata.name'], details: diff.join('\n') },
  ];
}

export function validateService(obj: KObject, old?: KObject, cfg: ServingConfig = DEFAULT_SERVING_CONFIG): FieldError[] {
  const meta = obj.metadata;
  const errs = via('metadata', validateParentMeta(meta));
  if (!isObject(obj.spec)) return [...errs, missingField('spec')];
  errs.push(...via('spec', validateTemplate(obj.spec.template, meta, cfg)));
  errs.push(...via('spec', validateTraffic(obj.spec.traffic, true)));
  errs.push(...routingAnnotationErrors(obj));
  if (old) errs.push(...via('spec', verifyNameChange(obj.spec.template, old.spec?.template)));
  return errs;
}

export function validateConfiguration(obj: KObject, old?: KObject, cfg: ServingConfig = DEFAULT_SERVING_CONFIG): FieldError[] {
  const meta = obj.metadata;
  const errs = via('metadata', [...validateParentMeta(meta), ...via('labels', validateOwnerLabel(meta, Labels.service, 'Service'))]);
  if (!isObject(obj.spec)) return [...errs, missingField('spec')];
  errs.push(...via('spec', validateTemplate(obj.spec.template, meta, cfg)));
  if (old) errs.push(...via('spec', verifyNameChange(obj.spec.template, old.spec?.template)));
  return errs;
}

export function validateRoute(obj: KObject): FieldError[] {
  const meta = obj.metadata;
  const errs = via('metadata', [...validateParentMeta(meta), ...via('labels', validateOwnerLabel(meta, Labels.service, 'Service'))]);
  if (!isObject(obj.spec)) return [...errs, missingField('spec')];
  return [...errs, ...via('spec', validateTraffic(obj.spec.traffic, false)), ...routingAnnotationErrors(obj)];
}

/** rollout-duration, traffic rules and sticky sessions on a Service or Route; rules may only name its tags. */
function routingAnnotationErrors(obj: KObject): FieldError[] {
  const anns = obj.metadata?.annotations;
  if (!isObject(anns)) return [];
  const traffic: unknown = obj.spec?.traffic;
  const tags = new Set<string>();
  if (Array.isArray(traffic)) for (const t of traffic) if (isObject(t) && typeof t.tag === 'string' && t.tag) tags.add(t.tag);
  return via('metadata.annotations', validateRoutingAnnotations(anns as Record<string, string>, tags));
}

export function validateRevision(obj: KObject, old?: KObject, cfg: ServingConfig = DEFAULT_SERVING_CONFIG): FieldError[] {
  const meta = obj.metadata;
  // A Revision carries its autoscaling annotations on its own metadata.
  const errs = via('metadata', [
    ...validateObjectName(meta),
    ...via('annotations', annotationValidator(annotationsOf(meta) ?? {})),
    ...via('labels', validateOwnerLabel(meta, Labels.configuration, 'Configuration')),
  ]);
  if (old) {
    const diff = shortDiff(old.spec, obj.spec);
    if (diff.length) return [{ message: 'Immutable fields changed (-old +new)', paths: ['spec'], details: diff.join('\n') }];
    return errs;
  }
  errs.push(...via('spec', validateRevisionSpec(obj.spec, cfg)));
  return errs;
}
