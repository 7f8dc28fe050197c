// The gateway over real HTTP on 127.0.0.1 with small in-process backends.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import net, { type AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { Gateway } from '../../src/dataplane/gateway.js';
import type { RevisionBackend } from '../../src/dataplane/types.js';
import { waitFor } from '../support/poll.js';

// ---- helpers ----

interface Backend {
  name: string;
  port: number;
  hits: number;
  current: number;
  max: number;
  /** Requests parked at /hang; call to answer them. */
  hung: ServerResponse[];
  closedEarly: number;
  server: http.Server;
  endpoint(id?: string): { id: string; host: string; port: number };
}

async function startBackend(t: TestContext, name: string): Promise<Backend> {
  const b: Backend = {
    name,
    port: 0,
    hits: 0,
    current: 0,
    max: 0,
    hung: [],
    closedEarly: 0,
    server: undefined as unknown as http.Server,
    endpoint: (id = name) => ({ id, host: '127.0.0.1', port: b.port }),
  };
  b.server = http.createServer((req: IncomingMessage, res: ServerResponse) => {
    b.hits++;
    b.current++;
    b.max = Math.max(b.max, b.current);
    let counted = true;
    const done = () => {
      if (counted) {
        counted = false;
        b.current--;
      }
    };
    res.on('close', () => {
      if (!res.writableFinished) b.closedEarly++;
      done();
    });
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/slow') {
      setTimeout(() => res.end(name), Number(url.searchParams.get('ms') ?? 50));
    } else if (url.pathname === '/hang') {
      b.hung.push(res);
    } else if (url.pathname === '/echo') {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      req.pipe(res);
    } else if (url.pathname === '/headers') {
      res.setHeader('content-type', 'application/json');
      res.setHeader('x-backend', name);
      res.end(JSON.stringify(req.headers));
    } else {
      req.resume();
      req.on('end', () => res.end(name));
    }
  });
  await new Promise<void>((r) => b.server.listen(0, '127.0.0.1', r));
  b.port = (b.server.address() as AddressInfo).port;
  t.after(() => {
    for (const r of b.hung) r.destroy();
    b.server.closeAllConnections();
    return new Promise<void>((r) => b.server.close(() => r()));
  });
  return b;
}

async function startGateway(t: TestContext, opts?: ConstructorParameters<typeof Gateway>[0]): Promise<{ gw: Gateway; port: number }> {
  const gw = new Gateway(opts);
  const port = await gw.listen(0);
  t.after(() => gw.close());
  return { gw, port };
}

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function request(
  port: number,
  host: string,
  opts: { path?: string; method?: string; headers?: Record<string, string>; body?: string | Buffer; agent?: http.Agent } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: opts.path ?? '/',
        method: opts.method ?? 'GET',
        headers: { host, ...opts.headers },
        agent: opts.agent,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

function rev(
  key: string,
  endpoints: Backend[] | { id: string; host: string; port: number }[],
  cc = 0,
  timeoutSeconds = 30,
): RevisionBackend {
  return {
    key,
    endpoints: endpoints.map((e) => ('endpoint' in e ? e.endpoint() : e)),
    containerConcurrency: cc,
    timeoutSeconds,
  };
}

/** Runs `total` requests with `parallel` keep-alive clients; returns the replies in completion order. */
async function load(
  port: number,
  host: string,
  total: number,
  parallel: number,
  path = '/',
  onEach?: (i: number) => void,
): Promise<Reply[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: parallel });
  const out: Reply[] = [];
  let next = 0;
  const worker = async () => {
    while (next < total) {
      const i = next++;
      onEach?.(i);
      out.push(await request(port, host, { path, agent }));
    }
  };
  try {
    await Promise.all(Array.from({ length: parallel }, worker));
  } finally {
    agent.destroy();
  }
  return out;
}

function countBodies(replies: Reply[]): Record<string, number> {
  const c: Record<string, number> = {};
  for (const r of replies) c[`${r.status} ${r.body}`] = (c[`${r.status} ${r.body}`] ?? 0) + 1;
  return c;
}

async function closedPort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

// ---- tests ----

test('routes by Host (port and case ignored); unknown host is a clear 404', async (t) => {
  const a = await startBackend(t, 'A');
  const { gw, port } = await startGateway(t);
  gw.setRevision(rev('default/stock-00001', [a]));
  gw.setRoutes([{ host: 'stock.default.example.com', targets: [{ revisionKey: 'default/stock-00001', percent: 100 }] }]);

  for (const host of ['stock.default.example.com', `stock.default.example.com:${port}`, 'Stock.Default.Example.COM:1234']) {
    const r = await request(port, host);
    assert.equal(r.status, 200, host);
    assert.equal(r.body, 'A');
  }
  const miss = await request(port, 'nope.default.example.com:80');
  assert.equal(miss.status, 404);
  assert.match(miss.body, /no service is routed at host "nope\.default\.example\.com"/);
  assert.match(gw.metrics(), /sluice_gateway_rejected_total\{reason="unknown_host"\} 1/);
});

test('weighted split over 2000 requests: 50/50 then 40/30/30 within a point', async (t) => {
  const [a, b, c] = await Promise.all([startBackend(t, 'A'), startBackend(t, 'B'), startBackend(t, 'C')]);
  const { gw, port } = await startGateway(t);
  for (const be of [a, b, c]) gw.setRevision(rev(`default/svc-${be.name}`, [be]));
  const host = 'svc.default.example.com';

  gw.setRoutes([
    {
      host,
      targets: [
        { revisionKey: 'default/svc-A', percent: 50 },
        { revisionKey: 'default/svc-B', percent: 50 },
      ],
    },
  ]);
  let counts = countBodies(await load(port, host, 2000, 20));
  assert.ok(Math.abs(counts['200 A'] / 20 - 50) <= 1 && Math.abs(counts['200 B'] / 20 - 50) <= 1, JSON.stringify(counts));

  gw.setRoutes([
    {
      host,
      targets: [
        { revisionKey: 'default/svc-A', percent: 40 },
        { revisionKey: 'default/svc-B', percent: 30 },
        { revisionKey: 'default/svc-C', percent: 30 },
        { revisionKey: 'default/svc-D', percent: 0 },
      ],
    },
  ]);
  counts = countBodies(await load(port, host, 2000, 20));
  assert.ok(Math.abs(counts['200 A'] / 20 - 40) <= 1, JSON.stringify(counts));
  assert.ok(Math.abs(counts['200 B'] / 20 - 30) <= 1, JSON.stringify(counts));
  assert.ok(Math.abs(counts['200 C'] / 20 - 30) <= 1, JSON.stringify(counts));
  assert.equal(Object.keys(counts).length, 3, JSON.stringify(counts));
});

test('a tag host reaches only its revision', async (t) => {
  const [a, b] = await Promise.all([startBackend(t, 'A'), startBackend(t, 'B')]);
  const { gw, port } = await startGateway(t);
  gw.setRevision(rev('default/stock-v1', [a]));
  gw.setRevision(rev('default/stock-v2', [b]));
  gw.setRoutes([
    {
      host: 'stock.default.example.com',
      targets: [
        { revisionKey: 'default/stock-v1', percent: 50 },
        { revisionKey: 'default/stock-v2', percent: 50 },
      ],
    },
    { host: 'v2-stock.default.example.com', targets: [{ revisionKey: 'default/stock-v2', percent: 100 }] },
  ]);
  const counts = countBodies(await load(port, 'v2-stock.default.example.com', 100, 5));
  assert.deepEqual(counts, { '200 B': 100 });
});

test('traffic changes under 20 parallel clients lose no request', async (t) => {
  const [a, b] = await Promise.all([startBackend(t, 'A'), startBackend(t, 'B')]);
  const { gw, port } = await startGateway(t);
  gw.setRevision(rev('default/s-1', [a], 0));
  gw.setRevision(rev('default/s-2', [b], 0));
  const host = 's.default.example.com';
  const tables = [
    [{ revisionKey: 'default/s-1', percent: 100 }],
    [
      { revisionKey: 'default/s-1', percent: 50 },
      { revisionKey: 'default/s-2', percent: 50 },
    ],
    [{ revisionKey: 'default/s-2', percent: 100 }],
  ];
  let flips = 0;
  gw.setRoutes([{ host, targets: tables[0] }]);
  // Flip the table every few requests, interleaved with the load itself.
  const replies = await load(port, host, 2000, 20, '/slow?ms=1', (i) => {
    if (i % 25 === 0) gw.setRoutes([{ host, targets: tables[flips++ % tables.length] }]);
  });
  const counts = countBodies(replies);
  assert.equal(replies.length, 2000);
  assert.equal((counts['200 A'] ?? 0) + (counts['200 B'] ?? 0), 2000, JSON.stringify(counts));
  assert.ok(counts['200 A'] > 0 && counts['200 B'] > 0);
  assert.ok(flips > 10);
});

test('containerConcurrency=1 never lets two requests into one instance', async (t) => {
  const [a, b] = await Promise.all([startBackend(t, 'A'), startBackend(t, 'B')]);
  const { gw, port } = await startGateway(t);
  let demand = 0;
  gw.onDemand(() => demand++);
  gw.setRevision(rev('default/cc-1', [a], 1));
  gw.setRoutes([{ host: 'cc.default.example.com', targets: [{ revisionKey: 'default/cc-1', percent: 100 }] }]);

  let replies = await Promise.all(Array.from({ length: 10 }, () => request(port, 'cc.default.example.com', { path: '/slow?ms=20' })));
  assert.deepEqual(countBodies(replies), { '200 A': 10 });
  assert.equal(a.max, 1);
  assert.ok(demand >= 1, 'queueing behind a busy instance signals demand');

  // Two instances: still at most one each, and both used.
  gw.setRevision(rev('default/cc-1', [a, b], 1));
  replies = await Promise.all(Array.from({ length: 10 }, () => request(port, 'cc.default.example.com', { path: '/slow?ms=20' })));
  assert.equal(replies.filter((r) => r.status === 200).length, 10);
  assert.equal(a.max, 1);
  assert.equal(b.max, 1);
  assert.ok(b.hits > 0);
});

test('a request held at zero instances is forwarded when an endpoint appears; onDemand fires once', async (t) => {
  const a = await startBackend(t, 'A');
  const { gw, port } = await startGateway(t);
  const demanded: string[] = [];
  gw.onDemand((k) => demanded.push(k));
  gw.setRevision(rev('default/cold-1', [], 0));
  gw.setRoutes([{ host: 'cold.default.example.com', targets: [{ revisionKey: 'default/cold-1', percent: 100 }] }]);

  const pending = Array.from({ length: 3 }, () => request(port, 'cold.default.example.com', { method: 'POST', body: 'hello' }));
  await waitFor('3 held requests', () => gw.load('default/cold-1')!.queued === 3);
  assert.deepEqual(demanded, ['default/cold-1']);

  gw.setRevision(rev('default/cold-1', [a], 0));
  const replies = await Promise.all(pending);
  assert.deepEqual(countBodies(replies), { '200 A': 3 });
  const s = gw.reader().read('default/cold-1');
  assert.equal(s.queued, 0);
  assert.equal(s.inFlight, 0);
  assert.ok(s.averageConcurrency > 0, 'held requests count toward concurrency');
  assert.deepEqual(demanded, ['default/cold-1']);
  // A new episode signals again.
  gw.setRevision(rev('default/cold-1', [], 0));
  const again = request(port, 'cold.default.example.com');
  await waitFor('second episode', () => demanded.length === 2);
  gw.setRevision(rev('default/cold-1', [a], 0));
  assert.equal((await again).status, 200);
});

test('hold queue overflow answers 503 with Retry-After at once; failHeld answers the held ones', async (t) => {
  const { gw, port } = await startGateway(t, { maxQueuedPerRevision: 2, retryAfterSeconds: 3 });
  gw.setRevision(rev('default/q-1', [], 0));
  gw.setRoutes([{ host: 'q.default.example.com', targets: [{ revisionKey: 'default/q-1', percent: 100 }] }]);
  const held = [request(port, 'q.default.example.com'), request(port, 'q.default.example.com')];
  await waitFor('2 held', () => gw.load('default/q-1')!.queued === 2);
  const over = await request(port, 'q.default.example.com');
  assert.equal(over.status, 503);
  assert.equal(over.headers['retry-after'], '3');
  assert.match(over.body, /holds 2 waiting requests/);

  assert.equal(gw.failHeld('default/q-1', 502, 'revision q-1 failed to start: exit code 1'), 2);
  for (const r of await Promise.all(held)) {
    assert.equal(r.status, 502);
    assert.match(r.body, /exit code 1/);
  }
  assert.equal(gw.load('default/q-1')!.queued, 0);
});

test("timeouts: held past timeoutSeconds and slow backend both give 504 with Knative's activator / queue-proxy body", async (t) => {
  const a = await startBackend(t, 'A');
  const { gw, port } = await startGateway(t);
  gw.setRevision(rev('default/t-1', [], 0, 0.2));
  gw.setRoutes([{ host: 't.default.example.com', targets: [{ revisionKey: 'default/t-1', percent: 100 }] }]);
  const held = await request(port, 't.default.example.com');
  assert.equal(held.status, 504);
  assert.equal(held.body, 'activator request timeout');

  gw.setRevision(rev('default/t-1', [a], 1, 0.2));
  const slow = await request(port, 't.default.example.com', { path: '/hang' });
  assert.equal(slow.status, 504);
  assert.equal(slow.body, 'request timeout');
  // The upstream request was aborted and its slot freed: the next request gets through (cc=1).
  await waitFor('backend saw the abort', () => a.closedEarly === 1);
  assert.equal(gw.load('default/t-1')!.inFlight, 0);
  assert.equal((await request(port, 't.default.example.com')).status, 200);
});

test('backend down: 502 with a clear body; bodiless requests retry on another instance', async (t) => {
  const a = await startBackend(t, 'A');
  const dead = await closedPort();
  const { gw, port } = await startGateway(t);
  gw.setRevision(rev('default/d-1', [{ id: 'dead', host: '127.0.0.1', port: dead }], 0));
  gw.setRoutes([{ host: 'd.default.example.com', targets: [{ revisionKey: 'default/d-1', percent: 100 }] }]);
  const r = await request(port, 'd.default.example.com');
  assert.equal(r.status, 502);
  assert.match(r.body, /instance "dead" \(127\.0\.0\.1:\d+\) failed before responding: ECONNREFUSED/);

  gw.setRevision(rev('default/d-1', [{ id: 'dead', host: '127.0.0.1', port: dead }, a.endpoint()], 0));
  const replies = await load(port, 'd.default.example.com', 20, 4);
  assert.deepEqual(countBodies(replies), { '200 A': 20 });
  // With a body the request cannot be replayed.
  gw.setRevision(rev('default/d-1', [{ id: 'dead', host: '127.0.0.1', port: dead }], 0));
  const post = await request(port, 'd.default.example.com', { method: 'POST', body: 'x' });
  assert.equal(post.status, 502);
  assert.equal(gw.load('default/d-1')!.inFlight, 0);
});

test('X-Forwarded-* headers are added, hop-by-hop headers dropped', async (t) => {
  const a = await startBackend(t, 'A');
  const { gw, port } = await startGateway(t);
  gw.setRevision(rev('default/h-1', [a]));
  gw.setRoutes([{ host: 'h.default.example.com', targets: [{ revisionKey: 'default/h-1', percent: 100 }] }]);
  const r = await request(port, 'h.default.example.com', {
    path: '/headers',
    headers: { 'x-forwarded-for': '203.0.113.7', connection: 'keep-alive, x-private', 'x-private': 'secret', 'x-app': 'kept' },
  });
  assert.equal(r.status, 200);
  assert.equal(r.headers['x-backend'], 'A');
  const seen = JSON.parse(r.body) as Record<string, string>;
  assert.equal(seen['x-forwarded-for'], '203.0.113.7, 127.0.0.1');
  assert.equal(seen['x-forwarded-proto'], 'http');
  assert.equal(seen['x-forwarded-host'], 'h.default.example.com');
  assert.equal(seen.host, 'h.default.example.com');
  assert.equal(seen['x-app'], 'kept');
  assert.equal(seen['x-private'], undefined);
});

test('response headers: hop-by-hop and Connection-listed ones dropped, the rest as the backend sent them (both paths)', async (t) => {
  // A backend that writes its response bytes itself, with everything a response edit must handle.
  const open = new Set<net.Socket>();
  const backend = net.createServer((s) => {
    open.add(s);
    s.on('close', () => open.delete(s));
    s.once('data', () =>
      s.write(
        Buffer.from(
          'HTTP/1.1 201 Made It\r\nX-Keep: a\r\nConnection: keep-alive, X-Private\r\nKeep-Alive: timeout=99\r\nX-Private: secret\r\n' +
            'Content-Length: 2\r\nProxy-Connection: x\r\nX-Obs: caf\xe9\r\nDate: Tue, 01 Dec 2026 00:00:00 GMT\r\n\r\nok',
          'latin1',
        ),
      ),
    );
  });
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  t.after(() => {
    for (const s of open) s.destroy();
    backend.close();
  });
  const bport = (backend.address() as AddressInfo).port;
  for (const fastPath of [true, false]) {
    const { gw, port } = await startGateway(t, { fastPath });
    gw.setRevision(rev('default/raw-1', [{ id: 'raw', host: '127.0.0.1', port: bport }]));
    gw.setRoutes([{ host: 'raw.default.example.com', targets: [{ revisionKey: 'default/raw-1', percent: 100 }] }]);
    const raw = await new Promise<string>((resolve, reject) => {
      const c = net.connect(port, '127.0.0.1', () =>
        c.write('GET / HTTP/1.1\r\nHost: raw.default.example.com\r\nConnection: close\r\n\r\n'),
      );
      let got = '';
      c.on('data', (d: Buffer) => (got += d.toString('latin1')));
      c.on('end', () => resolve(got));
      c.on('error', reject);
    });
    const [head, body] = raw.split('\r\n\r\n');
    const lines = head.split('\r\n');
    const named = (n: string) => lines.filter((l) => l.toLowerCase().startsWith(`${n}:`)).map((l) => l.slice(n.length + 1).trim());
    const why = `fastPath ${fastPath}: ${JSON.stringify(head)}`;
    assert.equal(lines[0], 'HTTP/1.1 201 Made It', why);
    assert.deepEqual(named('x-keep'), ['a'], why);
    assert.deepEqual(named('x-obs'), ['caf\xe9'], why);
    assert.deepEqual(named('content-length'), ['2'], why);
    assert.deepEqual(named('date'), ['Tue, 01 Dec 2026 00:00:00 GMT'], why);
    assert.deepEqual(named('x-private'), [], why);
    assert.deepEqual(named('proxy-connection'), [], why);
    assert.deepEqual(named('keep-alive'), [], why);
    assert.deepEqual(named('connection'), ['close'], why);
    assert.equal(body, 'ok', why);
  }
});

test('large request body is streamed through and echoed intact', async (t) => {
  const a = await startBackend(t, 'A');
  const { gw, port } = await startGateway(t);
  gw.setRevision(rev('default/e-1', [a], 1));
  gw.setRoutes([{ host: 'e.default.example.com', targets: [{ revisionKey: 'default/e-1', percent: 100 }] }]);
  const payload = randomBytes(8 * 1024 * 1024);
  const digest = await new Promise<{ len: number; sha: string }>((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path: '/echo', method: 'POST', headers: { host: 'e.default.example.com' } },
      (res) => {
        const h = createHash('sha256');
        let len = 0;
        res.on('data', (c: Buffer) => {
          len += c.length;
          h.update(c);
        });
        res.on('end', () => resolve({ len, sha: h.digest('hex') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    // Chunked upload in pieces.
    for (let off = 0; off < payload.length; off += 256 * 1024) req.write(payload.subarray(off, off + 256 * 1024));
    req.end();
  });
  assert.equal(digest.len, payload.length);
  assert.equal(digest.sha, createHash('sha256').update(payload).digest('hex'));
});

test('WebSocket upgrade is proxied and counts as in flight while open', async (t) => {
  const a = await startBackend(t, 'A');
  const wss = new WebSocketServer({ server: a.server });
  wss.on('connection', (ws) => ws.on('message', (m, isBinary) => ws.send(isBinary ? m : `echo:${m.toString()}`)));
  t.after(() => wss.close());
  const { gw, port } = await startGateway(t);
  gw.setRevision(rev('default/ws-1', [a], 1));
  gw.setRoutes([{ host: 'ws.default.example.com', targets: [{ revisionKey: 'default/ws-1', percent: 100 }] }]);

  const ws = new WebSocket(`ws://127.0.0.1:${port}/chat`, { headers: { host: 'ws.default.example.com' } });
  t.after(() => ws.terminate());
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const got = new Promise<string>((resolve) => ws.once('message', (m) => resolve(m.toString())));
  ws.send('hi');
  assert.equal(await got, 'echo:hi');
  assert.equal(gw.load('default/ws-1')!.inFlight, 1);
  ws.close();
  await waitFor('tunnel released', () => gw.load('default/ws-1')!.inFlight === 0);

  // Unknown host on an Upgrade gets a plain 404 too.
  const bad = new WebSocket(`ws://127.0.0.1:${port}/`, { headers: { host: 'nope.example.com' } });
  bad.on('error', () => {}); // terminate() while connecting reports an error we do not care about
  const status = await new Promise<number>((resolve) => bad.once('unexpected-response', (_req, res) => resolve(res.statusCode!)));
  assert.equal(status, 404);
  bad.terminate();
});

test('drain resolves after in-flight requests finish and takes the instance out of routing', async (t) => {
  const [a, b] = await Promise.all([startBackend(t, 'A'), startBackend(t, 'B')]);
  const { gw, port } = await startGateway(t);
  gw.setRevision(rev('default/dr-1', [a], 0));
  gw.setRoutes([{ host: 'dr.default.example.com', targets: [{ revisionKey: 'default/dr-1', percent: 100 }] }]);
  const inflight = request(port, 'dr.default.example.com', { path: '/hang' });
  await waitFor('request at A', () => a.hung.length === 1);

  // Scale-down: B is added, A drained.
  gw.setRevision(rev('default/dr-1', [a, b], 0));
  let drained = false;
  const d = gw.drain('default/dr-1', 'A').then(() => (drained = true));
  const next = await request(port, 'dr.default.example.com');
  assert.equal(next.body, 'B', 'drained instance takes no new requests');
  assert.equal(drained, false);
  a.hung[0].end('A-late');
  await d;
  assert.equal((await inflight).body, 'A-late');
  assert.equal(await gw.drain('default/dr-1', 'unknown').then(() => 'ok'), 'ok');
});

test('removing an endpoint or revision never cuts in-flight requests', async (t) => {
  const a = await startBackend(t, 'A');
  const { gw, port } = await startGateway(t);
  gw.setRevision(rev('default/rm-1', [a], 0));
  gw.setRoutes([{ host: 'rm.default.example.com', targets: [{ revisionKey: 'default/rm-1', percent: 100 }] }]);
  const p1 = request(port, 'rm.default.example.com', { path: '/hang' });
  await waitFor('at A', () => a.hung.length === 1);
  gw.setRevision(rev('default/rm-1', [], 0));
  gw.removeRevision('default/rm-1');
  gw.setRoutes([]);
  a.hung[0].end('survived');
  assert.equal((await p1).body, 'survived');
});

test('client disconnect aborts the upstream request and frees the slot', async (t) => {
  const a = await startBackend(t, 'A');
  const { gw, port } = await startGateway(t);
  gw.setRevision(rev('default/c-1', [a], 1));
  gw.setRoutes([{ host: 'c.default.example.com', targets: [{ revisionKey: 'default/c-1', percent: 100 }] }]);
  const req = http.request({ host: '127.0.0.1', port, path: '/hang', headers: { host: 'c.default.example.com' } });
  req.on('error', () => {});
  req.end();
  await waitFor('at A', () => a.hung.length === 1);
  req.destroy();
  await waitFor('backend saw the abort', () => a.closedEarly === 1);
  await waitFor('slot free', () => gw.load('default/c-1')!.inFlight === 0);
  assert.equal((await request(port, 'c.default.example.com')).body, 'A');
  const m = gw.metrics();
  assert.match(m, /sluice_gateway_requests_total\{namespace="default",revision="c-1",code="none"\} 1/);
  assert.match(m, /sluice_gateway_requests_total\{namespace="default",revision="c-1",code="2xx"\} 1/);
});

test('a kept-alive connection the backend dropped is retried transparently', async (t) => {
  // Backend that resets every connection on its second request, like an idle-timeout race.
  let resets = 0;
  const server = http.createServer((req, res) => {
    const s = req.socket as typeof req.socket & { served?: number };
    s.served = (s.served ?? 0) + 1;
    if (s.served > 1) {
      resets++;
      s.destroy();
      return;
    }
    res.end('fresh');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => {
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  });
  const { gw, port } = await startGateway(t);
  gw.setRevision(rev('default/k-1', [{ id: 'k', host: '127.0.0.1', port: (server.address() as AddressInfo).port }], 1));
  gw.setRoutes([{ host: 'k.default.example.com', targets: [{ revisionKey: 'default/k-1', percent: 100 }] }]);
  for (let i = 0; i < 5; i++) {
    const r = await request(port, 'k.default.example.com');
    assert.equal(r.status, 200, r.body);
    assert.equal(r.body, 'fresh');
  }
  assert.ok(resets >= 1, 'the stale-connection path was exercised');
});

test('HEAD, 204 and 304 responses pass through without bodies', async (t) => {
  const server = http.createServer((req, res) => {
    if (req.url === '/204') res.writeHead(204).end();
    else if (req.url === '/304') res.writeHead(304, { etag: '"x"' }).end();
    else
      res
        .writeHead(200, { 'content-type': 'text/plain', 'content-length': '5', 'set-cookie': ['a=1', 'b=2'] })
        .end(req.method === 'HEAD' ? undefined : 'hello');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => {
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  });
  const { gw, port } = await startGateway(t);
  gw.setRevision(rev('default/m-1', [{ id: 'm', host: '127.0.0.1', port: (server.address() as AddressInfo).port }]));
  gw.setRoutes([{ host: 'm.default.example.com', targets: [{ revisionKey: 'default/m-1', percent: 100 }] }]);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  t.after(() => agent.destroy());
  const head = await request(port, 'm.default.example.com', { method: 'HEAD', agent });
  assert.equal(head.status, 200);
  assert.equal(head.headers['content-length'], '5');
  assert.equal(head.body, '');
  assert.equal((await request(port, 'm.default.example.com', { path: '/204', agent })).status, 204);
  const nm = await request(port, 'm.default.example.com', { path: '/304', agent });
  assert.equal(nm.status, 304);
  assert.equal(nm.headers.etag, '"x"');
  const get = await request(port, 'm.default.example.com', { agent });
  assert.equal(get.body, 'hello');
  assert.deepEqual(get.headers['set-cookie'], ['a=1', 'b=2']);
});

test('a WebSocket refused by the backend gets the backend answer; held upgrades wait for capacity', async (t) => {
  const a = await startBackend(t, 'A');
  const wss = new WebSocketServer({ noServer: true });
  a.server.on('upgrade', (req, socket, head) => {
    if (req.url === '/refuse') {
      socket.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 4\r\n\r\nnope');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => ws.on('message', (m) => ws.send(`echo:${m.toString()}`)));
  });
  t.after(() => wss.close());
  const { gw, port } = await startGateway(t);
  gw.setRevision(rev('default/w-1', [], 1));
  gw.setRoutes([{ host: 'w.default.example.com', targets: [{ revisionKey: 'default/w-1', percent: 100 }] }]);

  const refused = new WebSocket(`ws://127.0.0.1:${port}/refuse`, { headers: { host: 'w.default.example.com' } });
  refused.on('error', () => {});
  const status = new Promise<number>((resolve) => refused.once('unexpected-response', (_req, res) => resolve(res.statusCode!)));
  await waitFor('held upgrade', () => gw.load('default/w-1')!.queued === 1);
  gw.setRevision(rev('default/w-1', [a], 1));
  assert.equal(await status, 403);
  refused.terminate();
  await waitFor('slot released', () => gw.load('default/w-1')!.inFlight === 0);

  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { headers: { host: 'w.default.example.com' } });
  t.after(() => ws.terminate());
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  // cc=1 and the tunnel is open: a plain request waits until the socket closes.
  const plain = request(port, 'w.default.example.com');
  await waitFor('plain held behind tunnel', () => gw.load('default/w-1')!.queued === 1);
  ws.close();
  assert.equal((await plain).body, 'A');
});
