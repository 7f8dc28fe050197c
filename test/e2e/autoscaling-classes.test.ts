// Every autoscaling class is reachable from a revision's annotations and shows on its
// PodAutoscaler: the event gateway (one request per instance, idle instances released), scaling
// plugins loaded at startup (and a faulty one contained), and HPA on CPU.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../support/poll.js';
import { gatewayGet, startTestSluice, applyDoc, paStatus, exampleService } from '../support/sluice.js';

function service(name: string, annotations: Record<string, string>, containerConcurrency = 0): string {
  return exampleService(name, { annotations, containerConcurrency, env: { RESOURCE: name } });
}

test('event gateway: one request per instance, scaled at once to the requests, idle instances released', async (t) => {
  const s = await startTestSluice(t);
  // containerConcurrency 0 (unlimited) in the spec: the class still gives each request its own instance.
  await applyDoc(
    s,
    service('events', {
      'autoscaling.knative.dev/class': 'event-gateway.autoscaling.sluice.dev',
      'sluice.dev/event-gateway-idle-timeout': '1s',
    }),
  );
  const host = 'events.default.example.com';
  const key = 'default/events-v1';
  await waitFor('first answer', async () => (await gatewayGet(s.gatewayPort, host)).status === 200, 20_000);
  await waitFor('idle instance released', () => s.runtime.status(key)?.replicas === 0, 20_000);

  const agent = new http.Agent({ keepAlive: false, maxSockets: 4 });
  t.after(() => agent.destroy());
  const requests = Promise.all(
    Array.from({ length: 4 }, () => gatewayGet(s.gatewayPort, host, '/?sleep=1500', agent).then((r) => r.status)),
  );
  await waitFor('four instances for four requests', () => (s.runtime.status(key)?.readyReplicas ?? 0) === 4, 10_000);
  assert.deepEqual(await requests, [200, 200, 200, 200]);
  const st = await paStatus(s, 'events-v1');
  assert.equal(st.class, 'event-gateway.autoscaling.sluice.dev');
  assert.equal(st.mode, 'event-gateway');
  await waitFor('released after the idle timeout', () => s.runtime.status(key)?.replicas === 0, 20_000);
});

test('plugins: a loaded plugin decides the scale; a faulty one keeps it and its error shows', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-plugins-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'two.mjs'), `export default { name: 'two', collect: () => ({}), decide: () => 2 };\n`);
  writeFileSync(
    join(dir, 'broken.mjs'),
    `export default { name: 'broken', collect: () => ({ x: 1 }), decide: () => { throw new Error('metrics backend unreachable'); } };\n`,
  );
  const s = await startTestSluice(t, { pluginPaths: [join(dir, 'two.mjs'), join(dir, 'broken.mjs')] });
  await applyDoc(
    s,
    service('plug', { 'autoscaling.knative.dev/class': 'plugin.autoscaling.sluice.dev', 'sluice.dev/scaling-plugin': 'two' }),
  );
  await waitFor('two instances', () => s.runtime.status('default/plug-v1')?.readyReplicas === 2, 20_000);
  const st = await waitFor('PodAutoscaler shows the plugin', async () => {
    const x = await paStatus(s, 'plug-v1');
    return x?.desiredScale === 2 ? x : undefined;
  });
  assert.equal(st.mode, 'plugin');
  assert.equal(st.metrics.plugin, 'two');

  await applyDoc(
    s,
    service('faulty', { 'autoscaling.knative.dev/class': 'plugin.autoscaling.sluice.dev', 'sluice.dev/scaling-plugin': 'broken' }),
  );
  const bad = await waitFor(
    'the fault on the PodAutoscaler',
    async () => {
      const x = await paStatus(s, 'faulty-v1');
      return x?.error ? x : undefined;
    },
    20_000,
  );
  assert.match(bad.error, /plugin "broken" failed in decide: metrics backend unreachable/);
  assert.equal(bad.desiredScale, 1, 'the current scale is kept');
});

test('HPA on CPU: the class never rests at zero and reports the CPU utilization it scales on', async (t) => {
  const s = await startTestSluice(t, { autoscalerConfig: { 'stable-window': '6s' } });
  await applyDoc(
    s,
    service('cpu', {
      'autoscaling.knative.dev/class': 'hpa.autoscaling.knative.dev',
      'autoscaling.knative.dev/metric': 'cpu',
      'autoscaling.knative.dev/target': '50',
    }),
  );
  const st = await waitFor(
    'HPA metrics on the PodAutoscaler',
    async () => {
      const x = await paStatus(s, 'cpu-v1');
      return x?.mode === 'hpa' && x.metrics?.metric === 'cpu' && typeof x.metrics.value === 'number' ? x : undefined;
    },
    20_000,
  );
  assert.equal(st.metrics.target, 50);
  assert.equal(st.desiredScale, 1);
  assert.equal(s.runtime.status('default/cpu-v1')?.readyReplicas, 1);
});
