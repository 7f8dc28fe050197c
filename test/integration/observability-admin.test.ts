// The admin listener over real HTTP: health, readiness, /metrics, and the token beyond loopback.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { AdminServer, isLoopback } from '../../src/observability/admin.js';
import { Registry } from '../../src/observability/registry.js';

function get(port: number, path: string, headers: Record<string, string> = {}, method = 'GET') {
  return new Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function start(t: { after: (fn: () => unknown) => void }, readsNeedToken?: boolean) {
  const registry = new Registry();
  registry.counter('demo_total', 'Demo.').child().inc(3);
  let why: string | undefined = 'starting';
  const admin = new AdminServer({ registry, token: 'sekret', notReady: () => why, readsNeedToken });
  admin.route({ method: 'POST', path: '/api/v1/act', auth: 'always', handle: ({ res }) => void res.end('done') });
  const port = await admin.listen(0, '127.0.0.1');
  t.after(() => admin.close());
  return { port, ready: () => (why = undefined) };
}

test('on loopback: health, readiness that follows start-up, metrics without a token; changes need it', async (t) => {
  const { port, ready } = await start(t);
  assert.equal((await get(port, '/healthz')).status, 200);
  const notReady = await get(port, '/readyz');
  assert.equal(notReady.status, 503);
  assert.match(notReady.body, /not ready: starting/);
  ready();
  assert.equal((await get(port, '/readyz')).status, 200);
  const m = await get(port, '/metrics');
  assert.equal(m.status, 200);
  assert.match(String(m.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  assert.match(m.body, /^demo_total 3$/m);
  assert.equal((await get(port, '/metrics', {}, 'HEAD')).body, '');
  assert.equal((await get(port, '/api/v1/act', {}, 'POST')).status, 401);
  assert.equal((await get(port, '/api/v1/act', { authorization: 'Bearer sekret' }, 'POST')).body, 'done');
  assert.equal((await get(port, '/api/v1/act')).status, 405);
  assert.equal((await get(port, '/nope')).status, 404);
});

test('beyond loopback every read but health and readiness needs the bearer token', async (t) => {
  const { port } = await start(t, true);
  assert.equal((await get(port, '/healthz')).status, 200);
  assert.equal((await get(port, '/readyz')).status, 503);
  const denied = await get(port, '/metrics');
  assert.equal(denied.status, 401);
  assert.match(denied.body, /needs the bearer token/);
  assert.equal(denied.headers['www-authenticate'], 'Bearer realm="sluice"');
  assert.equal((await get(port, '/metrics', { authorization: 'Bearer wrong' })).status, 401);
  assert.match((await get(port, '/metrics', { authorization: 'Bearer sekret' })).body, /demo_total 3/);
});

test('a port in use is refused with a message that names the flag', async (t) => {
  const { port } = await start(t);
  const other = new AdminServer({ registry: new Registry(), token: 't', notReady: () => undefined });
  await assert.rejects(other.listen(port, '127.0.0.1'), /127\.0\.0\.1:\d+ is already in use .*choose another with --admin-port/);
});

test('loopback addresses', () => {
  for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]']) assert.equal(isLoopback(h), true, h);
  for (const h of ['0.0.0.0', '10.0.0.1', '::', 'example.com']) assert.equal(isLoopback(h), false, h);
});
