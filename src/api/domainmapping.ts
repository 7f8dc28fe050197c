// Knative's DomainMapping (serving.knative.dev/v1beta1) and the ClusterDomainClaim that guards a
// domain name (networking.internal.knative.dev/v1alpha1), as pure functions: the shapes, the
// defaults (ref.namespace), the validating webhook's rules and messages
// (domainmapping_validation.go and duck/v1 KReference.Validate), and the status the reconciler
// derives from what it found (domainmapping_lifecycle.go and reconciler.go).

import { type ConditionInput, rollUp } from './conditions.js';
import { disallowedFields, fe, type FieldError, missingField } from './field-error.js';
import { dns1123LabelErrors, dns1123SubdomainErrors } from './k8s-names.js';
import type { Condition, KObject } from './types.js';
import { CLUSTER_DOMAIN, CLUSTER_LOCAL_DOMAIN } from './visibility.js';

export interface KReference {
  kind?: string;
  namespace?: string;
  name?: string;
  apiVersion?: string;
  group?: string;
  address?: string;
}

export interface DomainMappingSpec {
  ref?: KReference;
  tls?: { secretName?: string };
}

export interface DomainMappingStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  url?: string;
  address?: { url: string };
}

export type DomainMapping = KObject<DomainMappingSpec, DomainMappingStatus>;
export type ClusterDomainClaim = KObject<{ namespace?: string }>;

export const CLAIM_API_VERSION = 'networking.internal.knative.dev/v1alpha1';
/** config-network: whether DomainMappings create (and delete) their ClusterDomainClaims. Knative's default is false. */
export const AUTOCREATE_CLAIMS_KEY = 'autocreate-cluster-domain-claims';

const isObject = (v: unknown): v is Record<string, any> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Knative's SetDefaults: a ref without a namespace is in the mapping's own namespace. */
export function defaultDomainMapping(obj: KObject): KObject {
  const spec = obj.spec;
  if (!isObject(spec) || !isObject(spec.ref) || spec.ref.namespace) return obj;
  return { ...obj, spec: { ...spec, ref: { ...spec.ref, namespace: obj.metadata.namespace } } };
}

/** apimachinery's IsFullyQualifiedDomainName, as the one error it reports (undefined when the name is fine). */
export function fqdnError(path: string, name: string): string | undefined {
  if (name === '') return `${path}: Required value`;
  const n = name.endsWith('.') ? name.slice(0, -1) : name;
  const invalid = (value: string, detail: string) => `${path}: Invalid value: ${JSON.stringify(value)}: ${detail}`;
  const sub = dns1123SubdomainErrors(n);
  if (sub.length) return invalid(n, sub.join(','));
  const labels = n.split('.');
  if (labels.length < 2) return invalid(n, 'should be a domain with at least two segments separated by dots');
  for (const label of labels) {
    const errs = dns1123LabelErrors(label);
    if (errs.length) return invalid(label, errs.join(','));
  }
  return undefined;
}

/** duck/v1 KReference.Validate (group not allowed, as Knative Serving's webhook runs it); paths under the ref. */
function validateRef(ref: unknown, parentNamespace: string | undefined): FieldError[] {
  if (!isObject(ref)) return [missingField('apiVersion', 'kind', 'name')];
  const r = ref as KReference;
  const errs: FieldError[] = [];
  if (!r.name) errs.push(missingField('name'));
  if (r.group) errs.push(disallowedFields('group'));
  if (!r.apiVersion) errs.push(missingField('apiVersion'));
  if (!r.kind) errs.push(missingField('kind'));
  if (r.namespace && parentNamespace && r.namespace !== parentNamespace) {
    errs.push({
      message: 'mismatched namespaces',
      paths: ['namespace'],
      details: `parent namespace: ${JSON.stringify(parentNamespace)} does not match ref: ${JSON.stringify(r.namespace)}`,
    });
  }
  for (const k of ['kind', 'name', 'apiVersion', 'namespace'] as const) {
    if (r[k] !== undefined && typeof r[k] !== 'string') errs.push(fe(`invalid value: ${String(r[k])}`, k));
  }
  return errs;
}

/** The validating webhook's rules for a DomainMapping (creator/lastModifier on update are checked by admission). */
export function validateDomainMapping(obj: KObject): FieldError[] {
  const meta = obj.metadata;
  const name = typeof meta.name === 'string' ? meta.name : '';
  const errs: FieldError[] = [];
  if (meta.generateName) errs.push(disallowedFields('metadata.generateName'));
  const bad = fqdnError('name', name);
  if (bad) errs.push(fe(`invalid name ${JSON.stringify(name)}: ${bad}`, 'metadata.name'));
  if (name.endsWith(`.${CLUSTER_DOMAIN}`)) {
    errs.push(
      fe(
        `invalid name ${JSON.stringify(name)}: must not be a subdomain of cluster local domain ${JSON.stringify(CLUSTER_DOMAIN)}`,
        'metadata.name',
      ),
    );
  }
  const spec = isObject(obj.spec) ? obj.spec : {};
  errs.push(...validateRef(spec.ref, meta.namespace).map((e) => ({ ...e, paths: e.paths.map((p) => `spec.ref.${p}`) })));
  if (spec.tls !== undefined) {
    // Knative would terminate TLS with that Secret; Sluice's gateway speaks plain HTTP only.
    errs.push(
      fe(
        'TLS termination with an existing secret is not supported by the Sluice gateway (it serves plain HTTP); remove spec.tls',
        'spec.tls',
      ),
    );
  }
  return errs;
}

/** What the reconciler found out about a mapping's claim, target and ingress. */
export interface MappingFacts {
  /** DomainClaimed: True, or the reason it is not. */
  claim: { ok: true } | { ok: false; message: string };
  /** ReferenceResolved: the host requests go to, or why the ref cannot be resolved; undefined when not looked at yet. */
  target?: { host: string } | { error: string };
  /** The target's routes are in the gateway (IngressReady). */
  ingressReady: boolean;
}

/** Knative's DomainClaimed: the claim must exist and give the domain to this namespace. */
export function claimFacts(
  claim: ClusterDomainClaim | undefined,
  namespace: string,
  autocreate: boolean,
): MappingFacts['claim'] & { create?: boolean } {
  if (!claim) return autocreate ? { ok: true, create: true } : { ok: false, message: NOT_OWNED };
  return claim.spec?.namespace === namespace ? { ok: true } : { ok: false, message: NOT_OWNED };
}
/** Knative's message when the claim is missing (autocreate off) or belongs to another namespace. */
const NOT_OWNED = 'The domain name is already in use by another DomainMapping';

/**
 * Resolves a ref the way Knative's URIResolver does for the Addressables Sluice serves (Knative
 * Services and Routes): their status.address.url, which must be `{name}.{namespace}.svc.cluster.local`
 * in the mapping's namespace.
 */
export function resolveTarget(ref: KReference, target: KObject | undefined, namespace: string): { host: string } | { error: string } {
  const [group, version] = (ref.apiVersion ?? '').includes('/') ? ref.apiVersion!.split('/') : ['', ref.apiVersion ?? ''];
  const resource = `${(ref.kind ?? '').toLowerCase()}s`;
  const gvr = group ? `${group}/${version}, Resource=${resource}` : `/${version}, Resource=${resource}`;
  if (group !== 'serving.knative.dev' || (ref.kind !== 'Service' && ref.kind !== 'Route')) {
    return { error: `failed to get lister for ${gvr}: Sluice resolves only Knative Services and Routes (serving.knative.dev)` };
  }
  if (!target) return { error: `failed to get object ${ref.namespace}/${ref.name}: ${resource}.${group} "${ref.name}" not found` };
  const url: unknown = target.status?.address?.url;
  if (typeof url !== 'string' || url === '') return { error: `address not set for ${ref.kind} ${ref.namespace}/${ref.name}` };
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    return { error: `hostname missing in address of ${ref.kind} ${ref.namespace}/${ref.name}` };
  }
  const suffix = `.${CLUSTER_LOCAL_DOMAIN}`;
  const parts = host.endsWith(suffix) ? host.slice(0, -suffix.length).split('.') : [];
  if (parts.length !== 2) return { error: `resolved URI ${JSON.stringify(url)} must be of the form {name}.{namespace}${suffix}` };
  if (parts[1] !== namespace) return { error: `resolved URI ${JSON.stringify(url)} must be in same namespace as DomainMapping` };
  return { host };
}

/** The status Knative's reconciler writes for what it found. */
export function domainMappingStatus(dm: DomainMapping, facts: MappingFacts, now?: () => string): DomainMappingStatus {
  const url = `http://${dm.metadata.name}`;
  const unknown = (reason?: string, message?: string): ConditionInput => ({ status: 'Unknown', ...(reason ? { reason, message } : {}) });
  const claimed: ConditionInput = facts.claim.ok
    ? { status: 'True' }
    : { status: 'False', reason: 'DomainAlreadyClaimed', message: facts.claim.message };
  // Knative stops at a failed claim, so nothing after it is looked at: Unknown.
  const target = facts.claim.ok ? facts.target : undefined;
  const resolved: ConditionInput =
    target === undefined
      ? unknown()
      : 'host' in target
        ? { status: 'True' }
        : { status: 'False', reason: 'ResolveFailed', message: target.error };
  const ingress: ConditionInput =
    target !== undefined && 'host' in target && facts.ingressReady
      ? { status: 'True' }
      : unknown('IngressNotConfigured', 'Ingress has not yet been reconciled.');
  const conditions = rollUp(
    dm.status?.conditions,
    {
      DomainClaimed: claimed,
      ReferenceResolved: resolved,
      IngressReady: ingress,
      // autoTLS (external-domain-tls) is off: no certificate to wait for, as Knative reports it.
      CertificateProvisioned: { status: 'True', reason: 'TLSNotEnabled', message: 'external-domain-tls is not enabled' },
    },
    {},
    now,
  );
  return { observedGeneration: dm.metadata.generation, conditions, url, address: { url } };
}
