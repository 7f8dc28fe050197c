// Knative's validating webhook for serving.knative.dev, as pure functions returning FieldErrors
// with Knative's messages and field paths (see field-error.ts for how they print).

import { isDeepStrictEqual } from 'node:util';
import { DEFAULTS, type ServingDefaults } from './defaults.js';
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
import { validateRoutingAnnotations } from './traffic-annotations.js';
import type { Container, KObject, ObjectMeta, Probe, RevisionSpec, RevisionTemplate, TrafficTarget } from './types.js';

const DNS1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_MSG =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

const isObject = (v: unknown): v is Record<string, any> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

export function dns1035Errors(name: string): string[] {
  const errs: string[] = [];
  if (name.length > 63) errs.push('must be no more than 63 characters');
  if (!DNS1035.test(name)) errs.push(DNS1035_MSG);
  return errs;
}

/** Annotation validation is plugged in by the autoscaler module (it owns those names and messages). */
export type AnnotationValidator = (annotations: Record<string, string>) => FieldError[];
let annotationValidator: AnnotationValidator = () => [];
export function setAnnotationValidator(v: AnnotationValidator): void {
  annotationValidator = v;
}

export function validateObjectName(meta: ObjectMeta): FieldError[] {
  if (!meta.name) return meta.generateName ? [] : [missingField('metadata.name')];
  const msgs = dns1035Errors(meta.name);
  return msgs.length ? [invalidValue(`not a DNS 1035 label: [${msgs.join(' ')}]`, 'metadata.name')] : [];
}

function validateProbe(p: unknown, path: string): FieldError[] {
  if (p === undefined) return [];
  if (!isObject(p)) return [invalidValue('must be an object', path)];
  const probe = p as Probe;
  const handlers = (['httpGet', 'tcpSocket', 'exec', 'grpc'] as const).filter((h) => (probe as any)[h] !== undefined);
  const errs: FieldError[] = [];
  if (handlers.length > 1) errs.push(multipleOneOf(...handlers.map((h) => `${path}.${h}`)));
  if (handlers.includes('grpc')) errs.push(fe('Sluice does not run gRPC probes yet; use httpGet or tcpSocket', `${path}.grpc`));
  for (const f of ['initialDelaySeconds', 'timeoutSeconds', 'failureThreshold', 'successThreshold'] as const) {
    const v = probe[f];
    if (v !== undefined && (!isInt(v) || v < 0)) errs.push(outOfBounds(v, 0, 2147483647, `${path}.${f}`));
  }
  if (probe.periodSeconds !== undefined && (!isInt(probe.periodSeconds) || probe.periodSeconds < 0)) {
    errs.push(outOfBounds(probe.periodSeconds, 0, 2147483647, `${path}.periodSeconds`));
  }
  return errs;
}

function validateContainer(c: unknown, path: string): FieldError[] {
  if (!isObject(c)) return [invalidValue('must be an object', path)];
  const ctr = c as Container;
  const errs: FieldError[] = [];
  // Sluice's local runtime also runs a bare command; Knative itself requires an image.
  if (!ctr.image && !(Array.isArray(ctr.command) && ctr.command.length > 0)) errs.push(missingField(`${path}.image`));
  if (ctr.image !== undefined && typeof ctr.image !== 'string') errs.push(invalidValue(ctr.image, `${path}.image`));
  for (const f of ['command', 'args'] as const) {
    const v = ctr[f];
    if (v !== undefined && (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))) {
      errs.push(invalidValue('must be a list of strings', `${path}.${f}`));
    }
  }
  if (ctr.env !== undefined) {
    if (!Array.isArray(ctr.env)) errs.push(invalidValue('must be a list', `${path}.env`));
    else
      ctr.env.forEach((e, i) => {
        if (!isObject(e) || typeof e.name !== 'string' || e.name === '') errs.push(missingField(`${path}.env[${i}].name`));
        else if (!ENV_NAME.test(e.name)) errs.push(invalidValue(e.name, `${path}.env[${i}].name`));
        if (isObject(e) && e.value !== undefined && typeof e.value !== 'string') {
          errs.push(invalidValue(String(e.value), `${path}.env[${i}].value`));
        }
        if (isObject(e) && e.valueFrom !== undefined) {
          errs.push(fe('Sluice does not resolve valueFrom (no Secrets or ConfigMaps in env yet)', `${path}.env[${i}].valueFrom`));
        }
      });
  }
  if (ctr.ports !== undefined) {
    if (!Array.isArray(ctr.ports)) errs.push(invalidValue('must be a list', `${path}.ports`));
    else if (ctr.ports.length > 1) errs.push(fe('more than one container port is set', `${path}.ports`));
    else if (ctr.ports.length === 1) {
      const port = ctr.ports[0]?.containerPort;
      if (!isInt(port) || port < 0 || port > 65535) errs.push(outOfBounds(port, 0, 65535, `${path}.ports[0].containerPort`));
    }
  }
  errs.push(...validateProbe(ctr.readinessProbe, `${path}.readinessProbe`));
  errs.push(...validateProbe(ctr.livenessProbe, `${path}.livenessProbe`));
  if (ctr.workingDir !== undefined && typeof ctr.workingDir !== 'string') errs.push(invalidValue(ctr.workingDir, `${path}.workingDir`));
  return errs;
}

export function validateRevisionSpec(spec: unknown, d: ServingDefaults = DEFAULTS): FieldError[] {
  if (!isObject(spec)) return [missingField('')];
  const rs = spec as RevisionSpec;
  const errs: FieldError[] = [];
  if (!Array.isArray(rs.containers) || rs.containers.length === 0) {
    errs.push(missingField('containers'));
  } else if (rs.containers.length > 1) {
    errs.push(fe('Sluice runs one container per revision; sidecars are not supported yet', 'containers'));
  } else {
    errs.push(...validateContainer(rs.containers[0], 'containers[0]'));
  }
  if (
    rs.timeoutSeconds !== undefined &&
    (!isInt(rs.timeoutSeconds) || rs.timeoutSeconds < 0 || rs.timeoutSeconds > d.maxRevisionTimeoutSeconds)
  ) {
    errs.push(outOfBounds(rs.timeoutSeconds, 0, d.maxRevisionTimeoutSeconds, 'timeoutSeconds'));
  }
  if (
    rs.containerConcurrency !== undefined &&
    (!isInt(rs.containerConcurrency) || rs.containerConcurrency < 0 || rs.containerConcurrency > d.containerConcurrencyMaxLimit)
  ) {
    errs.push(outOfBounds(rs.containerConcurrency, 0, d.containerConcurrencyMaxLimit, 'containerConcurrency'));
  }
  return errs;
}

/** Template of a Configuration or Service; parentName is that object's name (for the BYO prefix). */
export function validateTemplate(t: unknown, parent: ObjectMeta): FieldError[] {
  if (!isObject(t)) return [missingField('template')];
  const tpl = t as RevisionTemplate;
  const errs = via('template.spec', validateRevisionSpec(tpl.spec));
  const meta = tpl.metadata;
  if (meta !== undefined && !isObject(meta)) return [...errs, invalidValue('must be an object', 'template.metadata')];
  if (meta?.annotations !== undefined) {
    errs.push(...via('template.metadata.annotations', annotationValidator(meta.annotations)));
  }
  const name = meta?.name;
  if (name !== undefined && name !== '') {
    if (typeof name !== 'string') return [...errs, invalidValue(String(name), 'template.metadata.name')];
    const msgs = dns1035Errors(name);
    if (msgs.length) errs.push(invalidValue(`not a DNS 1035 label: [${msgs.join(' ')}]`, 'template.metadata.name'));
    else if (!parent.name && parent.generateName) errs.push(disallowedFields('template.metadata.name'));
    else if (!name.startsWith(`${parent.name}-`)) {
      errs.push(invalidValue(`"${name}" must have prefix "${parent.name}-"`, 'template.metadata.name'));
    }
  }
  return errs;
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
  else if (t.revisionName !== undefined && (typeof t.revisionName !== 'string' || dns1035Errors(t.revisionName).length)) {
    errs.push(invalidValue(String(t.revisionName), 'revisionName'));
  } else if (!inService && !t.revisionName && !t.configurationName) {
    errs.push(missingOneOf('revisionName', 'configurationName'));
  }
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
    if (typeof tag !== 'string' || dns1035Errors(tag).length) {
      errs.push(invalidValue(`not a DNS 1035 label: [${dns1035Errors(String(tag)).join(' ')}]`, `traffic[${i}].tag`));
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

export function validateService(obj: KObject, old?: KObject): FieldError[] {
  const errs = validateObjectName(obj.metadata);
  if (!isObject(obj.spec)) return [...errs, missingField('spec')];
  errs.push(...via('spec', validateTemplate(obj.spec.template, obj.metadata)));
  errs.push(...via('spec', validateTraffic(obj.spec.traffic, true)));
  errs.push(...routingAnnotationErrors(obj));
  if (old) errs.push(...via('spec', verifyNameChange(obj.spec.template, old.spec?.template)));
  return errs;
}

export function validateConfiguration(obj: KObject, old?: KObject): FieldError[] {
  const errs = validateObjectName(obj.metadata);
  if (!isObject(obj.spec)) return [...errs, missingField('spec')];
  errs.push(...via('spec', validateTemplate(obj.spec.template, obj.metadata)));
  if (old) errs.push(...via('spec', verifyNameChange(obj.spec.template, old.spec?.template)));
  return errs;
}

export function validateRoute(obj: KObject): FieldError[] {
  const errs = validateObjectName(obj.metadata);
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

export function validateRevision(obj: KObject, old?: KObject): FieldError[] {
  const errs = validateObjectName(obj.metadata);
  if (old) {
    const diff = shortDiff(old.spec, obj.spec);
    if (diff.length) return [{ message: 'Immutable fields changed (-old +new)', paths: ['spec'], details: diff.join('\n') }];
    return errs;
  }
  errs.push(...via('spec', validateRevisionSpec(obj.spec)));
  // A Revision created directly carries its autoscaling annotations on its own metadata.
  const anns = obj.metadata?.annotations;
  if (anns !== undefined && isObject(anns)) errs.push(...via('metadata.annotations', annotationValidator(anns as Record<string, string>)));
  return errs;
}
