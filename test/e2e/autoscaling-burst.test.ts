// Scaling out under a burst and back down after it, through a real server with real instances:
// containerConcurrency=1 makes every concurrent request need an instance of its own; max-scale
// caps the count, min-scale keeps a floor even with no load at all.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { waitFor } from '../support/poll.js';
import { gatewayGet, startTestSluice, applyDoc, PODAUTOSCALERS, exampleService } from '../support/sluice.js';
import type { RunningSluice } from '../../src/server.js';

const PA = PODAUTOSCALERS;
const FAST = { 'stable-window': '6s', 'scale-to-zero-grace-period': '1s' };

function service(name: string, annotations: Record<string, string>): string {
  return exampleService(name, { annotations, containerConcurrency: 1, env: { RESOURCE: name } });
}

/** n concurrent requests, each on its own connection; resolves with their statuses. */
function burst(s: RunningSluice, host: string, n: number, path: string): Promise<number[]> {
  const agent = new http.Agent({ keepAlive: false, maxSockets: n });
  return Promise.all(
    Array.from({ length: n }, () =>
      gatewayGet(s.gatewayPort, host, path, agent).then(
        (r) => r.status,
        () => -1,
      ),
    ),
  ).finally(() => agent.destroy());
}

/** Records the largest instance count the runtime was asked for while `during` runs. */
async function peakReplicas<T>(s: RunningSluice, key: string, during: Promise<T>): Promise<{ result: T; peak: number }> {
  let peak = 0;
  let done = false;
  const watch = (async () => {
    while (!done) {
      const st = s.runtime.status(key);
      peak = Math.max(peak, st?.replicas ?? 0, st?.instances.filter((i) => i.phase !== 'terminating').length ?? 0);
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  try {
    return { result: await during, peak };
  } finally {
    done = true;
    await watch;
  }
}

test('a burst with containerConcurrency=1 scales out to match and back down when it ends', async (t) => {
  const s = await startTestSluice(t, { autoscalerConfig: FAST });
  await applyDoc(s, service('burst', {}));
  const host = 'burst.default.example.com';
  const key = 'default/burst-v1';
  await waitFor('first answer', async () => (await gatewayGet(s.gatewayPort, host)).status === 200, 20_000);

  const requests = burst(s, host, 6, '/?sleep=2500');
  // Six requests at once, one per instance: six ready instances while they run.
  await waitFor('six ready instances', () => (s.runtime.status(key)?.readyReplicas ?? 0) >= 6, 10_000);
  assert.deepEqual(await requests, [200, 200, 200, 200, 200, 200]);
  const pa = await s.store.get(PA, 'default', 'burst-v1');
  assert.ok(pa && pa.status.desiredScale >= 6, `PodAutoscaler: ${JSON.stringify(pa?.status)}`);

  // Back down once the burst is over (to zero: nothing keeps a floor here).
  await waitFor('scaled back down', () => (s.runtime.status(key)?.replicas ?? 0) <= 1, 40_000);
});

test('max-scale caps a burst and min-scale keeps a floor with no load', async (t) => {
  const s = await startTestSluice(t, { autoscalerConfig: FAST });
  await applyDoc(s, service('clamp', { 'autoscaling.knative.dev/min-scale': '2', 'autoscaling.knative.dev/max-scale': '3' }));
  const host = 'clamp.default.example.com';
  const key = 'default/clamp-v1';
  // Ready instances reach the gateway before the Route that publishes the host: wait for both.
  await waitFor(
    'two ready instances (min-scale), routed',
    () => (s.runtime.status(key)?.readyReplicas ?? 0) === 2 && s.gateway.hosts().includes(host),
    20_000,
  );

  // Eight requests of 1.5 s, one at a time per instance: they queue, and are all served.
  const { result, peak } = await peakReplicas(s, key, burst(s, host, 8, '/?sleep=1500'));
  assert.deepEqual(result, Array(8).fill(200));
  assert.equal(peak, 3, 'never more than max-scale instances, and max-scale reached');
  const pa = await s.store.get(PA, 'default', 'clamp-v1');
  assert.ok(pa && pa.status.desiredScale <= 3);

  // With the windows empty again the decision is min-scale, not zero.
  const idle = await waitFor(
    'no load in the windows',
    async () => {
      const p = await s.store.get(PA, 'default', 'clamp-v1');
      return p?.status?.metrics?.stableValue === 0 && p.status.metrics.panicValue === 0 ? p : undefined;
    },
    40_000,
  );
  assert.equal(idle.status.desiredScale, 2);
  await waitFor('two instances', () => s.runtime.status(key)?.replicas === 2 && s.runtime.status(key)?.readyReplicas === 2);
});
