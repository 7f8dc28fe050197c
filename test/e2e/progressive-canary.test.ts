// Built-in canary analysis through a real server: a sluice.dev Rollout pins traffic on the stable
// revision, walks a healthy new revision through its steps to 100%, and rolls back one whose app
// answers 500 to part of its requests. Synthetic requests to the canary's tag host supply the
// traffic, so nothing else has to load it. Then `sluice rollout` reports and steers, and the state
// survives a restart.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSluice } from '../../src/server.js';
import { waitFor } from '../support/poll.js';
import { httpGet } from '../support/http.js';
import { applyDoc, exampleService, kubectl, startTestSluice } from '../support/sluice.js';
import type { RunningSluice } from '../../src/server.js';

const ROLLOUTS = 'sluice.dev/rollouts';
const welcome = (rev: string) => `Welcome to the ${rev} app! \n`;

const rolloutDoc = (name: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    apiVersion: 'sluice.dev/v1alpha1',
    kind: 'Rollout',
    metadata: { name, namespace: 'default' },
    spec: {
      steps: [20, 50],
      interval: '1s',
      analysis: { minRequests: 20, tooFewRequests: 'synthetic', successRate: { min: 95 }, failureThreshold: 1 },
      ...extra,
    },
  });

async function rolloutStatus(s: RunningSluice, name: string): Promise<any> {
  return (await s.store.get(ROLLOUTS, 'default', name))?.status ?? {};
}

function sluiceCli(s: RunningSluice, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/sluice.js', '--kubeconfig', s.kubeconfigPath, ...args], { timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

test('canary analysis: a healthy revision is promoted step by step, a failing one is rolled back automatically', async (t) => {
  const s = await startTestSluice(t, { rolloutTickMs: 200 });
  const name = 'shop';
  const host = `${name}.default.example.com`;
  await applyDoc(s, exampleService(name, { revision: 'v1' }));
  await waitFor('v1 answers', async () => (await httpGet(s.gatewayPort, '/', { host })).body === welcome('v1'));

  // Admission explains a bad policy.
  const bad = await kubectl(s.kubeconfigPath, ['apply', '-f', '-'], rolloutDoc(name, { steps: [50, 20], interval: 'soon' }));
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /spec.steps\[1\]: steps must increase: 20 follows 50/);
  assert.match(bad.stderr, /spec.interval: invalid value: soon \(want a positive duration such as 30s or 2m\)/);

  await applyDoc(s, rolloutDoc(name));
  await waitFor('stable pinned', async () => (await rolloutStatus(s, name)).phase === 'Initialized');
  assert.equal((await rolloutStatus(s, name)).stableRevision, `${name}-v1`);
  const table = await kubectl(s.kubeconfigPath, ['get', 'rollout', name]);
  assert.match(table.stdout, /^NAME\s+PHASE\s+STABLE\s+CANARY\s+WEIGHT/m);
  assert.match(table.stdout, new RegExp(`^${name}\\s+Initialized\\s+${name}-v1`, 'm'));

  // Healthy v2: every step is visible, then it owns the traffic.
  await applyDoc(s, exampleService(name, { revision: 'v2' }));
  const weights = new Set<number>();
  const done = await waitFor(
    'v2 promoted',
    async () => {
      const st = await rolloutStatus(s, name);
      if (st.canaryRevision === `${name}-v2` && st.phase === 'Progressing') weights.add(st.canaryWeight);
      return st.phase === 'Succeeded' && st.stableRevision === `${name}-v2` ? st : undefined;
    },
    60_000,
    50,
  );
  t.diagnostic(`v2: weights seen ${[...weights].join(', ')}; ${done.message}`);
  assert.deepEqual(
    [...weights].sort((a, b) => a - b),
    [20, 50],
  );
  assert.equal(done.lastAnalysis.verdict, 'pass');
  assert.ok(done.lastAnalysis.canary.requests >= 20);
  await waitFor('traffic on v2', async () => (await httpGet(s.gatewayPort, '/', { host })).body === welcome('v2'));

  // v3 answers 500 to 30% of requests: its first step fails the 95% gate and it is rolled back.
  await applyDoc(s, exampleService(name, { revision: 'v3', env: { RESOURCE: 'v3', ERROR_PERCENT: '30' } }));
  const failed = await waitFor(
    'v3 rolled back',
    async () => {
      const st = await rolloutStatus(s, name);
      return st.phase === 'Failed' && st.canaryRevision === `${name}-v3` ? st : undefined;
    },
    60_000,
    50,
  );
  t.diagnostic(`v3: ${failed.message}`);
  assert.equal(failed.stableRevision, `${name}-v2`);
  assert.match(failed.message, /Rolled back to shop-v2: Check failed: success rate \d+(\.\d+)?% < 95%/);
  assert.equal(failed.conditions.find((c: any) => c.type === 'Ready').status, 'False');
  const svc = await s.store.get('serving.knative.dev/services', 'default', name);
  assert.deepEqual(
    svc!.spec!.traffic!.filter((x: any) => x.percent > 0).map((x: any) => [x.revisionName, x.percent]),
    [[`${name}-v2`, 100]],
  );
  for (let i = 0; i < 10; i++) assert.equal((await httpGet(s.gatewayPort, '/', { host })).body, welcome('v2'));

  const events = await waitFor('rollout events', async () => {
    const r = await kubectl(s.kubeconfigPath, [
      'get',
      'events',
      '--field-selector',
      `involvedObject.kind=Rollout,involvedObject.name=${name}`,
    ]);
    return /RolledBack/.test(r.stdout) ? r.stdout : undefined;
  });
  for (const reason of ['Initialized', 'NewRevision', 'StepAdvanced', 'Promoted', 'RolledBack']) assert.match(events, new RegExp(reason));

  const status = await sluiceCli(s, ['rollout', 'status', name]);
  assert.equal(status.code, 0, status.stderr);
  t.diagnostic(`sluice rollout status ${name}:\n${status.stdout}`);
  t.diagnostic(`kubectl get rollout:\n${(await kubectl(s.kubeconfigPath, ['get', 'rollout', '-o', 'wide'])).stdout}`);
  t.diagnostic(`events:\n${events}`);
  assert.match(status.stdout, /Phase:\s+Failed/);
  assert.match(status.stdout, /Stable:\s+shop-v2/);
  assert.match(status.stdout, /canary:\s+\d+ requests, \d+(\.\d+)?% success/);
});

test('sluice rollout pause, resume and promote steer an analysis; too little traffic with "wait" holds the step', async (t) => {
  const s = await startTestSluice(t, { rolloutTickMs: 200 });
  const name = 'steer';
  const host = `${name}.default.example.com`;
  await applyDoc(s, exampleService(name, { revision: 'v1' }));
  await waitFor('v1 answers', async () => (await httpGet(s.gatewayPort, '/', { host })).body === welcome('v1'));
  await applyDoc(s, rolloutDoc(name, { analysis: { minRequests: 1000, tooFewRequests: 'wait', maxWait: '10m' } }));
  await waitFor('stable pinned', async () => (await rolloutStatus(s, name)).phase === 'Initialized');
  await applyDoc(s, exampleService(name, { revision: 'v2' }));
  const waiting = await waitFor('holding for traffic', async () => {
    const st = await rolloutStatus(s, name);
    return st.phase === 'Progressing' && /waiting for more traffic/.test(st.message ?? '') ? st : undefined;
  });
  assert.equal(waiting.canaryWeight, 20);

  assert.equal((await sluiceCli(s, ['rollout', 'pause', name])).code, 0);
  await waitFor('paused', async () => (await rolloutStatus(s, name)).phase === 'Paused');
  assert.equal((await sluiceCli(s, ['rollout', 'resume', name])).code, 0);
  await waitFor('resumed', async () => (await rolloutStatus(s, name)).phase === 'Progressing');
  const promote = await sluiceCli(s, ['rollout', 'promote', name]);
  assert.equal(promote.code, 0, promote.stderr);
  assert.match(promote.stdout, /will be promoted/);
  const st = await waitFor('promoted', async () => {
    const x = await rolloutStatus(s, name);
    return x.phase === 'Succeeded' ? x : undefined;
  });
  assert.match(st.message, /Promoted by the user: steer-v2 promoted to 100%/);
  await waitFor('traffic on v2', async () => (await httpGet(s.gatewayPort, '/', { host })).body === welcome('v2'));
  const ro = await s.store.get(ROLLOUTS, 'default', name);
  assert.equal(ro!.metadata.annotations?.['sluice.dev/rollout-action'], undefined, 'the action is consumed');
  const missing = await sluiceCli(s, ['rollout', 'status', 'nothing']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no rollout "nothing" in namespace "default"/);
});

test(
  'a Rollout waiting on its confirm-rollout webhook is still waiting after a restart, and goes on once the hook says yes',
  { timeout: 180_000 },
  async (t) => {
    let confirm = 503;
    const hooks: string[] = [];
    const hook = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        hooks.push(body);
        res.writeHead(confirm).end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    t.after(() => {
      hook.closeAllConnections();
      return new Promise<void>((r) => hook.close(() => r()));
    });
    const url = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/confirm`;
    const dataDir = mkdtempSync(join(tmpdir(), 'sluice-rollout-'));
    t.after(() => rmSync(dataDir, { recursive: true, force: true }));
    const name = 'gated';
    const host = `${name}.default.example.com`;

    const first = await startSluice({ apiPort: 0, gatewayPort: 0, quiet: true, gracePeriodMs: 2000, dataDir, rolloutTickMs: 200 });
    try {
      await applyDoc(first, exampleService(name, { revision: 'v1' }));
      await waitFor('v1 answers', async () => (await httpGet(first.gatewayPort, '/', { host })).body === welcome('v1'));
      await applyDoc(first, rolloutDoc(name, { webhooks: [{ name: 'gate', type: 'confirm-rollout', url }] }));
      await waitFor('stable pinned', async () => (await rolloutStatus(first, name)).phase === 'Initialized');
      await applyDoc(first, exampleService(name, { revision: 'v2' }));
      await waitFor('held at the gate', async () => /confirm-rollout/.test((await rolloutStatus(first, name)).message ?? ''));
    } finally {
      await first.stop();
    }
    const payload = JSON.parse(hooks[hooks.length - 1]);
    assert.deepEqual(
      [payload.name, payload.phase, payload.metadata.type, payload.metadata.canaryRevision],
      [name, 'Waiting', 'confirm-rollout', `${name}-v2`],
    );

    const second = await startSluice({ apiPort: 0, gatewayPort: 0, quiet: true, gracePeriodMs: 2000, dataDir, rolloutTickMs: 200 });
    t.after(() => second.stop());
    const after = await rolloutStatus(second, name);
    assert.deepEqual([after.phase, after.stableRevision, after.canaryRevision], ['Waiting', `${name}-v1`, `${name}-v2`]);
    await waitFor('v1 still serves', async () => (await httpGet(second.gatewayPort, '/', { host })).body === welcome('v1'));
    confirm = 200;
    await waitFor('promoted after confirmation', async () => (await rolloutStatus(second, name)).phase === 'Succeeded', 60_000, 50);
    assert.equal((await rolloutStatus(second, name)).stableRevision, `${name}-v2`);
  },
);
