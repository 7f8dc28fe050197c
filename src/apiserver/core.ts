// Kubernetes' own rules for the core kinds Sluice serves next to Knative's: Secret data as base64
// with stringData merged in on write (and never stored), the default Secret type, Secret keys and
// the 1 MiB limit, immutable ConfigMaps/Secrets (ConfigMap keys are checked in objects.ts). Wraps
// the admission hook, so Knative's rules stay in src/api and these run for core kinds only.

import { badRequest } from '../api/errors.js';
import { CONFIG_MAP_SIZE_LIMIT, isConfigMapKey } from '../api/object-meta.js';
import type { ResourceKind } from '../api/registry.js';
import type { KObject } from '../api/types.js';
import { invalidObject, type AdmitFn } from './objects.js';

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

type Cause = { field: string; message: string };

/** The byte offset Go's base64 decoder reports for the first bad character, or -1 when valid. */
export function base64Error(s: string): number {
  if (BASE64.test(s) && s.length % 4 === 0) return -1;
  const bad = s.search(/[^A-Za-z0-9+/=]/);
  if (bad >= 0) return bad;
  // Wrong padding or length: Go reports the end of the last full quantum.
  return Math.floor(s.length / 4) * 4;
}

/** A Secret's keys follow ConfigMap's rule; its 1 MiB limit counts the decoded bytes. */
function secretCauses(obj: KObject): Cause[] {
  const causes: Cause[] = [];
  let total = 0;
  for (const [k, v] of Object.entries((obj.data as Record<string, string> | undefined) ?? {})) {
    for (const why of isConfigMapKey(k)) causes.push({ field: `data[${k}]`, message: `Invalid value: "${k}": ${why}` });
    total += Buffer.from(v, 'base64').length;
  }
  if (total > CONFIG_MAP_SIZE_LIMIT) causes.push({ field: 'data', message: `Too long: must have at most ${CONFIG_MAP_SIZE_LIMIT} bytes` });
  return causes;
}

/** Secrets: stringData is merged into data (base64) and dropped, as the API server does. */
function prepareSecret(obj: KObject): void {
  const data: Record<string, string> = { ...((obj.data as Record<string, string> | undefined) ?? {}) };
  for (const v of Object.values(data)) {
    const at = base64Error(v);
    if (at >= 0) throw badRequest(`Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte ${at}`);
  }
  const stringData = obj.stringData as Record<string, string> | undefined;
  if (stringData) for (const [k, v] of Object.entries(stringData)) data[k] = Buffer.from(v, 'utf8').toString('base64');
  delete obj.stringData;
  if (Object.keys(data).length || obj.data !== undefined) obj.data = data;
  if (obj.type === undefined || obj.type === '') obj.type = 'Opaque';
}

function immutableCauses(obj: KObject, old: KObject): Cause[] {
  const out: Cause[] = [];
  if (old.immutable === true) {
    if (obj.immutable !== true) out.push({ field: 'immutable', message: 'Forbidden: field is immutable when `immutable` is set' });
    for (const f of ['data', 'binaryData']) {
      if (JSON.stringify(obj[f] ?? {}) !== JSON.stringify(old[f] ?? {})) {
        out.push({ field: f, message: 'Forbidden: field is immutable when `immutable` is set' });
      }
    }
  }
  if (obj.kind === 'Secret' && old.type !== undefined && obj.type !== old.type) {
    out.push({ field: 'type', message: `Invalid value: "${String(obj.type)}": field is immutable` });
  }
  return out;
}

export function admitCore(kind: ResourceKind, obj: KObject, old: KObject | undefined): KObject {
  if (kind.group !== '' || (kind.kind !== 'Secret' && kind.kind !== 'ConfigMap')) return obj;
  // ConfigMap keys and size are checked with every object's metadata (objects.ts).
  const causes: Cause[] = [];
  if (kind.kind === 'Secret') {
    prepareSecret(obj);
    causes.push(...secretCauses(obj));
  }
  if (old) causes.push(...immutableCauses(obj, old));
  if (causes.length) throw invalidObject(kind, obj.metadata.name ?? '', causes);
  return obj;
}

/** Runs the core rules before the given admission hook. */
export function withCoreAdmission(inner: AdmitFn): AdmitFn {
  return (kind, obj, old) => inner(kind, admitCore(kind, obj, old), old);
}
