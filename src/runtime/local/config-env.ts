// A container's env and envFrom with their references resolved, as the kubelet builds them when a
// container starts: envFrom first (ConfigMaps and Secrets, every key, with `prefix`), then env in
// order, where `value` is kept for $(VAR) expansion and valueFrom is looked up: configMapKeyRef /
// secretKeyRef (`optional` honoured), fieldRef (the downward API, behind Knative's
// kubernetes.podspec-fieldref flag) and resourceFieldRef. Resolved values are never expanded, as
// in Kubernetes. A missing reference is the kubelet's CreateContainerConfigError, in its words.
// Pure: lookups and the instance's facts are passed in.

import os from 'node:os';
import type { Container } from '../../api/types.js';
import { parseQuantity } from '../../api/quantity.js';
import type { ConfigKind, ConfigLookup } from '../config-refs.js';

/** What the downward API can tell an instance about itself. */
export interface PodFacts {
  namespace: string;
  /** The instance id (a pod's name). */
  name: string;
  uid: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  nodeName: string;
  serviceAccountName: string;
  podIP: string;
  hostIP: string;
}

/** One variable for the environment; `expand` marks a literal `value` whose $(VAR)s are expanded. */
export interface EnvEntry {
  name: string;
  value: string;
  expand: boolean;
}

/** The spec cannot be started now (a ConfigMap, Secret or key is missing); retried later. */
export class ConfigError extends Error {
  constructor(
    readonly reason: 'CreateContainerConfigError' | 'FailedMount',
    message: string,
  ) {
    super(message);
  }
}

const lower = (k: ConfigKind) => (k === 'ConfigMap' ? 'configmap' : 'secret');

/** The kubelet's "not found", e.g. `configmap "app" not found`. */
export const notFoundMessage = (kind: ConfigKind, name: string): string => `${lower(kind)} "${name}" not found`;

function fieldValue(fieldPath: unknown, pod: PodFacts): string {
  const path = String(fieldPath ?? '');
  const keyed = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (keyed) return (keyed[1] === 'labels' ? pod.labels : pod.annotations)[keyed[2]] ?? '';
  switch (path) {
    case 'metadata.name':
      return pod.name;
    case 'metadata.namespace':
      return pod.namespace;
    case 'metadata.uid':
      return pod.uid;
    case 'spec.nodeName':
      return pod.nodeName;
    case 'spec.serviceAccountName':
      return pod.serviceAccountName;
    case 'status.podIP':
    case 'status.podIPs':
      return pod.podIP;
    case 'status.hostIP':
    case 'status.hostIPs':
      return pod.hostIP;
    default:
      throw new ConfigError('CreateContainerConfigError', `unsupported fieldRef fieldPath "${path}"`);
  }
}

/**
 * resourceFieldRef: the container's limit or request in units of `divisor` (rounded up, as the
 * kubelet does). An unset limit is the machine's capacity (the node's allocatable); an unset
 * request is the limit when one is set, else 0.
 */
export function resourceValue(ref: { resource?: unknown; divisor?: unknown }, c: Container): string {
  const resource = String(ref.resource ?? '');
  const m = /^(limits|requests)\.(cpu|memory|ephemeral-storage)$/.exec(resource);
  if (!m) throw new ConfigError('CreateContainerConfigError', `unsupported resourceFieldRef resource "${resource}"`);
  const [, which, name] = m as unknown as [string, 'limits' | 'requests', string];
  const parse = (q: unknown): number | undefined => {
    if (q === undefined || q === null || q === '') return undefined;
    const p = parseQuantity(String(q));
    return p.ok ? p.value : undefined;
  };
  const capacity = name === 'cpu' ? os.cpus().length : name === 'memory' ? os.totalmem() : Number.MAX_SAFE_INTEGER;
  const limit = parse(c.resources?.limits?.[name]);
  const value = which === 'limits' ? (limit ?? capacity) : (parse(c.resources?.requests?.[name]) ?? limit ?? 0);
  const divisor = parse(ref.divisor) || 1;
  return String(Math.ceil(value / divisor));
}

function lookupRef(
  kind: ConfigKind,
  ref: Record<string, unknown>,
  namespace: string,
  lookup: ConfigLookup,
): { data?: ReadonlyMap<string, Buffer>; skip: boolean } {
  const name = String(ref.name ?? '');
  const data = lookup.get(kind, namespace, name);
  if (data) return { data, skip: false };
  if (ref.optional === true) return { skip: true };
  throw new ConfigError('CreateContainerConfigError', notFoundMessage(kind, name));
}

/**
 * The container's variables in the kubelet's order (later entries win). Throws ConfigError when a
 * non-optional reference is missing.
 */
export function resolveContainerEnv(c: Container, namespace: string, lookup: ConfigLookup, pod: PodFacts): EnvEntry[] {
  const out: EnvEntry[] = [];
  for (const from of Array.isArray(c.envFrom) ? (c.envFrom as Record<string, any>[]) : []) {
    const kind: ConfigKind = from?.configMapRef ? 'ConfigMap' : 'Secret';
    const ref = from?.configMapRef ?? from?.secretRef;
    if (!ref) continue;
    const { data } = lookupRef(kind, ref, namespace, lookup);
    const prefix = typeof from.prefix === 'string' ? from.prefix : '';
    // Keys that cannot be variable names are skipped, as the kubelet does (with an event there).
    for (const [k, v] of data ?? []) if (!k.includes('=')) out.push({ name: prefix + k, value: v.toString('utf8'), expand: false });
  }
  for (const e of Array.isArray(c.env) ? c.env : []) {
    if (!e || typeof e.name !== 'string' || e.name === '') continue;
    const vf = e.valueFrom as Record<string, any> | undefined;
    if (e.value !== undefined || !vf) {
      out.push({ name: e.name, value: e.value === null || e.value === undefined ? '' : String(e.value), expand: true });
      continue;
    }
    if (vf.fieldRef) {
      out.push({ name: e.name, value: fieldValue(vf.fieldRef.fieldPath, pod), expand: false });
    } else if (vf.resourceFieldRef) {
      out.push({ name: e.name, value: resourceValue(vf.resourceFieldRef, c), expand: false });
    } else if (vf.configMapKeyRef || vf.secretKeyRef) {
      const kind: ConfigKind = vf.configMapKeyRef ? 'ConfigMap' : 'Secret';
      const ref = vf.configMapKeyRef ?? vf.secretKeyRef;
      const { data, skip } = lookupRef(kind, ref, namespace, lookup);
      if (skip || !data) continue;
      const value = data.get(String(ref.key));
      if (value === undefined) {
        if (ref.optional === true) continue;
        throw new ConfigError('CreateContainerConfigError', `couldn't find key ${ref.key} in ${kind} ${namespace}/${ref.name}`);
      }
      out.push({ name: e.name, value: value.toString('utf8'), expand: false });
    }
  }
  return out;
}

export { fieldValue as downwardFieldValue };
