// The hpa class on a real control plane: the Revision's PodAutoscaler gets a real autoscaling/v2
// HorizontalPodAutoscaler built like Knative's, owned by it and aimed at the revision's Deployment;
// with metrics-server reading the node's pod CPU, CPU load sent through Sluice's gateway makes the
// real HPA controller scale the Deployment out.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { REST_API_IMAGE } from '../../src/runtime/image-map.js';
import { waitFor } from '../support/poll.js';
import { findBinary, kubernetesAvailability } from './harness/assets.js';
import { startKubernetes, type KubernetesHarness } from './harness/index.js';
import { BRIDGE_IP } from './harness/netns.js';
import { stopProcess } from './harness/processes.js';
import { installSluice, kubectlOk, startController, waitForLeader, type ControllerProcess } from './sluice-cluster.js';

const availability = kubernetesAvailability();
const skip =
  availability.mode === 'skip'
    ? availability.reason
    : availability.mode === 'harness' && !findBinary('metrics-server')
      ? 'no metrics-server binary (test/kubernetes/build-control-plane.sh builds it)'
      : false;

const service = `apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: burn, namespace: default}
spec:
  template:
    metadata:
      annotations:
        autoscaling.knative.dev/class: hpa.autoscaling.knative.dev
        autoscaling.knative.dev/metric: cpu
        autoscaling.knative.dev/target: "50"
        autoscaling.knative.dev/min-scale: "1"
        autoscaling.knative.dev/max-scale: "3"
    spec:
      containers:
        - image: ${REST_API_IMAGE}
          env: [{name: RESOURCE, value: burn}]
          resources: {requests: {cpu: 100m}}
`;

describe('the hpa class on a real control plane', { skip }, () => {
  let k: KubernetesHarness;
  let c: ControllerProcess;
  before(async () => {
    k = await startKubernetes({ metricsServer: true });
    await installSluice(k);
    c = startController(k, { identity: 'hpa', gatewayPort: 8080, webhookPort: 8443 });
    await waitForLeader(k, 'hpa');
  });
  after(async () => {
    if (c) await stopProcess(c.process, 5000);
    await k?.stop();
  });

  test('a real HPA, owned by the PodAutoscaler, that the HPA controller acts on', async () => {
    await waitFor('the webhook', async () => (await k.kubectl(['apply', '-f', '-'], { input: service })).code === 0, 30_000, 500);
    const hpa = await waitFor(
      'the HPA',
      async () => {
        const r = await k.kubectl(['get', 'hpa', 'burn-00001', '-o', 'json']);
        return r.code === 0 ? JSON.parse(r.stdout) : undefined;
      },
      120_000,
      500,
    );
    const pa = JSON.parse(await kubectlOk(k, ['get', 'podautoscaler', 'burn-00001', '-o', 'json']));
    assert.equal(hpa.metadata.ownerReferences[0].uid, pa.metadata.uid);
    assert.deepEqual(hpa.spec.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: 'burn-00001-deployment' });
    assert.deepEqual(hpa.spec.metrics, [
      { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } } },
    ]);
    assert.equal(hpa.spec.minReplicas, 1);
    assert.equal(hpa.spec.maxReplicas, 3);

    await waitFor(
      'the service ready',
      async () => {
        const s = JSON.parse(await kubectlOk(k, ['get', 'ksvc', 'burn', '-o', 'json']));
        return s.status?.conditions?.find((x: any) => x.type === 'Ready')?.status === 'True';
      },
      120_000,
      500,
    );
    const load = k.spawn('load', [
      'sh',
      '-c',
      `while true; do curl -s -m 5 -o /dev/null -H 'Host: burn.default.example.com' "http://${BRIDGE_IP}:8080/burn?ms=200"; done`,
    ]);
    try {
      await waitFor(
        'the HPA controller to scale the Deployment out',
        async () => {
          const d = JSON.parse(await kubectlOk(k, ['get', 'deployment', 'burn-00001-deployment', '-o', 'json']));
          return d.spec.replicas > 1;
        },
        180_000,
        1000,
      );
      const after = JSON.parse(await kubectlOk(k, ['get', 'hpa', 'burn-00001', '-o', 'json']));
      assert.ok(after.status.currentMetrics?.[0]?.resource?.current?.averageUtilization > 50, JSON.stringify(after.status));
    } finally {
      try {
        process.kill(load.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  });
});
