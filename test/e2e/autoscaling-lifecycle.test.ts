// Scale across a revision's life, through a real server: a revision no route refers to any more goes
// to zero despite min-scale (Knative's reachability); initial-scale 0 starts a revision at zero;
// after a restart every revision comes back at the scale its PodAutoscaler recorded.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../support/poll.js';
import { gatewayGet, startTestSluice, applyDoc, PODAUTOSCALERS, exampleService } from '../support/sluice.js';
import type { RunningSluice } from '../../src/server.js';

const PA = PODAUTOSCALERS;
const FAST = { 'stable-window': '6s', 'scale-to-zero-grace-period': '1s', 'allow-zero-initial-scale': 'true' };

function service(name: string, rev: string, annotations: Record<string, string>, traffic?: unknown[]): string {
  return exampleService(name, { revision: rev, annotations, traffic });
}

const count = (s: RunningSluice, key: string) => ({
  replicas: s.runtime.status(key)?.replicas ?? 0,
  ready: s.runtime.status(key)?.readyReplicas ?? 0,
});

test('a revision no route refers to any more goes to zero despite min-scale; a tagged 0% one stays reachable', async (t) => {
  const s = await startTestSluice(t, { autoscalerConfig: FAST });
  const floor = { 'autoscaling.knative.dev/min-scale': '1' };
  await applyDoc(s, service('roll', 'v1', floor));
  await waitFor(
    'v1 answers',
    async () => (await gatewayGet(s.gatewayPort, 'roll.default.example.com')).body === 'Welcome to the v1 app! \n',
    20_000,
  );
  // v2 takes everything; v1 keeps a tag (0%): still referenced, so min-scale still holds.
  await applyDoc(
    s,
    service('roll', 'v2', floor, [
      { latestRevision: true, percent: 100 },
      { revisionName: 'roll-v1', percent: 0, tag: 'old' },
    ]),
  );
  await waitFor(
    'v2 answers',
    async () => (await gatewayGet(s.gatewayPort, 'roll.default.example.com')).body === 'Welcome to the v2 app! \n',
    20_000,
  );
  const pa1 = await s.store.get(PA, 'default', 'roll-v1');
  assert.equal(pa1?.spec.reachability, 'Reachable');
  // Without the tag nothing refers to v1: it becomes Unreachable and goes to zero.
  await applyDoc(s, service('roll', 'v2', floor, [{ latestRevision: true, percent: 100 }]));
  await waitFor('v1 unreachable', async () => (await s.store.get(PA, 'default', 'roll-v1'))?.spec.reachability === 'Unreachable');
  await waitFor('v1 at zero', () => count(s, 'default/roll-v1').replicas === 0 && count(s, 'default/roll-v1').ready === 0, 30_000);
  const pa = await s.store.get(PA, 'default', 'roll-v1');
  assert.equal(pa?.metadata.labels?.['serving.knative.dev/routingState'], 'reserve');
  // v2, routed and with min-scale 1, keeps its instance.
  assert.equal(count(s, 'default/roll-v2').ready, 1);
});

test('initial-scale 0 starts at zero; after a restart every revision comes back at its recorded scale', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'sluice-as-restart-'));
  let s = await startTestSluice(t, { dataDir, autoscalerConfig: FAST });
  // Runs before the second server's own stop hook: stop whichever server is current, then clean up.
  t.after(async () => {
    await s.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  await applyDoc(s, service('lazy', 'v1', { 'autoscaling.knative.dev/initial-scale': '0' }));
  await applyDoc(s, service('busy', 'v1', { 'autoscaling.knative.dev/min-scale': '2' }));
  // The lazy revision is Ready without ever running an instance.
  await waitFor('lazy routed at zero', () => s.gateway.hosts().includes('lazy.default.example.com'), 20_000);
  assert.equal(count(s, 'default/lazy-v1').replicas, 0);
  await waitFor('busy at min-scale', () => count(s, 'default/busy-v1').ready === 2, 20_000);
  await waitFor('PodAutoscalers recorded', async () => {
    const lazy = await s.store.get(PA, 'default', 'lazy-v1');
    const busy = await s.store.get(PA, 'default', 'busy-v1');
    return lazy?.status?.desiredScale === 0 && busy?.status?.desiredScale === 2;
  });

  await s.stop();
  s = await startTestSluice(t, { dataDir, autoscalerConfig: FAST });
  await waitFor('busy back at two', () => count(s, 'default/busy-v1').ready === 2, 20_000);
  await waitFor('lazy known again', () => s.gateway.hosts().includes('lazy.default.example.com'), 20_000);
  assert.equal(count(s, 'default/lazy-v1').replicas, 0);
  // The first request after the restart starts it.
  const r = await gatewayGet(s.gatewayPort, 'lazy.default.example.com');
  assert.equal(r.status, 200);
  assert.equal(r.body, 'Welcome to the v1 app! \n');
});
