// The Kubernetes test node's kubelet rules, as pure functions: pod phase and conditions from its
// containers, container status JSON, restart policy and crash back-off, and env resolution
// (envFrom, fieldRef, ConfigMap and Secret keys, $(VAR) expansion, the kubelet's error wording).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, resolveEnv, type EnvSource } from '../kubernetes/harness/node-agent/env.js';
import type { PodFacts } from '../../src/runtime/local/config-env.js';
import {
  KUBELET_BACKOFF,
  containerStatusJson,
  nextBackoff,
  podPhase,
  podStatusJson,
  shouldRestart,
  type ContainerRecord,
  type PodRecord,
} from '../kubernetes/harness/node-agent/status.js';
import { ownerOf } from '../kubernetes/harness/netns.js';

const T = '2026-12-01T00:00:00.000Z';
const running = (ready: boolean): ContainerRecord['state'] => ({ kind: 'running', startedAt: T, ready });
const exited = (exitCode: number): ContainerRecord['state'] => ({
  kind: 'terminated',
  exitCode,
  reason: exitCode ? 'Error' : 'Completed',
  startedAt: T,
  finishedAt: T,
});

function pod(states: ContainerRecord['state'][], restartPolicy: PodRecord['restartPolicy'] = 'Always', restarts = 0): PodRecord {
  return {
    podIp: '10.244.1.2',
    hostIp: '10.244.0.1',
    startTime: T,
    restartPolicy,
    initialized: true,
    containers: states.map((state, i) => ({ name: `c${i}`, image: 'img', state, restartCount: restarts })),
  };
}

test('pod phase follows the kubelet: Pending, Running, Succeeded, Failed', () => {
  const cases: [PodRecord, string][] = [
    [{ ...pod([{ kind: 'waiting', reason: 'ContainerCreating' }]), initialized: false }, 'Pending'],
    [pod([running(false)]), 'Running'],
    [pod([running(true), exited(0)], 'Never'), 'Running'],
    [pod([exited(0), exited(0)], 'Never'), 'Succeeded'],
    [pod([exited(0), exited(1)], 'Never'), 'Failed'],
    [pod([exited(1)], 'OnFailure'), 'Running'],
    [pod([exited(0)], 'OnFailure'), 'Succeeded'],
    [pod([exited(1)], 'Always'), 'Running'],
    [pod([{ kind: 'waiting', reason: 'CrashLoopBackOff' }], 'Always', 3), 'Running'],
  ];
  for (const [p, phase] of cases) assert.equal(podPhase(p), phase, JSON.stringify(p.containers.map((c) => c.state)));
});

test('Ready and ContainersReady need every container running and ready', () => {
  const since = () => T;
  const cond = (p: PodRecord, type: string) => (podStatusJson(p, since).conditions as any[]).find((c) => c.type === type);
  assert.equal(cond(pod([running(true), running(true)]), 'Ready').status, 'True');
  const notReady = cond(pod([running(true), running(false)]), 'Ready');
  assert.equal(notReady.status, 'False');
  assert.equal(notReady.reason, 'ContainersNotReady');
  assert.equal(cond(pod([running(true), running(false)]), 'ContainersReady').status, 'False');
  assert.equal(cond(pod([exited(0)], 'Never'), 'Ready').reason, 'PodCompleted');
  const status = podStatusJson(pod([running(true)]), since);
  assert.equal(status.podIP, '10.244.1.2');
  assert.deepEqual(status.podIPs, [{ ip: '10.244.1.2' }]);
  assert.equal(status.hostIP, '10.244.0.1');
});

test('container status carries state, restart count and the previous run', () => {
  const c: ContainerRecord = {
    name: 'app',
    image: 'img',
    state: { kind: 'waiting', reason: 'CrashLoopBackOff', message: 'back-off 20s' },
    last: { kind: 'terminated', exitCode: 3, reason: 'Error', startedAt: T, finishedAt: T },
    restartCount: 2,
  };
  const s = containerStatusJson(c) as any;
  assert.equal(s.ready, false);
  assert.equal(s.started, false);
  assert.equal(s.restartCount, 2);
  assert.deepEqual(s.state, { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 20s' } });
  assert.equal(s.lastState.terminated.exitCode, 3);
  const r = containerStatusJson({ name: 'app', image: 'img', state: running(true), restartCount: 0, containerId: 'sluice://x' }) as any;
  assert.deepEqual(r.state, { running: { startedAt: T } });
  assert.equal(r.ready, true);
  assert.equal(r.containerID, 'sluice://x');
});

test('restart policy and the crash back-off (10 s doubling to 5 min, reset after 10 min running)', () => {
  assert.equal(shouldRestart('Always', 0), true);
  assert.equal(shouldRestart('OnFailure', 0), false);
  assert.equal(shouldRestart('OnFailure', 2), true);
  assert.equal(shouldRestart('Never', 2), false);
  let d = 0;
  const seen: number[] = [];
  for (let i = 0; i < 7; i++) seen.push((d = nextBackoff(d, 1000, KUBELET_BACKOFF)));
  assert.deepEqual(seen, [10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000]);
  assert.equal(nextBackoff(300_000, 600_000, KUBELET_BACKOFF), 10_000);
});

const facts: PodFacts = {
  namespace: 'ns',
  name: 'p-1',
  uid: 'u-1',
  labels: { app: 'a' },
  annotations: { note: 'n' },
  nodeName: 'node-0',
  serviceAccountName: 'default',
  podIP: '10.244.1.9',
  hostIP: '10.244.0.1',
};
const source: EnvSource = {
  configMap: async (_ns, name) => (name === 'cm' ? { color: 'blue', size: 'L' } : undefined),
  secret: async (_ns, name) => (name === 'sec' ? { password: 'hunter2' } : undefined),
};

test('env: envFrom with prefix, then env in order with downward API, keys and $(VAR)', async () => {
  const env = await resolveEnv(
    {
      envFrom: [{ configMapRef: { name: 'cm' }, prefix: 'CM_' }, { secretRef: { name: 'missing', optional: true } }],
      env: [
        { name: 'A', value: 'x' },
        { name: 'B', value: '$(A)-$(CM_color)-$(NOPE)-$$' },
        { name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
        { name: 'APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
        { name: 'PW', valueFrom: { secretKeyRef: { name: 'sec', key: 'password' } } },
        { name: 'OPT', valueFrom: { configMapKeyRef: { name: 'cm', key: 'absent', optional: true } } },
      ],
    },
    facts,
    source,
    { BASE: '1' },
  );
  assert.equal(env.BASE, '1');
  assert.equal(env.CM_color, 'blue');
  assert.equal(env.B, 'x-blue-$(NOPE)-$');
  assert.equal(env.IP, '10.244.1.9');
  assert.equal(env.APP, 'a');
  assert.equal(env.PW, 'hunter2');
  assert.equal('OPT' in env, false);
});

test('env: a missing ConfigMap, Secret or key is a CreateContainerConfigError with the kubelet wording', async () => {
  await assert.rejects(
    resolveEnv({ env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'cm', key: 'absent' } } }] }, facts, source, {}),
    (e: Error) => e instanceof ConfigError && e.message === "couldn't find key absent in ConfigMap ns/cm",
  );
  await assert.rejects(
    resolveEnv({ envFrom: [{ secretRef: { name: 'nope' } }] }, facts, source, {}),
    (e: Error) => e instanceof ConfigError && e.message === 'secret "nope" not found',
  );
});

test('network namespaces name their owner, so only those of dead runs count as stale', () => {
  assert.equal(ownerOf('sluice-k8s-123-4'), 123);
  assert.equal(ownerOf('sluice-k8s-123-4-p17'), 123);
  assert.equal(ownerOf('sluice-k8s-x'), undefined);
  assert.equal(ownerOf('other-123-4'), undefined);
});
