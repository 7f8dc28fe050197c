// Scale to zero and back through a real server: an idle revision goes to zero instances (Active=False
// NoTraffic, still Ready), the next request is answered and brings one instance back; the
// config-autoscaler ConfigMap changes behaviour while running, and a bad change is refused.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { waitFor } from '../support/poll.js';
import { gatewayGet, kubectl, startTestSluice, applyDoc, PODAUTOSCALERS, exampleService } from '../support/sluice.js';
import type { RunningSluice } from '../../src/server.js';

const PA = PODAUTOSCALERS;
const REV = 'serving.knative.dev/revisions';
// Windows shortened so the test takes seconds: a stable window of 6 s is Knative's minimum.
const FAST = { 'stable-window': '6s', 'scale-to-zero-grace-period': '1s' };

function service(name: string, annotations: Record<string, string> = {}): string {
  return exampleService(name, { annotations, env: { RESOURCE: name } });
}

const cond = (obj: any, type: string) => obj?.status?.conditions?.find((c: any) => c.type === type);

function instances(s: RunningSluice, key: string): { replicas: number; ready: number } {
  const st = s.runtime.status(key);
  return { replicas: st?.replicas ?? 0, ready: st?.readyReplicas ?? 0 };
}

test('an idle revision goes to zero instances, shows NoTraffic, and the next request brings it back', async (t) => {
  const s = await startTestSluice(t, { autoscalerConfig: FAST });
  await applyDoc(s, service('idle', { 'autoscaling.knative.dev/min-scale': '0' }));
  const host = 'idle.default.example.com';
  const key = 'default/idle-v1';
  await waitFor('first answer', async () => (await gatewayGet(s.gatewayPort, host)).status === 200, 20_000);

  await waitFor(
    'zero instances',
    () => {
      const n = instances(s, key);
      return n.replicas === 0 && n.ready === 0;
    },
    30_000,
  );
  // The revision is inactive but still a good revision; its PodAutoscaler says why it is at zero.
  const rev = await waitFor('revision status at zero', async () => {
    const r = await s.store.get(REV, 'default', 'idle-v1');
    return r?.status?.actualReplicas === 0 && r.status.desiredReplicas === 0 && cond(r, 'Active')?.status === 'False' ? r : undefined;
  });
  assert.equal(cond(rev, 'Active').reason, 'NoTraffic');
  assert.equal(cond(rev, 'Ready').status, 'True');
  const pa = await waitFor('PodAutoscaler at zero', async () => {
    const p = await s.store.get(PA, 'default', 'idle-v1');
    return p?.status?.desiredScale === 0 && p.status.actualScale === 0 && cond(p, 'Active')?.status === 'False' ? p : undefined;
  });
  assert.equal(cond(pa, 'Active').reason, 'NoTraffic');
  assert.equal(pa.spec.reachability, 'Reachable');
  assert.equal(pa.metadata.ownerReferences![0].kind, 'Revision');
  assert.equal(pa.metadata.labels!['serving.knative.dev/revision'], 'idle-v1');
  assert.equal(pa.status.class, 'kpa.autoscaling.knative.dev');

  // What kubectl users see: the registry's columns, and Knative's printer for the revision.
  const table = await kubectl(s.kubeconfigPath, ['get', 'kpa', 'idle-v1']);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /DESIREDSCALE\s+ACTUALSCALE\s+MODE\s+READY\s+REASON/);
  assert.match(table.stdout, /idle-v1\s+0\s+0\s+stable\s+False\s+NoTraffic/);

  // From zero: the request is held, one instance starts, and the request is answered.
  const r = await gatewayGet(s.gatewayPort, host);
  assert.equal(r.status, 200);
  assert.equal(r.body, 'Welcome to the idle app! \n');
  assert.equal(s.runtime.status(key)?.replicas, 1);
  await waitFor('PodAutoscaler back at one', async () => {
    const p = await s.store.get(PA, 'default', 'idle-v1');
    return p?.status?.desiredScale === 1 && p.status.actualScale === 1;
  });
  await waitFor('revision reports one instance', async () => (await s.store.get(REV, 'default', 'idle-v1'))?.status?.actualReplicas === 1);
});

test('config-autoscaler changes apply while running; a bad change is refused and the previous settings stay', async (t) => {
  const s = await startTestSluice(t, { autoscalerConfig: FAST });
  const kc = s.kubeconfigPath;
  await applyDoc(s, service('cfg'));
  const key = 'default/cfg-v1';
  await waitFor('zero instances', () => instances(s, key).replicas === 0 && instances(s, key).ready === 0, 30_000);

  // The ConfigMap exists with Knative's keys (and the overrides given at startup).
  const cm = parse((await kubectl(kc, ['get', 'configmap', 'config-autoscaler', '-n', 'knative-serving', '-o', 'yaml'])).stdout);
  assert.equal(cm.data['container-concurrency-target-default'], '100');
  assert.equal(cm.data['enable-scale-to-zero'], 'true');
  assert.equal(cm.data['stable-window'], '6s');

  const patch = (data: Record<string, string>) =>
    kubectl(kc, ['patch', 'configmap', 'config-autoscaler', '-n', 'knative-serving', '--type', 'merge', '-p', JSON.stringify({ data })]);

  // Scale to zero off: min-scale becomes 1 for every KPA revision, without any traffic.
  assert.equal((await patch({ 'enable-scale-to-zero': 'false' })).code, 0);
  await waitFor('one instance with scale to zero disabled', () => instances(s, key).ready === 1, 20_000);

  // A refused value: the reason is put on the ConfigMap and the running settings do not change.
  assert.equal((await patch({ 'stable-window': '5s' })).code, 0);
  const refused = await waitFor('refusal on the ConfigMap', async () => {
    const c = parse((await kubectl(kc, ['get', 'configmap', 'config-autoscaler', '-n', 'knative-serving', '-o', 'yaml'])).stdout);
    return c.metadata.annotations?.['autoscaling.sluice.dev/config-error'];
  });
  assert.match(refused, /stable-window = 5s, must be in \[6s; 1h0m0s\] range/);
  assert.equal(s.autoscaler.currentConfig().stableWindowMs, 6000);
  assert.equal(s.autoscaler.currentConfig().enableScaleToZero, false);

  // Fixed again, with scale to zero back on: the refusal goes and the revision returns to zero.
  assert.equal((await patch({ 'stable-window': '6s', 'enable-scale-to-zero': 'true' })).code, 0);
  await waitFor('refusal cleared', async () => {
    const c = await s.store.get('configmaps', 'knative-serving', 'config-autoscaler');
    return c && !c.metadata.annotations?.['autoscaling.sluice.dev/config-error'];
  });
  await waitFor('zero instances again', () => instances(s, key).replicas === 0 && instances(s, key).ready === 0, 30_000);
});
