// `sluice server --gateway-workers 2` end to end: one gateway port served by two worker processes,
// with containerConcurrency held across them (the app records the most requests it ever had at
// once), scale from zero through a worker, the autoscaler reading the sum of both workers' load,
// and a killed worker restarted with the full routing state.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../support/poll.js';
import { httpGet } from '../support/http.js';
import { alive } from '../support/process.js';
import { applyDoc, exampleService, gatewayGet, paStatus, startTestSluice } from '../support/sluice.js';
import type { RunningSluice } from '../../src/server.js';
import { GatewayCluster } from '../../src/dataplane/workers/cluster.js';

const FAST = { 'stable-window': '6s', 'scale-to-zero-grace-period': '1s' };

// Answers after ?sleep=N ms; GET /max tells the most requests it ever served at once and how many
// it served (the /max requests themselves not counted).
const APP = `import http from 'node:http';
let now = 0, max = 0, served = 0;
const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://app');
  if (url.pathname === '/max') return res.end(JSON.stringify({ max, served }));
  now++; served++; max = Math.max(max, now);
  setTimeout(() => { now--; res.end('ok'); }, Number(url.searchParams.get('sleep') ?? 0));
});
server.listen(Number(process.env.PORT), process.env.HOST || '127.0.0.1');
process.on('SIGTERM', () => { server.close(() => process.exit(0)); server.closeIdleConnections(); });
`;

function appFile(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-workers-app-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'app.mjs');
  writeFileSync(file, APP);
  return file;
}

function cluster(s: RunningSluice): GatewayCluster {
  assert.ok(s.gateway instanceof GatewayCluster, 'the gateway runs in worker processes');
  return s.gateway;
}

/** Requests each worker slot has taken, by slot. */
function perWorker(s: RunningSluice): number[] {
  return cluster(s)
    .workers()
    .map((w) => w.requests);
}

async function startTwo(t: Parameters<typeof startTestSluice>[0]): Promise<RunningSluice> {
  const s = await startTestSluice(t, { gatewayWorkers: 2, autoscalerConfig: FAST });
  const workers = cluster(s).workers();
  assert.equal(workers.length, 2);
  assert.ok(workers.every((w) => w.listening && w.pid !== undefined && w.pid !== process.pid));
  return s;
}

/** A service of the recording app with exactly one instance; resolves once it answers. */
async function oneInstance(s: RunningSluice, app: string, name: string, containerConcurrency?: number): Promise<string> {
  await applyDoc(
    s,
    exampleService(name, {
      containerConcurrency,
      command: [process.execPath, app],
      annotations: { 'autoscaling.knative.dev/min-scale': '1', 'autoscaling.knative.dev/max-scale': '1' },
    }),
  );
  const host = `${name}.default.example.com`;
  await waitFor('first answer', async () => (await gatewayGet(s.gatewayPort, host)).status === 200, 30_000);
  return host;
}

test('two workers serve one port, and containerConcurrency 1 holds across them', async (t) => {
  const s = await startTwo(t);
  const app = appFile(t);
  const host = await oneInstance(s, app, 'one', 1);
  const before = perWorker(s);

  // Every request on a connection of its own, so connections spread over both workers.
  const n = 16;
  const replies = await Promise.all(Array.from({ length: n }, () => gatewayGet(s.gatewayPort, host, '/?sleep=50')));
  assert.deepEqual(
    replies.map((r) => r.status),
    Array(n).fill(200),
  );
  const after = await waitFor('both workers reported', () => {
    const a = perWorker(s);
    return a[0] + a[1] - before[0] - before[1] >= n ? a : undefined;
  });
  assert.ok(
    after[0] > before[0] && after[1] > before[1],
    `both workers took requests: before ${before.join('/')}, after ${after.join('/')}`,
  );

  const seen = JSON.parse((await gatewayGet(s.gatewayPort, host, '/max')).body) as { max: number; served: number };
  assert.equal(seen.max, 1, 'the app never had two requests at once');
  assert.ok(seen.served >= n + 1);

  // /metrics shows the summed series (workers report every 100 ms) and the per-worker ones.
  const metrics = await waitFor('the summed 2xx count on /metrics', async () => {
    const body = (await httpGet(s.adminPort, '/metrics')).body;
    const ok = Number(/sluice_gateway_requests_total\{namespace="default",revision="one-v1",code="2xx"\} (\d+)/.exec(body)?.[1]);
    return ok === seen.served + 1 ? body : undefined;
  });
  assert.match(metrics, /sluice_gateway_workers 2/);
  assert.match(metrics, /sluice_gateway_worker_requests_total\{worker="1"\} [1-9]/);
  assert.match(metrics, /sluice_gateway_worker_requests_total\{worker="2"\} [1-9]/);
});

test('scale from zero through either worker: held requests are served when the instance is ready', async (t) => {
  const s = await startTwo(t);
  const app = appFile(t);
  // One instance at most, so the one that answers /max is the one that served the held requests.
  await applyDoc(
    s,
    exampleService('cold', {
      containerConcurrency: 1,
      command: [process.execPath, app],
      annotations: { 'autoscaling.knative.dev/max-scale': '1' },
    }),
  );
  const host = 'cold.default.example.com';
  const key = 'default/cold-v1';
  await waitFor('routed', async () => (await gatewayGet(s.gatewayPort, host)).status === 200, 30_000);
  await waitFor('scaled to zero', () => s.runtime.status(key)?.replicas === 0 && s.gateway.load(key)?.endpoints.length === 0, 60_000);

  const before = perWorker(s);
  const replies = await Promise.all(Array.from({ length: 6 }, () => gatewayGet(s.gatewayPort, host, '/?sleep=20')));
  assert.deepEqual(
    replies.map((r) => r.status),
    Array(6).fill(200),
  );
  const after = await waitFor('counted', () => {
    const a = perWorker(s);
    return a[0] + a[1] - before[0] - before[1] >= 6 ? a : undefined;
  });
  assert.ok(after[0] > before[0] && after[1] > before[1], `requests held in both workers: ${before.join('/')} -> ${after.join('/')}`);
  const seen = JSON.parse((await gatewayGet(s.gatewayPort, host, '/max')).body) as { max: number; served: number };
  assert.equal(seen.max, 1, 'one request at a time');
  assert.ok(seen.served >= 6, `the one instance served them all (${seen.served})`);
});

test('the autoscaler sees the sum of both workers’ load', async (t) => {
  const s = await startTwo(t);
  const app = appFile(t);
  const host = await oneInstance(s, app, 'sum');
  const before = perWorker(s);
  const n = 8;
  // One connection at a time, each counted before the next: round-robin then alternates workers.
  const replies: Promise<unknown>[] = [];
  let shares = [0, 0];
  for (let i = 1; i <= n; i++) {
    replies.push(gatewayGet(s.gatewayPort, host, '/?sleep=5000'));
    shares = await waitFor(`request ${i} in flight`, () => {
      const a = perWorker(s);
      const d = [a[0] - before[0], a[1] - before[1]];
      return d[0] + d[1] >= i ? d : undefined;
    });
  }
  assert.ok(shares[0] > 0 && shares[1] > 0, `requests per worker: ${shares.join('/')}`);
  // Neither worker alone ever had more than its share in flight: a panic value above the larger
  // share is the sum.
  const observed = await waitFor(
    'the autoscaler’s panic concurrency to pass the larger share',
    async () => {
      const v = (await paStatus(s, 'sum-v1'))?.metrics?.panicValue;
      return typeof v === 'number' && v > Math.max(...shares) ? v : undefined;
    },
    10_000,
  );
  assert.ok(observed <= n + 0.5, `observed ${observed} of ${n}`);
  assert.equal(s.gateway.load('default/sum-v1')?.inFlight, n);
  await Promise.all(replies);
});

test('a worker that dies is restarted with the full state and serves again', async (t) => {
  const s = await startTwo(t);
  const app = appFile(t);
  const host = await oneInstance(s, app, 'crash', 1);
  const gw = cluster(s);
  const victim = gw.workers()[0];
  process.kill(victim.pid!, 'SIGKILL');
  await waitFor('the old process gone', () => !alive(victim.pid!));
  const back = await waitFor('slot 1 restarted and listening', () => {
    const w = gw.workers()[0];
    return w.restarts === 1 && w.listening && w.pid !== victim.pid ? w : undefined;
  });
  const before = back.requests;
  // Requests keep coming to both slots; the new process knows the routes without any change.
  const replies = await Promise.all(Array.from({ length: 16 }, () => gatewayGet(s.gatewayPort, host, '/?sleep=10')));
  assert.deepEqual(
    replies.map((r) => r.status),
    Array(16).fill(200),
  );
  await waitFor('the restarted worker served', () => gw.workers()[0].requests > before);
  const seen = JSON.parse((await gatewayGet(s.gatewayPort, host, '/max')).body) as { max: number };
  assert.equal(seen.max, 1, 'containerConcurrency held through the restart');
  const metrics = (await httpGet(s.adminPort, '/metrics')).body;
  assert.match(metrics, /sluice_gateway_worker_restarts_total\{worker="1"\} 1/);

  const pids = gw.workers().map((w) => w.pid!);
  await s.stop();
  assert.ok(
    pids.every((pid) => !alive(pid)),
    'no worker outlives the server',
  );
});
