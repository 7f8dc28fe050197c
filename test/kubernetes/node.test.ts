// The test node's pod lifecycle as the real control plane sees it: exit codes and phases under each
// restartPolicy, restarts with the crash back-off and restartCount, a missing ConfigMap key
// (CreateContainerConfigError until it appears), an image with no mapping, and a liveness probe that
// restarts a container.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { REST_API_IMAGE } from '../../src/runtime/image-map.js';
import { waitFor } from '../support/poll.js';
import { kubernetesAvailability } from './harness/assets.js';
import { startKubernetes, type KubernetesHarness } from './harness/index.js';

const availability = kubernetesAvailability();
const skip = availability.mode === 'skip' ? availability.reason : availability.mode === 'existing' ? 'tests the harness itself' : false;

const NS = 'node-test';

describe('the test node runs pods as the kubelet would', { skip }, () => {
  let k: KubernetesHarness;
  before(async () => {
    k = await startKubernetes();
    const r = await k.kubectl(['create', 'namespace', NS]);
    assert.equal(r.code, 0, r.stderr);
  });
  after(async () => {
    await k?.stop();
  });

  const apply = async (obj: unknown): Promise<void> => {
    const r = await k.kubectl(['apply', '-f', '-'], { input: JSON.stringify(obj) });
    assert.equal(r.code, 0, r.stderr);
  };
  const getPod = async (name: string): Promise<any> => {
    const r = await k.kubectl(['get', 'pod', name, '-n', NS, '-o', 'json']);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout);
  };
  const pod = (name: string, spec: Record<string, unknown>) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: NS }, spec });

  test('a container that exits 3 under restartPolicy Never leaves the pod Failed with exit code 3', async () => {
    await apply(
      pod('exit3', {
        restartPolicy: 'Never',
        containers: [{ name: 'c', image: 'sluice.test/command-only:v1', command: [process.execPath, '-e', 'process.exit(3)'] }],
      }),
    );
    const p = await waitFor(
      'phase Failed',
      async () => ((await getPod('exit3')).status.phase === 'Failed' ? getPod('exit3') : undefined),
      30_000,
      200,
    );
    const term = p.status.containerStatuses[0].state.terminated;
    assert.equal(term.exitCode, 3);
    assert.equal(term.reason, 'Error');
  });

  test('a crashing container is restarted after the back-off, counting restarts', async () => {
    await apply(
      pod('crash', {
        containers: [{ name: 'c', image: 'sluice.test/command-only:v1', command: [process.execPath, '-e', 'process.exit(2)'] }],
      }),
    );
    const p = await waitFor(
      'restartCount 1',
      async () => {
        const x = await getPod('crash');
        return x.status.containerStatuses?.[0]?.restartCount >= 1 ? x : undefined;
      },
      40_000,
      250,
    );
    assert.equal(p.status.phase, 'Running');
    assert.equal(p.status.containerStatuses[0].lastState.terminated.exitCode, 2);
    const now = await waitFor(
      'CrashLoopBackOff after the second exit',
      async () => {
        const cs = (await getPod('crash')).status.containerStatuses[0];
        return cs.state.waiting?.reason === 'CrashLoopBackOff' ? cs : undefined;
      },
      20_000,
      100,
    );
    assert.match(now.state.waiting.message, /back-off 20s restarting failed container=c/);
  });

  test('a missing ConfigMap key is CreateContainerConfigError until the ConfigMap appears', async () => {
    await apply(
      pod('needs-config', {
        containers: [
          {
            name: 'app',
            image: REST_API_IMAGE,
            env: [
              { name: 'PORT', value: '8080' },
              { name: 'RESOURCE', valueFrom: { configMapKeyRef: { name: 'late', key: 'resource' } } },
            ],
          },
        ],
      }),
    );
    const waiting = await waitFor(
      'CreateContainerConfigError',
      // ContainerCreating comes first while the node looks the ConfigMap up; wait past it.
      async () => {
        const w = (await getPod('needs-config')).status.containerStatuses?.[0]?.state?.waiting;
        return w && w.reason !== 'ContainerCreating' ? w : undefined;
      },
      30_000,
      200,
    );
    assert.equal(waiting.reason, 'CreateContainerConfigError');
    assert.equal(waiting.message, 'configmap "late" not found');
    const r = await k.kubectl(['create', 'configmap', 'late', '-n', NS, '--from-literal=resource=late']);
    assert.equal(r.code, 0, r.stderr);
    const running = await waitFor(
      'the container to run',
      async () => {
        const p = await getPod('needs-config');
        return p.status.containerStatuses?.[0]?.state?.running ? p : undefined;
      },
      30_000,
      200,
    );
    const out = await waitFor(
      'the app to answer',
      async () => {
        const c = await k.exec(['curl', '-s', '-m', '2', `http://${running.status.podIP}:8080/`]);
        return c.code === 0 ? c.stdout : undefined;
      },
      20_000,
      200,
    );
    assert.equal(out, 'Welcome to the late app! \n');
  });

  test('an image with no command mapping is ErrImagePull with the mapping advice', async () => {
    await apply(pod('unmapped', { containers: [{ name: 'c', image: 'example.com/nothing:v1' }] }));
    const waiting = await waitFor(
      'ErrImagePull',
      async () => (await getPod('unmapped')).status.containerStatuses?.[0]?.state?.waiting,
      30_000,
      200,
    );
    assert.equal(waiting.reason, 'ErrImagePull');
    assert.match(waiting.message, /image "example\.com\/nothing:v1" is not mapped to a local command/);
  });

  test('a failing liveness probe restarts the container', async () => {
    await apply(
      pod('liveness', {
        terminationGracePeriodSeconds: 1,
        containers: [
          {
            name: 'app',
            image: REST_API_IMAGE,
            env: [{ name: 'PORT', value: '8080' }],
            livenessProbe: { httpGet: { path: '/', port: 9999 }, periodSeconds: 1, failureThreshold: 2 },
          },
        ],
      }),
    );
    const p = await waitFor(
      'a restart from liveness',
      async () => {
        const x = await getPod('liveness');
        return x.status.containerStatuses?.[0]?.restartCount >= 1 ? x : undefined;
      },
      40_000,
      250,
    );
    assert.ok(p.status.containerStatuses[0].lastState.terminated, JSON.stringify(p.status.containerStatuses[0]));
  });
});
