// Where the control-plane binaries are, following envtest's conventions: TEST_ASSET_<NAME> (e.g.
// TEST_ASSET_KUBE_APISERVER) wins, then KUBEBUILDER_ASSETS/<name>, then the cache that
// test/kubernetes/build-control-plane.sh fills (${SLUICE_K8S_CACHE:-~/.cache/sluice/kubernetes}/v1.37.2/bin).
// Also decides whether the Kubernetes suite can run here, and says why not when it cannot.

import { accessSync, constants } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const KUBERNETES_VERSION = process.env.SLUICE_K8S_VERSION ?? 'v1.37.2';

export type Binary = 'etcd' | 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler' | 'kubectl' | 'metrics-server';

export const REQUIRED: readonly Binary[] = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler'];

export function cacheBinDir(): string {
  const cache = process.env.SLUICE_K8S_CACHE ?? join(homedir(), '.cache', 'sluice', 'kubernetes');
  return join(cache, KUBERNETES_VERSION, 'bin');
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The path of a binary, or undefined when it is nowhere. */
export function findBinary(name: Binary): string | undefined {
  const override = process.env[`TEST_ASSET_${name.toUpperCase().replace(/-/g, '_')}`];
  if (override) return override;
  for (const dir of [process.env.KUBEBUILDER_ASSETS, cacheBinDir()]) {
    if (dir && executable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/** kubectl matching the control plane when it was built, else the machine's own. */
export function kubectlBinary(): string {
  return process.env.KUBECTL ?? findBinary('kubectl') ?? '/usr/bin/kubectl';
}

export type Availability =
  | { mode: 'harness'; bin: Record<Binary, string | undefined> }
  | { mode: 'existing'; kubeconfig: string }
  | { mode: 'skip'; reason: string };

/**
 * Whether the Kubernetes suite runs: only under `npm run test:kubernetes` (which sets
 * SLUICE_TEST_KUBERNETES=1), and then against SLUICE_TEST_KUBECONFIG's cluster or a harness built
 * from the binaries above (root is needed for network namespaces).
 */
export function kubernetesAvailability(): Availability {
  if (process.env.SLUICE_TEST_KUBERNETES !== '1') {
    return { mode: 'skip', reason: 'the Kubernetes suite runs with `npm run test:kubernetes` (see docs/kubernetes.md)' };
  }
  if (process.env.SLUICE_TEST_KUBECONFIG) return { mode: 'existing', kubeconfig: process.env.SLUICE_TEST_KUBECONFIG };
  const bin = Object.fromEntries(
    (['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubectl', 'metrics-server'] as const).map((b) => [
      b,
      findBinary(b),
    ]),
  ) as Record<Binary, string | undefined>;
  const missing = REQUIRED.filter((b) => !bin[b]);
  if (missing.length) {
    return {
      mode: 'skip',
      reason:
        `no ${missing.join(', ')} in ${process.env.KUBEBUILDER_ASSETS ?? cacheBinDir()} ` +
        `(build them with test/kubernetes/build-control-plane.sh, or set SLUICE_TEST_KUBECONFIG)`,
    };
  }
  if (process.getuid?.() !== 0) return { mode: 'skip', reason: 'the harness needs root for network namespaces (ip netns)' };
  return { mode: 'harness', bin };
}
