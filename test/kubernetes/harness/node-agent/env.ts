// A container's environment as the kubelet builds it: envFrom (ConfigMaps, Secrets, with prefix),
// then env in order with `value` ($(VAR) expanded against what came before), `fieldRef` (downward
// API: metadata.*, spec.nodeName, spec.serviceAccountName, status.podIP, status.hostIP), and
// `configMapKeyRef` / `secretKeyRef` (optional honoured), resolved by the local runtime's own code.
// A missing reference is the kubelet's CreateContainerConfigError, with its wording.

import { configRefs } from '../../../../src/runtime/config-refs.js';
import { ConfigError as RuntimeConfigError, resolveContainerEnv, type PodFacts } from '../../../../src/runtime/local/config-env.js';
import { expandVars, PASSTHROUGH_ENV } from '../../../../src/runtime/local/env.js';

export interface EnvSource {
  configMap(namespace: string, name: string): Promise<Record<string, string> | undefined>;
  /** values already decoded from base64 */
  secret(namespace: string, name: string): Promise<Record<string, string> | undefined>;
}

export class ConfigError extends Error {}

/**
 * Resolves a container's env: PATH, HOME... (what any process needs), then `base` (the image
 * mapping's env and the apiserver's service variables), then envFrom, then env — the local
 * runtime's resolution (src/runtime/local/config-env.ts) over objects fetched from the apiserver.
 */
export async function resolveEnv(
  container: { env?: any[]; envFrom?: any[] },
  pod: PodFacts,
  source: EnvSource,
  base: Record<string, string>,
): Promise<Record<string, string>> {
  const fetched = new Map<string, Map<string, Buffer>>();
  for (const ref of configRefs({ containers: [container] })) {
    const data = ref.kind === 'ConfigMap' ? await source.configMap(pod.namespace, ref.name) : await source.secret(pod.namespace, ref.name);
    if (data) fetched.set(`${ref.kind}/${ref.name}`, new Map(Object.entries(data).map(([k, v]) => [k, Buffer.from(v)])));
  }
  let entries;
  try {
    entries = resolveContainerEnv(container, pod.namespace, { get: (kind, _ns, name) => fetched.get(`${kind}/${name}`) }, pod);
  } catch (err) {
    throw err instanceof RuntimeConfigError ? new ConfigError(err.message) : err;
  }
  const env: Record<string, string> = {};
  for (const k of PASSTHROUGH_ENV) if (process.env[k] !== undefined) env[k] = process.env[k]!;
  Object.assign(env, base);
  for (const e of entries) env[e.name] = e.expand ? expandVars(e.value, env) : e.value;
  return env;
}
