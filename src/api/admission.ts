// Admission for writes coming through the API: Knative's defaulting webhook, then its validating
// webhook. Controllers write their children already in this shape.

import { isDeepStrictEqual } from 'node:util';
import { ROLLOUT_GROUP, validateRollout } from '../progressive/spec.js';
import { defaultDomainMapping, validateDomainMapping } from './domainmapping.js';
import { defaultTemplate, defaultTraffic, defaultRevisionSpec } from './defaults.js';
import { ApiError } from './errors.js';
import { fe, invalid, via } from './field-error.js';
import { validateCreatorAndModifier } from './metadata-validation.js';
import { validateAnnotations, validateLabels } from './object-meta.js';
import type { ResourceKind } from './registry.js';
import { configMapProblem, DEFAULT_SERVING_CONFIG, type ServingConfig } from './serving-config.js';
import type { KObject } from './types.js';
import { Annotations } from './types.js';
import { shortDiff, validateConfiguration, validateRevision, validateRoute, validateService } from './validation.js';

const isObject = (v: unknown): v is Record<string, any> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function applyDefaults(
  kind: string,
  obj: KObject,
  user = 'sluice-admin',
  old?: KObject,
  cfg: ServingConfig = DEFAULT_SERVING_CONFIG,
): KObject {
  const out: KObject = { ...obj, metadata: { ...obj.metadata } };
  const spec = out.spec;
  if (isObject(spec)) {
    if (kind === 'Service' || kind === 'Configuration') {
      out.spec = { ...spec, template: defaultTemplate(spec.template, cfg.defaults, obj.metadata) };
      if (kind === 'Service') out.spec.traffic = defaultTraffic(spec.traffic, true);
    } else if (kind === 'Route') {
      out.spec = { ...spec, traffic: defaultTraffic(spec.traffic, false) };
    } else if (kind === 'Revision') {
      out.spec = defaultRevisionSpec(spec as any, cfg.defaults, obj.metadata);
    } else if (kind === 'DomainMapping') {
      out.spec = defaultDomainMapping(out).spec;
    }
  }
  setUserInfo(kind, out, user, old);
  return out;
}

/** Kinds whose creator and lastModifier Knative records (a Configuration or Route only when nothing owns it). */
export function tracksUserInfo(kind: string, obj: KObject): boolean {
  if (kind === 'Service' || kind === 'DomainMapping') return true;
  return (kind === 'Configuration' || kind === 'Route') && !obj.metadata.ownerReferences?.length;
}

/**
 * Knative's SetUserInfo: a create records the user as creator and lastModifier (whatever the
 * object said); an update that changes the spec records the user as lastModifier. Anything else
 * a user does to these annotations is for validation to refuse (validateCreatorAndModifier).
 */
function setUserInfo(kind: string, out: KObject, user: string, old: KObject | undefined): void {
  if (!tracksUserInfo(kind, out)) return;
  const ann = { ...(out.metadata.annotations ?? {}) };
  if (!old) {
    ann[Annotations.creator] = user;
    ann[Annotations.lastModifier] = user;
  } else if (!isDeepStrictEqual(old.spec, out.spec)) {
    ann[Annotations.lastModifier] = user;
  } else return;
  out.metadata.annotations = ann;
}

/**
 * Defaults and validates a create (old undefined) or update. Returns the object to store or throws
 * a 422 Invalid ApiError whose message is Knative's validation text.
 */
export function admit(kind: ResourceKind, obj: KObject, old: KObject | undefined, cfg: ServingConfig = DEFAULT_SERVING_CONFIG): KObject {
  if (kind.group === '' && kind.kind === 'ConfigMap') {
    const problem = configMapProblem(obj.metadata?.namespace, obj.metadata?.name, obj.data);
    // Knative's configmap webhook refuses what its parser refuses; the API server reports it as 400.
    if (problem) {
      throw new ApiError(
        400,
        'BadRequest',
        `admission webhook "config.webhook.serving.knative.dev" denied the request: validation failed: ${problem}`,
      );
    }
    return obj;
  }
  if (kind.group === ROLLOUT_GROUP && kind.kind === 'Rollout') {
    const errs = validateRollout(obj);
    if (errs.length) throw invalid(kind.kind, obj.metadata?.name ?? '', errs);
    return obj;
  }
  if (kind.group !== 'serving.knative.dev') return obj;
  const defaulted = applyDefaults(kind.kind, obj, undefined, old, cfg);
  const oldDefaulted = old ? applyDefaults(kind.kind, old, undefined, old, cfg) : undefined;
  const errs =
    kind.kind === 'Service'
      ? validateService(defaulted, oldDefaulted, cfg)
      : kind.kind === 'Configuration'
        ? validateConfiguration(defaulted, oldDefaulted, cfg)
        : kind.kind === 'Route'
          ? validateRoute(defaulted)
          : kind.kind === 'DomainMapping'
            ? validateDomainMapping(defaulted)
            : validateRevision(defaulted, oldDefaulted, cfg);
  if (oldDefaulted && tracksUserInfo(kind.kind, defaulted)) {
    const annotations = (o: KObject) => o.metadata.annotations as Record<string, string> | undefined;
    errs.push(
      ...via(
        'metadata.annotations',
        validateCreatorAndModifier(oldDefaulted.spec, defaulted.spec, annotations(oldDefaulted), annotations(defaulted)),
      ),
    );
  }
  if (kind.kind === 'Service' || kind.kind === 'Configuration') {
    // The template's labels and annotations become the Revision's: apimachinery's rules apply to them.
    const tm = defaulted.spec?.template?.metadata;
    const path = 'spec.template.metadata';
    for (const e of [...validateLabels(tm?.labels, `${path}.labels`), ...validateAnnotations(tm?.annotations, `${path}.annotations`)]) {
      errs.push(fe(e.message, e.field));
    }
  }
  if (errs.length) throw invalid(kind.kind, obj.metadata?.name ?? '', errs);
  return defaulted;
}

/** Reads an existing Revision (the store, through the API server's wiring). */
export type RevisionLookup = (namespace: string, name: string) => Promise<KObject | undefined>;

/**
 * admit(), plus the one rule that needs the store: a BYO revision name that already names a
 * Revision with a different template is refused (revisions are immutable; re-applying the same
 * template under its name is fine and makes no new revision).
 */
export function admitWithStore(lookup: RevisionLookup, config: () => ServingConfig = () => DEFAULT_SERVING_CONFIG) {
  return async (kind: ResourceKind, obj: KObject, old: KObject | undefined): Promise<KObject> => {
    const admitted = admit(kind, obj, old, config());
    if (kind.group !== 'serving.knative.dev' || (kind.kind !== 'Service' && kind.kind !== 'Configuration')) return admitted;
    const template = admitted.spec?.template;
    const name = template?.metadata?.name;
    if (!name || name === old?.spec?.template?.metadata?.name) return admitted;
    const existing = await lookup(admitted.metadata.namespace ?? 'default', name);
    if (!existing) return admitted;
    const diff = shortDiff(existing.spec, template.spec);
    if (!diff.length) return admitted;
    throw invalid(kind.kind, obj.metadata?.name ?? '', [
      {
        message: `Revision "${name}" already exists with a different template; revisions are immutable, so give the new template a new name (-old +new)`,
        paths: ['spec.template.metadata.name'],
        details: diff.join('\n'),
      },
    ]);
  };
}
