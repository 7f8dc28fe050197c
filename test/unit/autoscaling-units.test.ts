// The autoscaler controller's pure helpers: the ConfigMap it writes, reachability from routes, and
// the PodAutoscaler it keeps per revision.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KEYS, defaultAutoscalerConfig, parseAutoscalerConfig } from '../../src/autoscaler/index.js';
import { autoscalerConfigMap, defaultAutoscalerConfigData } from '../../src/controllers/autoscaling/config-map.js';
import {
  metricsView,
  nextRoutingState,
  podAutoscalerFor,
  podAutoscalerStatus,
  reachabilityOf,
  referencedRevisions,
} from '../../src/controllers/autoscaling/podautoscaler.js';
import type { KObject } from '../../src/api/types.js';

test('the ConfigMap written at startup has every key, and parses to the defaults', () => {
  const data = defaultAutoscalerConfigData();
  assert.deepEqual(Object.keys(data).sort(), KEYS.map((k) => k.key).sort());
  assert.deepEqual(parseAutoscalerConfig(data), defaultAutoscalerConfig());
  const cm = autoscalerConfigMap(data);
  assert.equal(cm.metadata.namespace, 'knative-serving');
  assert.equal(cm.metadata.name, 'config-autoscaler');
  assert.ok(Object.values(cm.data as Record<string, unknown>).every((v) => typeof v === 'string'));
});

test('referenced revisions: every traffic target of every route, 0% and tagged included', () => {
  const route = (ns: string, spec: unknown[], status: unknown[] = [], deleting = false): KObject => ({
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Route',
    metadata: { name: 'r', namespace: ns, ...(deleting ? { deletionTimestamp: '2024-01-01T00:00:00Z' } : {}) },
    spec: { traffic: spec },
    status: { traffic: status },
  });
  const refs = referencedRevisions([
    route('a', [{ configurationName: 'c', percent: 100 }], [{ revisionName: 'c-00002', percent: 100 }]),
    route('b', [
      { revisionName: 'v1', percent: 100 },
      { revisionName: 'v0', percent: 0, tag: 'old' },
    ]),
    route('c', [{ revisionName: 'gone', percent: 100 }], [], true),
  ]);
  assert.deepEqual([...refs].sort(), ['a/c-00002', 'b/v0', 'b/v1']);
});

test('routing state and reachability follow Knative: pending, active, reserve; failures are unreachable', () => {
  assert.equal(nextRoutingState('pending', false), 'pending');
  assert.equal(nextRoutingState('pending', true), 'active');
  assert.equal(nextRoutingState('active', false), 'reserve');
  assert.equal(nextRoutingState('reserve', true), 'active');
  assert.equal(reachabilityOf('pending', false), 'Unknown');
  assert.equal(reachabilityOf('active', false), 'Reachable');
  assert.equal(reachabilityOf('reserve', false), 'Unreachable');
  assert.equal(reachabilityOf('active', true), 'Unreachable');
});

test('the PodAutoscaler: owned by the revision, its labels and autoscaling annotations, Knative conditions', () => {
  const rev: KObject = {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Revision',
    metadata: {
      name: 'svc-00001',
      namespace: 'default',
      uid: 'u1',
      labels: { 'serving.knative.dev/service': 'svc' },
      annotations: { 'autoscaling.knative.dev/min-scale': '1', 'kubectl.kubernetes.io/last-applied-configuration': '{}' },
    },
    spec: { containerConcurrency: 4, containers: [{ image: 'x' }] },
  };
  const pa = podAutoscalerFor(rev, 'active', 'Reachable');
  assert.equal(pa.apiVersion, 'autoscaling.internal.knative.dev/v1alpha1');
  assert.deepEqual(pa.metadata.ownerReferences, [
    { apiVersion: 'serving.knative.dev/v1', kind: 'Revision', name: 'svc-00001', uid: 'u1', controller: true, blockOwnerDeletion: true },
  ]);
  assert.equal(pa.metadata.labels!['serving.knative.dev/revision'], 'svc-00001');
  assert.equal(pa.metadata.labels!['serving.knative.dev/service'], 'svc');
  assert.equal(pa.metadata.labels!['serving.knative.dev/routingState'], 'active');
  assert.deepEqual(pa.metadata.annotations, { 'autoscaling.knative.dev/min-scale': '1' });
  assert.deepEqual(pa.spec, {
    containerConcurrency: 4,
    scaleTargetRef: { apiVersion: 'runtime.sluice.dev/v1', kind: 'Workload', name: 'svc-00001' },
    protocolType: 'http1',
    reachability: 'Reachable',
  });

  const now = () => '2024-01-01T00:00:00Z';
  const zero = podAutoscalerStatus(
    { class: 'kpa.autoscaling.knative.dev', desired: 0, actual: 0, mode: 'stable', active: 'inactive', initialized: true },
    now,
  );
  const cond = (st: any, type: string) => st.conditions.find((c: any) => c.type === type);
  assert.equal(cond(zero, 'Active').reason, 'NoTraffic');
  assert.equal(cond(zero, 'Ready').status, 'False');
  assert.equal(cond(zero, 'Ready').reason, 'NoTraffic');
  const up = podAutoscalerStatus(
    {
      class: 'kpa.autoscaling.knative.dev',
      desired: 2,
      actual: 2,
      mode: 'panic',
      active: 'active',
      initialized: true,
      error: 'boom',
      previous: zero.conditions as any,
    },
    () => '2024-01-01T00:01:00Z',
  );
  assert.equal(cond(up, 'Ready').status, 'True');
  assert.equal(cond(up, 'SKSReady').lastTransitionTime, '2024-01-01T00:00:00Z', 'unchanged conditions keep their time');
  assert.equal(up.error, 'boom');
  assert.equal(up.mode, 'panic');
});

test('metric views are rounded and named by what the class scales on', () => {
  assert.deepEqual(
    metricsView(
      {
        observedStable: 1.23456,
        observedPanic: 2,
        target: 0.7,
        desiredStable: 2,
        desiredPanic: 3,
        recommendation: 3,
        excessBurstCapacity: -211,
        reason: 'x',
      },
      'concurrency',
    ),
    {
      metric: 'concurrency',
      stableValue: 1.235,
      panicValue: 2,
      target: 0.7,
      desiredStable: 2,
      desiredPanic: 3,
      excessBurstCapacity: -211,
    },
  );
  assert.deepEqual(metricsView({ metric: 41.66666, metricName: 'cpu', target: 50, ratio: 0.8333333, reason: 'x' }, 'cpu'), {
    metric: 'cpu',
    value: 41.667,
    target: 50,
    ratio: 0.833,
  });
  assert.deepEqual(metricsView({ demand: 3, busy: 2, warm: 1, expired: 0, reason: 'steady' }, ''), {
    demand: 3,
    busy: 2,
    warm: 1,
    expired: 0,
  });
});
