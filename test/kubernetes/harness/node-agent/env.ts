// A container's environment as the kubelet builds it: envFrom (ConfigMaps, Secrets, with prefix),
// then env in order with `value` ($(VAR) expanded against what came before), `fieldRef` (downward
// API: metadata.*, spec.nodeName, spec.serviceAccountName, status.podIP, status.hostIP), and
// `configMapKeyRef` / `secretKeyRef` (optional honoured). Lookups are injected, so this is pure.
// A missing reference is the kubelet's CreateContainerConfigError, with its wording.

import { expandVars, PASSTHROUGH_ENV } from '../../../../src/runtime/local/env.js';

export interface EnvSource {
  configMap(namespace: string, name: string): Promise<Record<string, string> | undefined>;
  /** values already decoded from base64 */
  secret(namespace: string, name: string): Promise<Record<string, string> | undefined>;
}

export interface PodFacts {
  namespace: string;
  name: string;
  uid: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  nodeName: string;
  serviceAccountName: string;
  podIp: string;
  hostIp: string;
}

export class ConfigError extends Error {}

function fieldValue(path: string, pod: PodFacts): string {
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
      return pod.podIp;
    case 'status.hostIP':
    case 'status.hostIPs':
      return pod.hostIp;
    default:
      throw new ConfigError(`unsupported fieldRef fieldPath "${path}"`);
  }
}

/**
 * Resolves a container's env: PATH, HOME... (what any process needs), then `base` (the image
 * mapping's env and the apiserver's service variables), then envFrom, then env.
 */
export async function resolveEnv(
  container: { env?: any[]; envFrom?: any[] },
  pod: PodFacts,
  source: EnvSource,
  base: Record<string, string>,
): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  for (const k of PASSTHROUGH_ENV) if (process.env[k] !== undefined) env[k] = process.env[k]!;
  Object.assign(env, base);
  for (const from of container.envFrom ?? []) {
    const ref = from.configMapRef ?? from.secretRef;
    const kind = from.configMapRef ? 'configmap' : 'secret';
    const data = from.configMapRef ? await source.configMap(pod.namespace, ref.name) : await source.secret(pod.namespace, ref.name);
    if (!data) {
      if (ref.optional) continue;
      throw new ConfigError(`${kind} "${ref.name}" not found`);
    }
    for (const [k, v] of Object.entries(data)) env[`${from.prefix ?? ''}${k}`] = v;
  }
  for (const e of container.env ?? []) {
    if (e.value !== undefined || !e.valueFrom) {
      env[e.name] = expandVars(String(e.value ?? ''), env);
      continue;
    }
    const vf = e.valueFrom;
    if (vf.fieldRef) {
      env[e.name] = fieldValue(vf.fieldRef.fieldPath, pod);
    } else if (vf.configMapKeyRef || vf.secretKeyRef) {
      const ref = vf.configMapKeyRef ?? vf.secretKeyRef;
      const kind = vf.configMapKeyRef ? 'configmap' : 'secret';
      const data = vf.configMapKeyRef ? await source.configMap(pod.namespace, ref.name) : await source.secret(pod.namespace, ref.name);
      if (!data) {
        if (ref.optional) continue;
        throw new ConfigError(`${kind} "${ref.name}" not found`);
      }
      if (!(ref.key in data)) {
        if (ref.optional) continue;
        throw new ConfigError(
          `couldn't find key ${ref.key} in ${kind === 'configmap' ? 'ConfigMap' : 'Secret'} ${pod.namespace}/${ref.name}`,
        );
      }
      env[e.name] = data[ref.key];
    } else {
      throw new ConfigError(`env ${e.name}: this test node supports fieldRef, configMapKeyRef and secretKeyRef only`);
    }
  }
  return env;
}
