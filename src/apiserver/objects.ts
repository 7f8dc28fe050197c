// Turning a decoded request body into an object the store may hold: type and version checks,
// schema validation (unknown fields per fieldValidation, wrong types), apimachinery's metadata
// rules, and the admission hook whose Knative-style refusals reach kubectl in the webhook's wording.

import { ApiError, badRequest } from '../api/errors.js';
import { nameRuleFor, validateConfigMap, validateObjectMeta } from '../api/object-meta.js';
import { apiVersionOf, type ResourceKind } from '../api/registry.js';
import type { KObject } from '../api/types.js';
import { isPlainObject } from './body.js';
import { checkAgainstSchema, schemaFor, type FieldValidation } from './schema.js';
import { invalid } from './status.js';

/** Defaulting + validation; may look things up (e.g. existing revisions), hence the Promise. */
export type AdmitFn = (kind: ResourceKind, obj: KObject, old: KObject | undefined) => KObject | Promise<KObject>;
/** The admission warnings for an admitted object (Knative's, for its kinds), sent as Warning headers. */
export type WarnFn = (kind: ResourceKind, admitted: KObject) => string[];
export type ConvertFn = (obj: KObject, toApiVersion: string) => KObject;

export function parseFieldValidation(v: string | null): FieldValidation {
  if (v === null || v === '') return 'Warn';
  if (v === 'Strict' || v === 'Warn' || v === 'Ignore') return v;
  throw badRequest(`fieldValidation: Unsupported value: "${v}": supported values: "Ignore", "Strict", "Warn"`);
}

/** "Service.serving.knative.dev" — how Kubernetes names a kind in Invalid messages. */
export function qualifiedKind(k: ResourceKind): string {
  return k.group ? `${k.kind}.${k.group}` : k.kind;
}

export function invalidObject(k: ResourceKind, name: string, causes: { field: string; message: string }[]): ApiError {
  const msgs = causes.map((c) => `${c.field}: ${c.message}`);
  const text = msgs.length === 1 ? msgs[0] : `[${msgs.join(', ')}]`;
  return invalid(`${qualifiedKind(k)} "${name}" is invalid: ${text}`, {
    name,
    group: k.group,
    kind: k.kind,
    causes: causes.map((c) => ({ reason: 'FieldValueInvalid', message: c.message, field: c.field })),
  });
}

export interface Decoded {
  obj: KObject;
  warnings: string[];
}

/**
 * Checks a request body against the kind served at `version`. Unknown fields are refused (Strict),
 * reported as warnings (Warn) or dropped silently (Ignore); in every mode they are not stored.
 * `tolerated` lists unknown-field paths already present in the stored object, which a patch
 * carries along without the user having written them.
 */
export function decodeObject(
  kind: ResourceKind,
  version: string,
  raw: unknown,
  mode: FieldValidation,
  tolerated: Set<string> = new Set(),
): Decoded {
  const want = apiVersionOf(kind, version);
  const cannotHandle = (why: string) => badRequest(`${kind.kind} in version "${version}" cannot be handled as a ${kind.kind}: ${why}`);
  if (!isPlainObject(raw)) throw cannotHandle('the body must be an object');
  const body: Record<string, unknown> = { ...raw };
  if (body.apiVersion === undefined) body.apiVersion = want;
  if (body.kind === undefined) body.kind = kind.kind;
  if (body.apiVersion !== want) {
    throw badRequest(`the API version in the data (${String(body.apiVersion)}) does not match the expected API version (${want})`);
  }
  if (body.kind !== kind.kind)
    throw badRequest(`the kind in the data (${String(body.kind)}) does not match the expected kind (${kind.kind})`);
  if (body.metadata === undefined || body.metadata === null) body.metadata = {};
  if (!isPlainObject(body.metadata)) {
    throw cannotHandle(`metadata must be an object, got ${Array.isArray(body.metadata) ? 'array' : typeof body.metadata}`);
  }

  const checked = checkAgainstSchema(body, schemaFor(kind));
  const unknown = checked.unknownFields.filter((f) => !tolerated.has(f));
  const warnings: string[] = [];
  if (unknown.length && mode === 'Strict') {
    throw cannotHandle(`strict decoding error: ${unknown.map((f) => `unknown field "${f}"`).join(', ')}`);
  }
  if (mode === 'Warn') for (const f of unknown) warnings.push(`unknown field "${f}"`);
  const name = typeof (body.metadata as any).name === 'string' ? (body.metadata as any).name : '';
  if (checked.typeErrors.length) {
    throw invalidObject(
      kind,
      name,
      checked.typeErrors.map((e) => ({
        field: e.field,
        message: `Invalid value: "${e.got}": ${e.field} in body must be of type ${e.expected}: "${e.got}"`,
      })),
    );
  }
  return { obj: checked.value as KObject, warnings };
}

/** Unknown-field paths of a stored object (see decodeObject's `tolerated`). */
export function unknownFieldsOf(kind: ResourceKind, obj: unknown): Set<string> {
  return new Set(checkAgainstSchema(obj, schemaFor(kind)).unknownFields);
}

/**
 * apimachinery's ObjectMeta rules (src/api/object-meta.ts) plus a kind's own (ConfigMap keys),
 * as kube-apiserver checks them before admission: a 422 Invalid naming the kind. On an update
 * the name is the stored one and is not checked again.
 */
export function checkObjectRules(kind: ResourceKind, obj: KObject, opts: { update?: boolean } = {}): void {
  const errs = validateObjectMeta(obj.metadata, nameRuleFor(kind.kind), opts);
  if (kind.group === '' && kind.kind === 'ConfigMap') errs.push(...validateConfigMap(obj as { data?: unknown; binaryData?: unknown }));
  if (errs.length) throw invalidObject(kind, typeof obj.metadata?.name === 'string' ? obj.metadata.name : '', errs);
}

const WEBHOOK_GROUPS = new Set(['serving.knative.dev', 'autoscaling.internal.knative.dev']);

/**
 * Runs admission. A 422 from Knative's rules is reported the way Kubernetes relays a validating
 * webhook's denial, so kubectl prints exactly what it prints against Knative.
 */
export async function runAdmission(admit: AdmitFn, kind: ResourceKind, obj: KObject, old: KObject | undefined): Promise<KObject> {
  try {
    return await admit(kind, obj, old);
  } catch (e) {
    if (e instanceof ApiError && e.code === 422 && e.reason === 'Invalid' && WEBHOOK_GROUPS.has(kind.group)) {
      throw new ApiError(
        400,
        'BadRequest',
        `admission webhook "validation.webhook.serving.knative.dev" denied the request: validation failed: ${e.message}`,
        e.details?.causes ? { causes: e.details.causes } : undefined,
      );
    }
    throw e;
  }
}

/** Converts between served versions; core kinds have one version, so they pass through. */
export function toVersion(convert: ConvertFn, kind: ResourceKind, obj: KObject, version: string): KObject {
  const want = apiVersionOf(kind, version);
  const out = obj.apiVersion === want ? obj : convert(obj, want);
  return out.kind ? out : { ...out, kind: kind.kind };
}
