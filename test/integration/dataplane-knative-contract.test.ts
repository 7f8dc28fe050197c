// The gateway against Knative's data-plane contract, over real HTTP on 127.0.0.1 with a slow app:
// timeoutSeconds / responseStartTimeoutSeconds / idleTimeoutSeconds (knative/serving
// pkg/http/handler/timeout.go and its e2e timeout tests), the request headers of the runtime
// contract, and Knative's probe requests answered by the gateway.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { Gateway } from '../../src/dataplane/gateway.js';
import type { RevisionBackend } from '../../src/dataplane/types.js';
import { waitFor } from '../support/poll.js';

const HOST = 'slow.default.example.com';

/**
 * /stream?before=MS&every=MS&chunks=N&pause=MS: waits `before`, sends headers and a first chunk,
 * then a chunk every `every` ms (N in all), with an extra `pause` before the second one.
 * /headers answers with the request headers it saw.
 */
async function startSlowApp(t: TestContext): Promise<{ port: number; hits: number; seen: http.IncomingHttpHeaders[] }> {
  const app = { port: 0, hits: 0, seen: [] as http.IncomingHttpHeaders[] };
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, f: () => void) => {
    const tm = setTimeout(() => {
      timers.delete(tm);
      f();
    }, ms);
    timers.add(tm);
  };
  const server = http.createServer((req, res) => {
    app.hits++;
    app.seen.push(req.headers);
    const u = new URL(req.url ?? '/', 'http://x');
    if (u.pathname === '/headers') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(req.headers));
      return;
    }
    const n = (k: string) => Number(u.searchParams.get(k) ?? 0);
    const chunks = Math.max(1, n('chunks'));
    let sent = 0;
    const next = () => {
      if (res.destroyed) return;
      sent++;
      if (sent === 1) res.writeHead(200, { 'content-type': 'text/plain' });
      res.write(`chunk${sent};`);
      if (sent === chunks) res.end();
      else later(n('every') + (sent === 1 ? n('pause') : 0), next);
    };
    later(n('before'), next);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  app.port = (server.address() as AddressInfo).port;
  t.after(() => {
    for (const tm of timers) clearTimeout(tm);
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  });
  return app;
}

async function gatewayFor(
  t: TestContext,
  backend: Omit<RevisionBackend, 'key' | 'containerConcurrency'> & { containerConcurrency?: number },
) {
  const gw = new Gateway();
  const port = await gw.listen(0);
  t.after(() => gw.close());
  gw.setRevision({ key: 'default/slow-1', containerConcurrency: 0, ...backend });
  gw.setRoutes([{ host: HOST, targets: [{ revisionKey: 'default/slow-1', percent: 100 }] }]);
  return { gw, port };
}

interface Outcome {
  status: number;
  body: string;
  /** The response ended without its last byte (connection cut mid-body). */
  cut: boolean;
}

function get(port: number, path: string, headers: Record<string, string> = {}): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, headers: { host: HOST, ...headers }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, body, cut: false }));
      res.on('aborted', () => resolve({ status: res.statusCode!, body, cut: true }));
      res.on('error', () => resolve({ status: res.statusCode!, body, cut: true }));
    });
    req.on('error', reject);
    req.end();
  });
}

const endpoint = (port: number) => [{ id: 'slow-0', host: '127.0.0.1', port }];

test('timeoutSeconds: no response in time is 504 "request timeout"; a response that started is cut at the deadline', async (t) => {
  const app = await startSlowApp(t);
  const { port } = await gatewayFor(t, { endpoints: endpoint(app.port), timeoutSeconds: 0.3 });
  assert.deepEqual(await get(port, '/stream?before=800'), { status: 504, body: 'request timeout', cut: false });
  // Starts at once but would take 1 s: the whole request is bounded, so the body is cut.
  const started = await get(port, '/stream?chunks=10&every=100');
  assert.equal(started.status, 200);
  assert.equal(started.cut, true);
  assert.match(started.body, /^chunk1;/);
  assert.doesNotMatch(started.body, /chunk10;/);
  // Within the deadline: whole.
  assert.deepEqual(await get(port, '/stream?chunks=3&every=20'), { status: 200, body: 'chunk1;chunk2;chunk3;', cut: false });
});

test('responseStartTimeoutSeconds: bounds the first byte only; a started response streams on past it', async (t) => {
  const app = await startSlowApp(t);
  const { port } = await gatewayFor(t, { endpoints: endpoint(app.port), timeoutSeconds: 10, responseStartTimeoutSeconds: 0.25 });
  assert.deepEqual(await get(port, '/stream?before=700'), { status: 504, body: 'request timeout', cut: false });
  const long = await get(port, '/stream?chunks=6&every=100');
  assert.deepEqual(long, { status: 200, body: 'chunk1;chunk2;chunk3;chunk4;chunk5;chunk6;', cut: false });
});

test('idleTimeoutSeconds: a gap between response bytes ends the request; steady bytes keep it going', async (t) => {
  const app = await startSlowApp(t);
  const { port } = await gatewayFor(t, { endpoints: endpoint(app.port), timeoutSeconds: 10, idleTimeoutSeconds: 0.3 });
  // Steady chunks every 100 ms for 0.8 s: longer than the idle timeout in total, never idle.
  assert.deepEqual(await get(port, '/stream?chunks=9&every=100'), {
    status: 200,
    body: 'chunk1;chunk2;chunk3;chunk4;chunk5;chunk6;chunk7;chunk8;chunk9;',
    cut: false,
  });
  // Nothing at all for longer than the idle timeout (counted from arrival): 504.
  assert.deepEqual(await get(port, '/stream?before=800'), { status: 504, body: 'request timeout', cut: false });
  // Started, then silent: cut.
  const gap = await get(port, '/stream?chunks=2&pause=900');
  assert.equal(gap.status, 200);
  assert.equal(gap.cut, true);
  assert.equal(gap.body, 'chunk1;');
});

test("a request still held when a deadline passes gets the activator's 504; over HTTP/2 too", async (t) => {
  const { gw, port } = await gatewayFor(t, { endpoints: [], timeoutSeconds: 10, responseStartTimeoutSeconds: 0.2 });
  assert.deepEqual(await get(port, '/'), { status: 504, body: 'activator request timeout', cut: false });
  assert.equal(gw.load('default/slow-1')!.queued, 0);
  const session = http2.connect(`http://127.0.0.1:${port}`);
  t.after(() => session.destroy());
  const r = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const s = session.request({ ':path': '/', ':authority': HOST });
    let status = 0;
    let body = '';
    s.setEncoding('utf8');
    s.on('response', (h) => (status = Number(h[':status'])));
    s.on('data', (c: string) => (body += c));
    s.on('end', () => resolve({ status, body }));
    s.on('error', reject);
  });
  assert.deepEqual(r, { status: 504, body: 'activator request timeout' });
});

test('request headers: X-Forwarded-*, RFC 7239 Forwarded, K-Proxy-Request for held requests, internal headers dropped', async (t) => {
  const app = await startSlowApp(t);
  const { gw, port } = await gatewayFor(t, { endpoints: endpoint(app.port), timeoutSeconds: 10, containerConcurrency: 1 });
  const seen = async (headers: Record<string, string>) => JSON.parse((await get(port, '/headers', headers)).body) as Record<string, string>;

  const plain = await seen({ 'k-proxy-request': 'activator', 'k-network-hash': 'abc' });
  assert.equal(plain['x-forwarded-for'], '127.0.0.1');
  assert.equal(plain['x-forwarded-proto'], 'http');
  assert.equal(plain['x-forwarded-host'], HOST);
  assert.equal(plain.forwarded, `for=127.0.0.1;host=${HOST};proto=http`);
  assert.equal(plain['k-proxy-request'], undefined, 'a client cannot claim to be the activator');
  assert.equal(plain['k-network-hash'], undefined);

  const chained = await seen({
    'x-forwarded-for': '203.0.113.7, 2001:db8::1',
    'x-forwarded-proto': 'https',
    'x-forwarded-host': 'shop.example',
  });
  assert.equal(chained['x-forwarded-for'], '203.0.113.7, 2001:db8::1, 127.0.0.1');
  assert.equal(chained['x-forwarded-proto'], 'https');
  assert.equal(chained.forwarded, 'for=203.0.113.7;host=shop.example;proto=https, for="[2001:db8::1]", for=127.0.0.1');

  // A Forwarded header from the client is passed on as it came (Knative's queue-proxy shims only when absent).
  const own = await seen({ forwarded: 'for=198.51.100.2;proto=https' });
  assert.equal(own.forwarded, 'for=198.51.100.2;proto=https');

  // Held for capacity, then sent: the app sees it came through the activator.
  gw.setRevision({ key: 'default/slow-1', endpoints: [], containerConcurrency: 1, timeoutSeconds: 10 });
  const held = seen({});
  await waitFor('held', () => gw.load('default/slow-1')?.queued === 1);
  gw.setRevision({ key: 'default/slow-1', endpoints: endpoint(app.port), containerConcurrency: 1, timeoutSeconds: 10 });
  assert.equal((await held)['k-proxy-request'], 'activator');
});

test('Knative probes are answered by the gateway and never reach the app', async (t) => {
  const app = await startSlowApp(t);
  const { port } = await gatewayFor(t, { endpoints: endpoint(app.port), timeoutSeconds: 10 });
  const probe = (headers: Record<string, string>) =>
    new Promise<{ status: number; body: string; hash: string | undefined }>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path: '/healthz', headers: { host: HOST, ...headers } }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, body, hash: res.headers['k-network-hash'] as string | undefined }));
      });
      req.on('error', reject);
      req.end();
    });
  assert.deepEqual(await probe({ 'user-agent': 'kube-probe/1.29' }), { status: 200, body: '', hash: undefined });
  assert.deepEqual(await probe({ 'k-kubelet-probe': 'queue' }), { status: 200, body: '', hash: undefined });
  assert.deepEqual(await probe({ 'k-network-probe': 'probe', 'k-network-hash': 'h-123' }), { status: 200, body: '', hash: 'h-123' });
  assert.deepEqual(await probe({ 'k-network-probe': 'probe' }), {
    status: 400,
    body: 'a probe request must contain a non-empty "K-Network-Hash" header\n',
    hash: undefined,
  });
  assert.deepEqual(await probe({ 'k-network-probe': 'activator' }), { status: 200, body: 'activator', hash: undefined });
  assert.deepEqual(await probe({ 'k-network-probe': 'bogus' }), {
    status: 400,
    body: 'unexpected probe header value: "bogus"\n',
    hash: undefined,
  });
  // Even for a host the gateway does not route: Knative's health handlers sit in front of routing.
  assert.equal((await probe({ host: 'unknown.example.com', 'user-agent': 'kube-probe/1.29' })).status, 200);
  assert.equal(app.hits, 0, 'no probe reached the app');
  assert.equal((await get(port, '/stream')).status, 200);
  assert.equal(app.hits, 1);
});
