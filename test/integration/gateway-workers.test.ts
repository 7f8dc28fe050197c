// GatewayCluster (src/dataplane/workers/) against real upstreams on 127.0.0.1: two worker
// processes on one port, fed routes and revisions from this process. containerConcurrency and the
// hold bound hold across the workers (also while they split the slots into shares), a drain waits
// for both, and close() leaves no process behind.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { GatewayCluster } from '../../src/dataplane/workers/cluster.js';
import { waitFor } from '../support/poll.js';
import { httpGet } from '../support/http.js';
import { alive } from '../support/process.js';

const HOST = 'app.default.example.com';
const KEY = 'default/app-00001';

interface Upstream {
  port: number;
  max: number;
  now: number;
  served: number;
  /** Requests held open until released. */
  parked: http.ServerResponse[];
}

/** An app that records the most requests it had at once; ?park keeps a request open until released. */
async function upstream(t: { after: (fn: () => unknown) => void }): Promise<Upstream> {
  const u: Upstream = { port: 0, max: 0, now: 0, served: 0, parked: [] };
  const srv = http.createServer((req, res) => {
    u.now++;
    u.served++;
    u.max = Math.max(u.max, u.now);
    res.on('close', () => u.now--);
    if (req.url?.includes('park')) u.parked.push(res);
    else setTimeout(() => res.end('ok'), 20);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  u.port = (srv.address() as AddressInfo).port;
  t.after(() => {
    for (const r of u.parked) r.destroy();
    srv.closeAllConnections();
    srv.close();
  });
  return u;
}

async function twoWorkers(t: { after: (fn: () => unknown) => void }, maxQueuedPerRevision?: number) {
  const gw = new GatewayCluster({ workers: 2, maxQueuedPerRevision, loadIntervalMs: 20 });
  const port = await gw.listen(0);
  t.after(() => gw.close());
  gw.setRoute('default/app', [{ host: HOST, targets: [{ revisionKey: KEY, percent: 100 }] }]);
  return { gw, port };
}

const get = (port: number, path = '/') => httpGet(port, path, { host: HOST });

test('containerConcurrency 1 holds across two workers under concurrent requests', async (t) => {
  const u = await upstream(t);
  const { gw, port } = await twoWorkers(t);
  gw.setRevision({ key: KEY, endpoints: [{ id: 'i1', host: '127.0.0.1', port: u.port }], containerConcurrency: 1, timeoutSeconds: 30 });
  const replies = await Promise.all(Array.from({ length: 40 }, () => get(port)));
  assert.ok(replies.every((r) => r.status === 200));
  assert.equal(u.max, 1);
  const per = await waitFor('both workers reported', () => {
    const w = gw.workers();
    return w[0].requests + w[1].requests === 40 ? w : undefined;
  });
  assert.ok(per[0].requests > 0 && per[1].requests > 0, `requests per worker: ${per.map((w) => w.requests).join('/')}`);
  // The autoscaler's reader sees the sum (workers report every loadIntervalMs).
  const reader = gw.reader();
  const window = await waitFor('every response counted', () => {
    const w = reader.peek(KEY);
    return w.completed === 40 ? w : undefined;
  });
  assert.equal(window.requests, 40);
  assert.equal(window.errors, 0);
});

test('containerConcurrency 4 holds across two workers while they split the slots into shares', async (t) => {
  const u = await upstream(t);
  const { gw, port } = await twoWorkers(t);
  gw.setRevision({ key: KEY, endpoints: [{ id: 'i1', host: '127.0.0.1', port: u.port }], containerConcurrency: 4, timeoutSeconds: 30 });
  // Three rounds of 30 at once, each on its own connection: both workers hold requests.
  for (let round = 0; round < 3; round++) {
    const replies = await Promise.all(Array.from({ length: 30 }, () => get(port)));
    assert.ok(replies.every((r) => r.status === 200));
  }
  assert.equal(u.max, 4);
  assert.equal(u.served, 90);
  assert.ok((gw.slotMessages().get('share') ?? 0) > 0, `the workers were given shares: ${JSON.stringify([...gw.slotMessages()])}`);
  await waitFor('queue empty', () => gw.load(KEY)?.queued === 0);
});

test('the hold bound is one bound for all workers; past it 503 with Retry-After', async (t) => {
  const u = await upstream(t);
  const { gw, port } = await twoWorkers(t, 3);
  gw.setRevision({ key: KEY, endpoints: [{ id: 'i1', host: '127.0.0.1', port: u.port }], containerConcurrency: 1, timeoutSeconds: 30 });
  const parked = Array.from({ length: 4 }, () => get(port, '/?park').catch(() => undefined));
  await waitFor('one in flight, three held', () => u.now === 1 && gw.load(KEY)?.queued === 3);
  for (let i = 0; i < 6; i++) {
    const r = await httpGet(port, '/', { host: HOST });
    assert.equal(r.status, 503);
    assert.equal(r.headers['retry-after'], '1');
    assert.match(r.body, /revision "default\/app-00001" has no free capacity and already holds 3 waiting requests/);
  }
  assert.equal(gw.load(KEY)?.queued, 3);
  // Releasing the parked request lets the held ones through, one at a time.
  const release = async () => {
    await waitFor('a parked request', () => u.parked.length > 0);
    u.parked.shift()!.end('done');
  };
  for (let i = 0; i < 4; i++) await release();
  await Promise.all(parked);
  assert.equal(u.max, 1);
  await waitFor('queue empty', () => gw.load(KEY)?.queued === 0);
  assert.equal(gw.rejections().get('queue_full'), 6);
});

test('requests held in both workers with no instance: one demand signal, all served once it is ready', async (t) => {
  const u = await upstream(t);
  const { gw, port } = await twoWorkers(t);
  const demands: string[] = [];
  gw.onDemand((k) => demands.push(k));
  gw.setRevision({ key: KEY, endpoints: [], containerConcurrency: 0, timeoutSeconds: 30 });
  const replies = Array.from({ length: 6 }, () => get(port));
  await waitFor('six held', () => gw.load(KEY)?.queued === 6);
  assert.deepEqual(demands, [KEY]);
  gw.setRevision({ key: KEY, endpoints: [{ id: 'i1', host: '127.0.0.1', port: u.port }], containerConcurrency: 0, timeoutSeconds: 30 });
  assert.ok((await Promise.all(replies)).every((r) => r.status === 200));
  await waitFor('queue empty', () => gw.load(KEY)?.queued === 0);
});

test('a drain waits for requests in flight in every worker; close leaves no worker running', async (t) => {
  const u = await upstream(t);
  const { gw, port } = await twoWorkers(t);
  gw.setRevision({ key: KEY, endpoints: [{ id: 'i1', host: '127.0.0.1', port: u.port }], containerConcurrency: 0, timeoutSeconds: 30 });
  const parked = Array.from({ length: 4 }, () => get(port, '/?park'));
  await waitFor('four in flight', () => u.now === 4);
  let drained = false;
  const drain = gw.drain(KEY, 'i1').then(() => (drained = true));
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(drained, false);
  for (const r of u.parked.splice(0)) r.end('done');
  await drain;
  assert.ok((await Promise.all(parked)).every((r) => r.status === 200));
  assert.deepEqual(gw.load(KEY)?.endpoints, []);

  const pids = gw.workers().map((w) => w.pid!);
  assert.ok(pids.every(alive));
  await gw.close();
  assert.ok(!pids.some(alive), 'every worker exited');
  await assert.rejects(get(port));
});

test('once synced() resolves every worker serves the tables set before it (a Route is Ready only then)', async (t) => {
  const u = await upstream(t);
  const { gw, port } = await twoWorkers(t);
  // Set, wait for the barrier, ask at once: no worker may still answer "no service is routed".
  for (let round = 0; round < 5; round++) {
    const host = `new-${round}.default.example.com`;
    const key = `default/new-${round}-00001`;
    gw.setRevision({ key, endpoints: [{ id: `i${round}`, host: '127.0.0.1', port: u.port }], containerConcurrency: 0, timeoutSeconds: 30 });
    gw.setRoute(`default/new-${round}`, [{ host, targets: [{ revisionKey: key, percent: 100 }] }]);
    await gw.synced();
    const replies = await Promise.all(Array.from({ length: 4 }, () => httpGet(port, '/', { host })));
    assert.deepEqual(
      replies.map((r) => r.status),
      [200, 200, 200, 200],
      replies.map((r) => r.body).join(' | '),
    );
  }
});
