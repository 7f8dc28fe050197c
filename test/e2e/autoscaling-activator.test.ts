// The activator side of autoscaling, through a real server: a full hold queue answers 503 with
// Retry-After at once and memory stays bounded; an app that fails at a cold start gets its held
// requests answered with a clear 503 that names the reason, and the Revision shows it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { waitFor } from '../support/poll.js';
import { gatewayGet, kubectl, startTestSluice } from '../support/sluice.js';
import { projectRoot, type RunningSluice } from '../../src/server.js';

const IMAGE = 'registry.cn-hangzhou.aliyuncs.com/knative-sample/rest-api-go:v1';
const REV = 'serving.knative.dev/revisions';
const FAST = { 'stable-window': '6s', 'scale-to-zero-grace-period': '1s' };

async function apply(s: RunningSluice, doc: unknown): Promise<void> {
  const r = await kubectl(s.kubeconfigPath, ['apply', '-f', '-'], JSON.stringify(doc));
  assert.equal(r.code, 0, r.stderr);
}

interface Reply {
  status: number;
  retryAfter?: string;
  body: string;
}

function get(port: number, host: string, path: string, agent: http.Agent | false = false): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, headers: { host }, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] as string | undefined, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A full garbage collection on demand, so heap measurements compare live objects, not GC timing. */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

const cond = (obj: any, type: string) => obj?.status?.conditions?.find((c: any) => c.type === type);

test('a full hold queue answers 503 with Retry-After at once, and memory stays bounded', async (t) => {
  const s = await startTestSluice(t, { autoscalerConfig: FAST, maxQueuedPerRevision: 5 });
  // One instance that takes one request at a time: a slow request fills it, five more fill the queue.
  await apply(s, {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: { name: 'full', namespace: 'default' },
    spec: {
      template: {
        metadata: { name: 'full-v1', annotations: { 'autoscaling.knative.dev/min-scale': '1', 'autoscaling.knative.dev/max-scale': '1' } },
        spec: { containerConcurrency: 1, containers: [{ image: IMAGE, env: [{ name: 'RESOURCE', value: 'full' }] }] },
      },
    },
  });
  const host = 'full.default.example.com';
  const key = 'default/full-v1';
  await waitFor('first answer', async () => (await gatewayGet(s.gatewayPort, host)).status === 200, 20_000);

  // These stay open until the server stops (which answers them); their outcome is not the point.
  const parked = Array.from({ length: 6 }, () => get(s.gatewayPort, host, '/?sleep=60000').catch(() => undefined));
  await waitFor('slot taken and queue full', () => s.gateway.load(key)?.inFlight === 1 && s.gateway.load(key)?.queued === 5);

  const first = await get(s.gatewayPort, host, '/');
  assert.equal(first.status, 503);
  assert.equal(first.retryAfter, '1');
  assert.match(first.body, /revision "default\/full-v1" has no free capacity and already holds 5 waiting requests/);

  // Many more rejected requests: each is answered and forgotten, so memory does not grow with them.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 50 });
  t.after(() => agent.destroy());
  const round = async (n: number) => {
    const statuses = await Promise.all(Array.from({ length: n }, () => get(s.gatewayPort, host, '/', agent).then((r) => r.status)));
    assert.ok(
      statuses.every((st) => st === 503),
      'every overflow request gets 503',
    );
  };
  await round(2000); // warm-up: pools, JIT, heap growth that any traffic causes
  collectGarbage();
  const before = process.memoryUsage();
  for (let i = 0; i < 5; i++) await round(2000);
  collectGarbage();
  const after = process.memoryUsage();
  const mib = (b: number) => (b / (1024 * 1024)).toFixed(1);
  // Live objects: nothing per rejected request survives it (a leak of even 1 KiB each would show).
  assert.ok(
    after.heapUsed - before.heapUsed < 4 * 1024 * 1024,
    `heap grew ${mib(after.heapUsed - before.heapUsed)} MiB over 10000 rejected requests`,
  );
  // The whole process, generously: the allocator may keep pages it got during the rounds.
  assert.ok(after.rss - before.rss < 64 * 1024 * 1024, `RSS grew ${mib(after.rss - before.rss)} MiB over 10000 rejected requests`);
  // Still exactly the bounded queue, and the autoscaler did not go past max-scale.
  assert.equal(s.gateway.load(key)?.queued, 5);
  assert.equal(s.runtime.status(key)?.replicas, 1);
  void parked;
});

test('an app that fails at a cold start: the held request gets a clear 503 and the Revision shows the reason', async (t) => {
  const s = await startTestSluice(t, { autoscalerConfig: FAST });
  const dir = mkdtempSync(join(tmpdir(), 'sluice-coldfail-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const failFile = join(dir, 'fail');
  // Starts normally until the flag file exists; then it dies at start, as an app whose database
  // went away would.
  const script = 'if [ -e "$FAIL_FILE" ]; then echo "cannot reach the database" >&2; exit 1; fi; exec "$NODE" "$APP"';
  await apply(s, {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: { name: 'coldfail', namespace: 'default' },
    spec: {
      template: {
        metadata: { name: 'coldfail-v1' },
        spec: {
          containers: [
            {
              command: ['/bin/sh', '-c', script],
              env: [
                { name: 'FAIL_FILE', value: failFile },
                { name: 'NODE', value: process.execPath },
                { name: 'APP', value: join(projectRoot, 'dist', 'examples', 'rest-api', 'server.js') },
                { name: 'RESOURCE', value: 'coldfail' },
              ],
            },
          ],
        },
      },
    },
  });
  const host = 'coldfail.default.example.com';
  const key = 'default/coldfail-v1';
  await waitFor('first answer', async () => (await gatewayGet(s.gatewayPort, host)).status === 200, 20_000);
  await waitFor('zero instances', () => s.runtime.status(key)?.replicas === 0 && s.runtime.status(key)?.readyReplicas === 0, 30_000);

  writeFileSync(failFile, '');
  const r = await get(s.gatewayPort, host, '/');
  assert.equal(r.status, 503);
  assert.match(r.body, /^Revision "coldfail-v1" failed to start: ExitCode1: container exited with code 1/);
  assert.match(r.body, /cannot reach the database/);

  const rev = await waitFor('revision shows the failure', async () => {
    const x = await s.store.get(REV, 'default', 'coldfail-v1');
    return cond(x, 'ContainerHealthy')?.status === 'False' ? x : undefined;
  });
  assert.match(cond(rev, 'ContainerHealthy').reason, /ExitCode1|CrashLoopBackOff/);
  assert.match(cond(rev, 'ContainerHealthy').message, /cannot reach the database/);
  assert.equal(cond(rev, 'Ready').status, 'False');

  // The cause goes away: the next request starts it again and is served.
  rmSync(failFile);
  await waitFor('served again', async () => (await get(s.gatewayPort, host, '/')).status === 200, 20_000);
  await waitFor('revision ready again', async () => cond(await s.store.get(REV, 'default', 'coldfail-v1'), 'Ready')?.status === 'True');
});
