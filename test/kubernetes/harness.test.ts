// The Kubernetes test harness itself, against the real control plane it starts: the apiserver is
// ready, the test node is Ready, a plain Deployment of the example app gets Running pods with pod IPs
// that the real EndpointSlice controller lists and that answer HTTP inside the run's namespace,
// graceful deletion removes a pod from the slice before it goes, `kubectl logs` reaches the node, and
// stop() leaves no process and no network namespace behind.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { REST_API_IMAGE } from '../../src/runtime/image-map.js';
import { alive } from '../support/process.js';
import { waitFor } from '../support/poll.js';
import { kubernetesAvailability } from './harness/assets.js';
import { startKubernetes, type KubernetesHarness } from './harness/index.js';
import { listNetns, netnsPids } from './harness/netns.js';

const availability = kubernetesAvailability();
const skip = availability.mode === 'skip' ? availability.reason : availability.mode === 'existing' ? 'tests the harness itself' : false;

const NS = 'harness-test';

function deployment(replicas: number): Record<string, unknown> {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'rest-api', namespace: NS },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'rest-api' } },
      template: {
        metadata: { labels: { app: 'rest-api' } },
        spec: {
          terminationGracePeriodSeconds: 5,
          containers: [
            {
              name: 'app',
              image: REST_API_IMAGE,
              ports: [{ containerPort: 8080 }],
              env: [
                { name: 'PORT', value: '8080' },
                { name: 'RESOURCE', valueFrom: { configMapKeyRef: { name: 'rest-api', key: 'resource' } } },
                { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
                { name: 'LOG_REQUESTS', value: '1' },
              ],
              readinessProbe: { httpGet: { path: '/', port: 8080 }, periodSeconds: 1 },
              lifecycle: { preStop: { sleep: { seconds: 1 } } },
            },
          ],
        },
      },
    },
  };
}

describe('Kubernetes test harness', { skip }, () => {
  let k: KubernetesHarness;
  let startMs = 0;

  before(async () => {
    const t0 = performance.now();
    k = await startKubernetes();
    startMs = Math.round(performance.now() - t0);
  });
  after(async () => {
    await k?.stop();
  });

  const kubectl = async (args: string[], input?: string): Promise<string> => {
    const r = await k.kubectl(args, { input });
    assert.equal(r.code, 0, `kubectl ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  };
  const pods = async (): Promise<any[]> =>
    JSON.parse(await kubectl(['get', 'pods', '-n', NS, '-l', 'app=rest-api', '-o', 'json'])).items as any[];

  test('the apiserver is ready and reports its version', async () => {
    const r = await k.api.request('GET', '/readyz');
    assert.equal(r.status, 200);
    assert.equal(r.body, 'ok');
    const version = JSON.parse(await kubectl(['version', '-o', 'json']));
    assert.equal(version.serverVersion.gitVersion, 'v1.37.2');
    process.stdout.write(`# harness started in ${startMs} ms\n`);
  });

  test('kubectl get nodes shows the test node Ready', async () => {
    const out = await kubectl(['get', 'nodes']);
    assert.match(out, new RegExp(`^${k.nodeName}\\s+Ready\\s`, 'm'));
    const node = JSON.parse(await kubectl(['get', 'node', k.nodeName, '-o', 'json']));
    assert.deepEqual(
      node.status.addresses.find((a: any) => a.type === 'InternalIP'),
      { type: 'InternalIP', address: '10.244.0.1' },
    );
    assert.equal(node.status.capacity.pods, '110');
  });

  test('a Deployment of the example app runs pods that the EndpointSlice lists and that answer HTTP', async () => {
    await kubectl(['create', 'namespace', NS]);
    await kubectl(['create', 'configmap', 'rest-api', '-n', NS, '--from-literal=resource=stock']);
    await kubectl(['apply', '-f', '-'], JSON.stringify(deployment(2)));
    await kubectl(['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'rest-api', namespace: NS },
      spec: { clusterIP: 'None', selector: { app: 'rest-api' }, ports: [{ port: 8080, targetPort: 8080 }] },
    })); // prettier-ignore

    const running = await waitFor(
      'two Ready pods',
      async () => {
        const list = await pods();
        const ready = list.filter(
          (p) => p.status.phase === 'Running' && p.status.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True'),
        );
        return ready.length === 2 ? ready : undefined;
      },
      60_000,
      250,
    );
    const ips = running.map((p) => p.status.podIP as string).sort();
    for (const ip of ips) assert.match(ip, /^10\.244\.\d+\.\d+$/);
    assert.notEqual(ips[0], ips[1]);
    for (const p of running) {
      const cs = p.status.containerStatuses[0];
      assert.equal(cs.ready, true);
      assert.equal(cs.restartCount, 0);
      assert.ok(cs.state.running.startedAt);
    }

    const sliceIps = await waitFor(
      'the EndpointSlice to list both pods as ready',
      async () => {
        const slices = JSON.parse(
          await kubectl(['get', 'endpointslices', '-n', NS, '-l', 'kubernetes.io/service-name=rest-api', '-o', 'json']),
        );
        const ready = slices.items
          .flatMap((s: any) => s.endpoints ?? [])
          .filter((e: any) => e.conditions?.ready)
          .flatMap((e: any) => e.addresses as string[])
          .sort();
        return ready.length === 2 ? ready : undefined;
      },
      30_000,
      250,
    );
    assert.deepEqual(sliceIps, ips);

    for (const ip of ips) {
      const r = await k.exec(['curl', '-s', '-m', '5', `http://${ip}:8080/`]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'Welcome to the stock app! \n');
    }
    // And from the test process, through a forwarded port.
    const port = await k.forward(ips[0], 8080);
    const res = await fetch(`http://127.0.0.1:${port}/stock`);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /stock ticker not found/);

    const logs = await kubectl(['logs', '-n', NS, running[0].metadata.name]);
    assert.match(logs, /listening on http:\/\/0\.0\.0\.0:8080/);
  });

  test('scaling down terminates a pod gracefully: out of the EndpointSlice, then deleted', async () => {
    await kubectl(['scale', 'deployment/rest-api', '-n', NS, '--replicas=1']);
    const terminating = await waitFor(
      'a pod with a deletionTimestamp',
      async () => (await pods()).find((p) => p.metadata.deletionTimestamp),
      30_000,
      100,
    );
    const ip = terminating.status.podIP as string;
    await waitFor(
      'the terminating pod to leave the ready endpoints',
      async () => {
        const slices = JSON.parse(await kubectl(['get', 'endpointslices', '-n', NS, '-o', 'json']));
        const eps = slices.items.flatMap((s: any) => s.endpoints ?? []);
        const mine = eps.find((e: any) => e.addresses.includes(ip));
        return !mine || mine.conditions.ready === false;
      },
      30_000,
      100,
    );
    await waitFor('the pod to be gone', async () => (await pods()).every((p) => p.metadata.uid !== terminating.metadata.uid), 30_000, 200);
    const left = await pods();
    assert.equal(left.length, 1);
    const r = await k.exec(['curl', '-s', '-m', '2', `http://${ip}:8080/`]);
    assert.notEqual(r.code, 0, 'the deleted pod no longer answers');
  });

  test('stop() ends every process and removes every network namespace it made', async () => {
    const netns = k.netns!;
    const mine = listNetns().filter((n) => n === netns || n.startsWith(`${netns}-p`));
    assert.ok(mine.length >= 2, 'the run namespace and at least one pod namespace exist before stop');
    const pids = mine.flatMap(netnsPids);
    assert.ok(pids.length >= 5, `processes run in the namespaces: ${pids.length}`);
    await k.stop();
    assert.deepEqual(
      listNetns().filter((n) => n === netns || n.startsWith(`${netns}-p`)),
      [],
    );
    await waitFor('every process to be gone', () => pids.every((p) => !alive(p)), 10_000);
  });
});
