// Kubernetes' own rules for the core kinds Sluice serves next to Knative's: ConfigMap and Secret
// keys, Secret data as base64 with stringData merged in on write (and never stored), the default
// Secret type, immutable ConfigMaps/Secrets, and the 1 MiB size limit. Wraps the admission hook,
// so Knative's rules stay in src/api and these run for kinds of the core group only.

import { badRequest } from '../api/errors.js';
import type { ResourceKind } from '../api/registry.js';
import type { KObject } from '../api/types.js';
import { invalidObject, type AdmitFn } from './objects.js';

const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;
const MAX_DATA_BYTES = 1024 * 1024;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

type Cause = { field: string; message: string };

function keyCauses(field: string, map: unknown): Cause[] {
  if (map === null || typeof map !== 'object') return [];
  const out: Cause[] = [];
  for (const k of Object.keys(map)) {
    if (CONFIG_KEY.test(k) && k.length <= 253 && k !== '.' && k !== '..') continue;
    out.push({
      field: `${field}[${k}]`,
      message: `Invalid value: "${k}": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')`,
    });
  }
  return out;
}

/** The byte offset Go's base64 decoder reports for the first bad character, or -1 when valid. */
export function base64Error(s: string): number {
  if (BASE64.test(s) && s.length % 4 === 0) return -1;
  const bad = s.search(/[^A-Za-z0-9+/=]/);
  if (bad >= 0) return bad;
  // Wrong padding or length: Go reports the end of the last full quantum.
  return Math.floor(s.length / 4) * 4;
}

function dataBytes(obj: KObject): number {
  let n = 0;
  for (const field of ['data', 'binaryData']) {
    const map = obj[field] as Record<string, string> | undefined;
    for (const [k, v] of Object.entries(map ?? {}))
      n += k.length + (obj.kind === 'Secret' || field === 'binaryData' ? Math.floor((v.length * 3) / 4) : Buffer.byteLength(v));
  }
  return n;
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
  if (kind.kind === 'Secret') prepareSecret(obj);
  const causes = [...keyCauses('data', obj.data), ...keyCauses('binaryData', obj.binaryData)];
  if (kind.kind === 'ConfigMap') {
    for (const k of Object.keys((obj.data as object) ?? {})) {
      if (Object.prototype.hasOwnProperty.call(obj.binaryData ?? {}, k)) {
        causes.push({ field: `data[${k}]`, message: `Invalid value: "${k}": duplicate of key present in binaryData` });
      }
    }
  }
  if (dataBytes(obj) > MAX_DATA_BYTES) causes.push({ field: 'data', message: `Too long: must have at most ${MAX_DATA_BYTES} bytes` });
  if (old) causes.push(...immutableCauses(obj, old));
  if (causes.length) throw invalidObject(kind, obj.metadata.name ?? '', causes);
  return obj;
}

/** Runs the core rules before the given admission hook. */
export function withCoreAdmission(inner: AdmitFn): AdmitFn {
  return (kind, obj, old) => inner(kind, admitCore(kind, obj, old), old);
}
