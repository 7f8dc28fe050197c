// Resource metrics end to end on the harness: the test node's /metrics/resource, scraped by the real
// metrics-server, served through the aggregated metrics.k8s.io API (`kubectl top`), and acted on by
// the real HPA controller: CPU load on the example app scales its Deployment out.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { REST_API_IMAGE } from '../../src/runtime/image-map.js';
import { waitFor } from '../support/poll.js';
import { findBinary, kubernetesAvailability } from './harness/assets.js';
import { startKubernetes, type KubernetesHarness } from './harness/index.js';

const availability = kubernetesAvailability();
const skip =
  availability.mode === 'skip'
    ? availability.reason
    : availability.mode === 'harness' && !findBinary('metrics-server')
      ? 'no metrics-server binary (test/kubernetes/build-control-plane.sh builds it)'
      : false;

const NS = 'metrics-test';

describe('metrics-server and the HPA controller on the harness', { skip }, () => {
  let k: KubernetesHarness;
  before(async () => {
    k = await startKubernetes({ metricsServer: true });
  });
  after(async () => {
    await k?.stop();
  });

  const kubectl = async (args: string[], input?: string): Promise<string> => {
    const r = await k.kubectl(args, { input });
    assert.equal(r.code, 0, `kubectl ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  };

  test('kubectl top shows the node and a pod; CPU load makes the HPA scale the Deployment out', async () => {
    await kubectl(['create', 'namespace', NS]);
    await kubectl(['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'burn', namespace: NS },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'burn' } },
        template: {
          metadata: { labels: { app: 'burn' } },
          spec: {
            containers: [{
              name: 'app',
              image: REST_API_IMAGE,
              env: [{ name: 'PORT', value: '8080' }, { name: 'RESOURCE', value: 'burn' }],
              resources: { requests: { cpu: '100m' } },
            }],
          },
        },
      },
    })); // prettier-ignore
    const pod = await waitFor(
      'the pod to run',
      async () => {
        const list = JSON.parse(await kubectl(['get', 'pods', '-n', NS, '-o', 'json'])).items as any[];
        return list.find((p) => p.status.phase === 'Running' && p.status.podIP);
      },
      60_000,
      250,
    );
    const top = await waitFor(
      'kubectl top pod to report the pod',
      async () => {
        const r = await k.kubectl(['top', 'pod', '-n', NS, '--no-headers']);
        return r.code === 0 && r.stdout.includes(pod.metadata.name) ? r.stdout : undefined;
      },
      90_000,
      1000,
    );
    assert.match(top, /\d+m\s+\d+Mi/);
    assert.match(await kubectl(['top', 'node', '--no-headers']), new RegExp(`^${k.nodeName}\\s+\\d+m`, 'm'));

    await kubectl(['autoscale', 'deployment/burn', '-n', NS, '--cpu=50%', '--min=1', '--max=3']);
    // Load: one request at a time, each burning 200 ms of CPU, from inside the namespace.
    const ip = pod.status.podIP as string;
    const load = k.spawn('load', ['sh', '-c', `while true; do curl -s -m 5 -o /dev/null "http://${ip}:8080/burn?ms=200"; done`]);
    try {
      await waitFor(
        'the HPA to scale the Deployment above 1 replica',
        async () => {
          const d = JSON.parse(await kubectl(['get', 'deployment', 'burn', '-n', NS, '-o', 'json']));
          return d.spec.replicas > 1;
        },
        120_000,
        1000,
      );
      const hpa = JSON.parse(await kubectl(['get', 'hpa', 'burn', '-n', NS, '-o', 'json']));
      assert.ok(hpa.status.currentMetrics?.[0]?.resource?.current?.averageUtilization > 50, JSON.stringify(hpa.status));
    } finally {
      try {
        process.kill(load.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
});
