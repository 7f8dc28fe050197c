// The ConfigMaps and Secrets a revision's pod spec reads (env valueFrom, envFrom, configMap /
// secret / projected volumes), and the seam through which a runtime reads them. Pure: the
// revision controller indexes revisions by these references (so a ConfigMap change finds the
// revisions it affects), and the local runtime resolves them when an instance starts.

import type { Container, RevisionSpec } from '../api/types.js';

export type ConfigKind = 'ConfigMap' | 'Secret';

export interface ConfigRef {
  kind: ConfigKind;
  name: string;
}

/** Decoded key → bytes of a ConfigMap (data and binaryData) or a Secret (data, base64 decoded). */
export type ConfigData = ReadonlyMap<string, Buffer>;

export interface ConfigLookup {
  /** undefined: no such object in the namespace. */
  get(kind: ConfigKind, namespace: string, name: string): ConfigData | undefined;
}

/** A lookup that also says when an object changed (created, updated, deleted). */
export interface ConfigSource extends ConfigLookup {
  onChange(listener: (kind: ConfigKind, namespace: string, name: string) => void): () => void;
}

const isObject = (v: unknown): v is Record<string, any> => typeof v === 'object' && v !== null && !Array.isArray(v);
const list = (v: unknown): any[] => (Array.isArray(v) ? v : []);
const named = (v: unknown): string | undefined => (isObject(v) && typeof v.name === 'string' && v.name !== '' ? v.name : undefined);

function containerRefs(c: Container, out: ConfigRef[]): void {
  for (const from of list(c.envFrom)) {
    const cm = named(from?.configMapRef);
    if (cm) out.push({ kind: 'ConfigMap', name: cm });
    const s = named(from?.secretRef);
    if (s) out.push({ kind: 'Secret', name: s });
  }
  for (const e of list(c.env)) {
    const cm = named(e?.valueFrom?.configMapKeyRef);
    if (cm) out.push({ kind: 'ConfigMap', name: cm });
    const s = named(e?.valueFrom?.secretKeyRef);
    if (s) out.push({ kind: 'Secret', name: s });
  }
}

/** Every ConfigMap and Secret the pod spec names, each once. */
export function configRefs(spec: RevisionSpec | undefined): ConfigRef[] {
  const out: ConfigRef[] = [];
  for (const c of [...list(spec?.containers), ...list(spec?.initContainers)]) if (isObject(c)) containerRefs(c, out);
  for (const v of list(spec?.volumes)) {
    const cm = named(v?.configMap);
    if (cm) out.push({ kind: 'ConfigMap', name: cm });
    if (isObject(v?.secret) && typeof v.secret.secretName === 'string' && v.secret.secretName)
      out.push({ kind: 'Secret', name: v.secret.secretName });
    for (const src of list(v?.projected?.sources)) {
      const pcm = named(src?.configMap);
      if (pcm) out.push({ kind: 'ConfigMap', name: pcm });
      const ps = named(src?.secret);
      if (ps) out.push({ kind: 'Secret', name: ps });
    }
  }
  const seen = new Set<string>();
  return out.filter((r) => {
    const k = `${r.kind}/${r.name}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** The key a revision is indexed under for one reference: "ns/ConfigMap/name". */
export const configRefKey = (namespace: string, kind: ConfigKind, name: string): string => `${namespace}/${kind}/${name}`;

/** A ConfigMap's or Secret's stored object as the bytes of each key (binaryData and Secret data are base64). */
export function configDataOf(kind: ConfigKind, obj: { data?: unknown; binaryData?: unknown }): ConfigData {
  const out = new Map<string, Buffer>();
  if (isObject(obj.data)) {
    for (const [k, v] of Object.entries(obj.data)) {
      if (typeof v !== 'string') continue;
      out.set(k, kind === 'Secret' ? Buffer.from(v, 'base64') : Buffer.from(v, 'utf8'));
    }
  }
  if (kind === 'ConfigMap' && isObject(obj.binaryData)) {
    for (const [k, v] of Object.entries(obj.binaryData)) if (typeof v === 'string') out.set(k, Buffer.from(v, 'base64'));
  }
  return out;
}
