// metrics-server for the harness: the real binary (build-control-plane.sh) runs inside the run's
// namespace on the node's address, scrapes the test node's /metrics/resource, and is registered as
// the aggregated API metrics.k8s.io the way its manifests do it — a Service (here without a selector,
// with an EndpointSlice pointing at the process) and an APIService — so the HPA controller and
// `kubectl top` read real pod metrics through the apiserver.

import type { KubeRest } from './kube-rest.js';
import { BRIDGE_IP } from './netns.js';
import type { Pki } from './pki.js';
import { lastLines, type Started } from './processes.js';

export const METRICS_SERVER_PORT = 4443;

export async function startMetricsServer(o: {
  binary: string;
  api: KubeRest;
  pki: Pki;
  kubeconfig: string;
  startIn(name: string, argv: string[]): Started;
  log(name: string): string;
}): Promise<void> {
  const p = o.startIn('metrics-server', [
    o.binary,
    `--secure-port=${METRICS_SERVER_PORT}`,
    `--bind-address=${BRIDGE_IP}`,
    `--tls-cert-file=${o.pki.crt('metrics-server')}`,
    `--tls-private-key-file=${o.pki.key('metrics-server')}`,
    `--kubeconfig=${o.kubeconfig}`,
    `--authentication-kubeconfig=${o.kubeconfig}`,
    `--authorization-kubeconfig=${o.kubeconfig}`,
    '--kubelet-insecure-tls',
    '--kubelet-preferred-address-types=InternalIP',
    '--kubelet-use-node-status-port',
    '--metric-resolution=10s',
    '--kubelet-request-timeout=5s',
  ]);
  const api = o.api;
  const apply = async (path: string, body: any): Promise<void> => {
    const r = await api.request('POST', path, body);
    if (r.status !== 201 && r.status !== 409) throw new Error(`metrics-server registration: POST ${path}: ${r.status} ${r.body?.message}`);
  };
  await apply('/api/v1/namespaces/kube-system/services', {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'metrics-server', namespace: 'kube-system', labels: { 'k8s-app': 'metrics-server' } },
    spec: { ports: [{ name: 'https', port: 443, targetPort: METRICS_SERVER_PORT, protocol: 'TCP' }] },
  });
  await apply('/apis/discovery.k8s.io/v1/namespaces/kube-system/endpointslices', {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: 'metrics-server-harness',
      namespace: 'kube-system',
      labels: { 'kubernetes.io/service-name': 'metrics-server', 'endpointslice.kubernetes.io/managed-by': 'sluice-test-harness' },
    },
    addressType: 'IPv4',
    endpoints: [{ addresses: [BRIDGE_IP], conditions: { ready: true } }],
    ports: [{ name: 'https', port: METRICS_SERVER_PORT, protocol: 'TCP' }],
  });
  await apply('/apis/apiregistration.k8s.io/v1/apiservices', {
    apiVersion: 'apiregistration.k8s.io/v1',
    kind: 'APIService',
    metadata: { name: 'v1beta1.metrics.k8s.io', labels: { 'k8s-app': 'metrics-server' } },
    spec: {
      service: { name: 'metrics-server', namespace: 'kube-system', port: 443 },
      group: 'metrics.k8s.io',
      version: 'v1beta1',
      insecureSkipTLSVerify: true,
      groupPriorityMinimum: 100,
      versionPriority: 100,
    },
  });
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (p.done) throw new Error(`metrics-server exited:\n${lastLines(o.log('metrics-server'))}`);
    const r = await api.request('GET', '/apis/apiregistration.k8s.io/v1/apiservices/v1beta1.metrics.k8s.io');
    if (r.body?.status?.conditions?.some((c: any) => c.type === 'Available' && c.status === 'True')) return;
    if (Date.now() > deadline) {
      throw new Error(`metrics.k8s.io did not become Available: ${JSON.stringify(r.body?.status)}\n${lastLines(o.log('metrics-server'))}`);
    }
    await new Promise((res) => setTimeout(res, 250));
  }
}
