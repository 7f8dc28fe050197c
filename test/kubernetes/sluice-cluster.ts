// Sluice on the harness's control plane: installs config/ (namespaces, CRDs, ConfigMaps) with
// kubectl and starts `sluice controller` inside the run's network namespace (so the API server
// reaches its webhook and its gateway reaches pod IPs), and sends requests through that gateway
// from the test process over a forwarded port.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { projectRoot } from '../../src/server.js';
import { httpGet } from '../support/http.js';
import { waitFor } from '../support/poll.js';
import type { KubernetesHarness } from './harness/index.js';
import { BRIDGE_IP } from './harness/netns.js';
import type { Started } from './harness/processes.js';

export const CONFIG_DIR = join(projectRoot, 'config');

export async function kubectlOk(k: KubernetesHarness, args: string[], input?: string): Promise<string> {
  const r = await k.kubectl(args, { input });
  assert.equal(r.code, 0, `kubectl ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/** kubectl apply of Sluice's namespaces, CRDs and ConfigMaps; waits until the CRDs are served. */
export async function installSluice(k: KubernetesHarness): Promise<void> {
  for (const f of ['100-namespace.yaml', '300-crds.yaml', '400-config.yaml']) await kubectlOk(k, ['apply', '-f', join(CONFIG_DIR, f)]);
  await kubectlOk(k, ['wait', '--for=condition=Established', '--timeout=60s', 'crd', '-l', 'app.kubernetes.io/part-of=sluice']);
}

export interface ControllerProcess {
  process: Started;
  identity: string;
  gatewayPort: number;
  webhookPort: number;
}

export function startController(
  k: KubernetesHarness,
  o: { identity: string; gatewayPort: number; webhookPort: number; autoscaler?: Record<string, string> },
): ControllerProcess {
  const argv = [
    process.execPath,
    join(projectRoot, 'bin', 'sluice.js'),
    'controller',
    '--kubeconfig',
    k.kubeconfigInNetns,
    '--host',
    '0.0.0.0',
    '--gateway-port',
    String(o.gatewayPort),
    // Two controllers share the netns: the internal listener gets a port of its own beside each gateway.
    '--internal-gateway-port',
    String(o.gatewayPort + 100),
    '--webhook-port',
    String(o.webhookPort),
    '--webhook-url',
    `https://${BRIDGE_IP}:${o.webhookPort}`,
    '--identity',
    o.identity,
    '--lease-duration',
    '6',
    '--renew-deadline',
    '4',
    '--retry-period',
    '1',
    ...Object.entries(o.autoscaler ?? {}).flatMap(([key, v]) => ['--autoscaler-config', `${key}=${v}`]),
  ];
  return { process: k.spawn(`sluice-${o.identity}`, argv), identity: o.identity, gatewayPort: o.gatewayPort, webhookPort: o.webhookPort };
}

export async function leaseHolder(k: KubernetesHarness): Promise<string | undefined> {
  const r = await k.kubectl(['get', 'lease', '-n', 'sluice-system', 'sluice-controller', '-o', 'jsonpath={.spec.holderIdentity}']);
  return r.code === 0 ? r.stdout.trim() || undefined : undefined;
}

export async function waitForLeader(k: KubernetesHarness, identity: string, timeoutMs = 60_000): Promise<void> {
  await waitFor(`${identity} to hold the Lease`, async () => (await leaseHolder(k)) === identity, timeoutMs, 200);
}

/** A gateway inside the namespace, reachable from the test process. */
export async function gatewayClient(k: KubernetesHarness, port: number) {
  const local = await k.forward(BRIDGE_IP, port);
  return (host: string, path = '/') => httpGet(local, path, { host });
}

/** How many of `n` sequential requests each body got (bodies trimmed). */
export async function shares(get: (host: string) => Promise<{ status: number; body: string }>, host: string, n: number) {
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const r = await get(host);
    const key = r.status === 200 ? r.body.trim() : `HTTP ${r.status}: ${r.body.trim()}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}
