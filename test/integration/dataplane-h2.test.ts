// The gateway speaking HTTP/2 cleartext, over real sockets on 127.0.0.1: clients with prior
// knowledge and through `Upgrade: h2c` (real curl), h2c revisions reached over HTTP/2 end to end,
// translation both ways, trailers, and the HTTP/1 machinery (routing, holding, containerConcurrency
// per stream, stats, request logs) applied to streams.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import { execFile } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { Gateway } from '../../src/dataplane/gateway.js';
import { subscribeRequests, type RequestRecord } from '../../src/dataplane/request-log.js';
import { waitFor } from '../support/poll.js';

const HOST = 'h.default.example.com';

interface H2Backend {
  port: number;
  current: number;
  max: number;
  protocols: string[];
  /** Streams parked at /hang. */
  hung: http2.Http2ServerResponse[];
}

/** An HTTP/2-only (h2c) app: /echo streams the body back, /trailers ends with trailers, /hang waits. */
async function startH2Backend(t: TestContext): Promise<H2Backend> {
  const b: H2Backend = { port: 0, current: 0, max: 0, protocols: [], hung: [] };
  const server = http2.createServer({}, (req, res) => {
    b.protocols.push(req.httpVersion);
    b.current++;
    b.max = Math.max(b.max, b.current);
    res.on('close', () => b.current--);
    const url = new URL(req.url, 'http://x');
    if (url.pathname === '/echo') {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      req.pipe(res);
    } else if (url.pathname === '/trailers') {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/plain', trailer: 'x-checksum' });
      res.write('part one;');
      setTimeout(() => {
        res.addTrailers({ 'x-checksum': 'abc123' });
        res.end('part two');
      }, 20);
    } else if (url.pathname === '/hang') {
      b.hung.push(res);
    } else if (url.pathname === '/headers') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(req.headers));
    } else {
      req.resume();
      res.end('h2 app');
    }
  });
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (s) => {
    sessions.add(s);
    s.on('close', () => sessions.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  b.port = (server.address() as AddressInfo).port;
  t.after(() => {
    for (const s of sessions) s.destroy();
    return new Promise<void>((r) => server.close(() => r()));
  });
  return b;
}

/** An HTTP/1.1-only app that answers with the protocol it saw and echoes bodies. */
async function startH1Backend(t: TestContext): Promise<{ port: number; seen: http.IncomingHttpHeaders[] }> {
  const seen: http.IncomingHttpHeaders[] = [];
  const server = http.createServer((req, res) => {
    seen.push(req.headers);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      res.setHeader('x-app-saw', `HTTP/${req.httpVersion} ${req.method} ${req.url}`);
      res.setHeader('connection', 'keep-alive');
      res.end(`h1 app: ${Buffer.concat(chunks).toString()}`);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => {
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  });
  return { port: (server.address() as AddressInfo).port, seen };
}

async function startGateway(t: TestContext): Promise<{ gw: Gateway; port: number }> {
  const gw = new Gateway();
  const port = await gw.listen(0);
  t.after(() => gw.close());
  return { gw, port };
}

function route(gw: Gateway, key: string, protocol: 'http1' | 'h2c', port: number, cc = 0): void {
  gw.setRevision({
    key,
    endpoints: port ? [{ id: `${key}-0`, host: '127.0.0.1', port }] : [],
    containerConcurrency: cc,
    timeoutSeconds: 30,
    protocol,
  });
  gw.setRoutes([{ host: HOST, targets: [{ revisionKey: key, percent: 100 }] }]);
}

interface H2Reply {
  status: number;
  headers: http2.IncomingHttpHeaders;
  trailers: http2.IncomingHttpHeaders;
  body: string;
}

function h2request(
  session: http2.ClientHttp2Session,
  path: string,
  opts: { method?: string; body?: string; headers?: Record<string, string> } = {},
): Promise<H2Reply> {
  return new Promise((resolve, reject) => {
    const s = session.request(
      { ':method': opts.method ?? 'GET', ':path': path, ':authority': HOST, ...opts.headers },
      { endStream: opts.body === undefined },
    );
    let headers: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    s.on('response', (h) => (headers = h));
    s.on('trailers', (tr) => (trailers = tr));
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('end', () => resolve({ status: Number(headers[':status']), headers, trailers, body: Buffer.concat(chunks).toString() }));
    s.on('error', reject);
    if (opts.body !== undefined) s.end(opts.body);
  });
}

function connect(t: TestContext, port: number): http2.ClientHttp2Session {
  const s = http2.connect(`http://127.0.0.1:${port}`);
  s.on('error', () => {});
  t.after(() => s.destroy());
  return s;
}

function curl(args: string[]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile('curl', ['-sS', '--max-time', '10', ...args], (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve({ stdout, stderr }),
    );
  });
}

test('h2c with prior knowledge reaches an HTTP/1 revision, routed by :authority, translated to HTTP/1.1', async (t) => {
  const app = await startH1Backend(t);
  const { gw, port } = await startGateway(t);
  route(gw, 'default/h-1', 'http1', app.port);
  const session = connect(t, port);
  const r = await h2request(session, '/path?q=1', { method: 'POST', body: 'hello' });
  assert.equal(r.status, 200);
  assert.equal(r.body, 'h1 app: hello');
  assert.equal(r.headers['x-app-saw'], 'HTTP/1.1 POST /path?q=1');
  // The HTTP/1 app's Connection header is not relayed onto HTTP/2 (it would be a protocol error).
  assert.equal(r.headers.connection, undefined);
  assert.equal(app.seen[0].host, HOST);
  assert.equal(app.seen[0][':authority' as 'host'], undefined, 'no pseudo-headers reach an HTTP/1 app');
  // Unknown host: the gateway's own 404, over HTTP/2 too.
  const other = await new Promise<number>((resolve, reject) => {
    const s = session.request({ ':path': '/', ':authority': 'nope.example.com' });
    s.on('response', (h) => resolve(Number(h[':status'])));
    s.on('error', reject);
    s.resume();
  });
  assert.equal(other, 404);
});

test('HTTP/1.1 Upgrade: h2c (real curl) is answered over HTTP/2; curl --http2-prior-knowledge too', async (t) => {
  const app = await startH1Backend(t);
  const { gw, port } = await startGateway(t);
  route(gw, 'default/h-1', 'http1', app.port);
  const up = await curl(['-v', '--http2', '-H', `Host: ${HOST}`, `http://127.0.0.1:${port}/up`]);
  assert.equal(up.stdout, 'h1 app: ');
  assert.match(up.stderr, /HTTP\/1\.1 101 Switching Protocols/);
  assert.match(up.stderr, /< HTTP\/2 200/);
  const upPost = await curl([
    '-v',
    '--http2',
    '-H',
    `Host: ${HOST}`,
    '--data-binary',
    'body over upgrade',
    `http://127.0.0.1:${port}/post`,
  ]);
  assert.equal(upPost.stdout, 'h1 app: body over upgrade');
  const pk = await curl(['-v', '--http2-prior-knowledge', '-H', `Host: ${HOST}`, `http://127.0.0.1:${port}/pk`]);
  assert.equal(pk.stdout, 'h1 app: ');
  assert.match(pk.stderr, /< HTTP\/2 200/);
  // Plain HTTP/1.1 on the same listener is unchanged.
  const h1 = await curl(['-v', '--http1.1', '-H', `Host: ${HOST}`, `http://127.0.0.1:${port}/h1`]);
  assert.equal(h1.stdout, 'h1 app: ');
  assert.match(h1.stderr, /< HTTP\/1\.1 200/);
  assert.deepEqual(
    app.seen.map((h) => h.host),
    [HOST, HOST, HOST, HOST],
  );
});

test('an h2c revision is reached over HTTP/2 from HTTP/2 and HTTP/1.1 clients; trailers and streamed bodies pass', async (t) => {
  const app = await startH2Backend(t);
  const { gw, port } = await startGateway(t);
  route(gw, 'default/g-1', 'h2c', app.port);
  const session = connect(t, port);
  const tr = await h2request(session, '/trailers');
  assert.equal(tr.status, 200);
  assert.equal(tr.body, 'part one;part two');
  assert.equal(tr.trailers['x-checksum'], 'abc123');
  const big = 'x'.repeat(200_000);
  const echo = await h2request(session, '/echo', { method: 'POST', body: big });
  assert.equal(echo.body.length, big.length);

  // An HTTP/1.1 client: the gateway speaks HTTP/2 to the app and relays trailers on a chunked response.
  const h1 = await new Promise<{ body: string; trailers: http.IncomingHttpHeaders; version: string }>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/trailers', headers: { host: HOST } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ body, trailers: res.trailers, version: res.httpVersion }));
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal(h1.version, '1.1');
  assert.equal(h1.body, 'part one;part two');
  assert.equal(h1.trailers['x-checksum'], 'abc123');
  const h1echo = await new Promise<string>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/echo', method: 'POST', headers: { host: HOST } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end('from http/1.1');
  });
  assert.equal(h1echo, 'from http/1.1');
  assert.ok(app.protocols.length >= 4);
  assert.ok(
    app.protocols.every((p) => p === '2.0'),
    `the app saw ${app.protocols.join(',')}`,
  );
  // No HTTP/1-only headers reached the HTTP/2 app; the gateway's forwarding headers did.
  const seen = JSON.parse((await h2request(session, '/headers')).body) as Record<string, string>;
  assert.equal(seen[':authority'], HOST);
  assert.equal(seen.host, undefined);
  assert.equal(seen['x-forwarded-for'], '127.0.0.1');
});

test('HTTP/2 streams share the HTTP/1 machinery: containerConcurrency per stream, holding, stats and request logs', async (t) => {
  const app = await startH2Backend(t);
  const { gw, port } = await startGateway(t);
  route(gw, 'default/g-1', 'h2c', app.port, 1);
  const logs: RequestRecord[] = [];
  t.after(
    subscribeRequests(
      (r) => r === 'default/g-1',
      (r) => logs.push(r),
    ),
  );
  const reader = gw.reader();
  const session = connect(t, port);
  // Three streams on one connection, containerConcurrency 1: one at the app, two held.
  const replies = [0, 1, 2].map(() => h2request(session, '/hang'));
  await waitFor('one stream at the app', () => app.hung.length === 1);
  await waitFor('two held', () => gw.load('default/g-1')?.queued === 2);
  assert.equal(app.max, 1);
  for (let i = 0; i < 3; i++) {
    await waitFor(`stream ${i} at the app`, () => app.hung.length === i + 1);
    app.hung[i].end(`done ${i}`);
  }
  const bodies = (await Promise.all(replies)).map((r) => r.body);
  assert.deepEqual(bodies, ['done 0', 'done 1', 'done 2']);
  assert.equal(app.max, 1, 'never more than one stream at the instance');
  const w = reader.read('default/g-1');
  assert.equal(w.requests, 3);
  assert.ok(w.averageConcurrency > 0, 'held and in-flight streams count toward the autoscaler concurrency');
  await waitFor('three request logs', () => logs.length === 3);
  assert.deepEqual(
    logs.map((l) => [l.status, l.host, l.path]),
    [
      [200, HOST, '/hang'],
      [200, HOST, '/hang'],
      [200, HOST, '/hang'],
    ],
  );
});

test('an h2c revision whose instance is gone gives a clear 502 to an HTTP/2 client', async (t) => {
  const { gw, port } = await startGateway(t);
  // A port nothing listens on.
  const free = http.createServer();
  await new Promise<void>((r) => free.listen(0, '127.0.0.1', r));
  const dead = (free.address() as AddressInfo).port;
  await new Promise<void>((r) => free.close(() => r()));
  route(gw, 'default/g-1', 'h2c', dead);
  const r = await h2request(connect(t, port), '/');
  assert.equal(r.status, 502);
  assert.match(r.body, /failed before responding: ECONNREFUSED/);
});

test('HTTP/2 requests are routed like HTTP/1 ones: tag hosts, header rules, splits and sticky cookies', async (t) => {
  const a = await startH1Backend(t);
  const b = await startH2Backend(t);
  const { gw, port } = await startGateway(t);
  gw.setRevision({
    key: 'default/r-a',
    endpoints: [{ id: 'a', host: '127.0.0.1', port: a.port }],
    containerConcurrency: 0,
    timeoutSeconds: 30,
  });
  gw.setRevision({
    key: 'default/r-b',
    endpoints: [{ id: 'b', host: '127.0.0.1', port: b.port }],
    containerConcurrency: 0,
    timeoutSeconds: 30,
    protocol: 'h2c',
  });
  gw.setRoutes([
    {
      host: HOST,
      targets: [
        { revisionKey: 'default/r-a', percent: 50 },
        { revisionKey: 'default/r-b', percent: 50 },
      ],
      rules: [{ headers: { 'x-canary': { exact: 'yes' } }, targets: [{ revisionKey: 'default/r-b', percent: 100 }] }],
      sticky: { from: 'set-cookie', name: 'sluice-sticky' },
    },
    { host: 'b-h.default.example.com', targets: [{ revisionKey: 'default/r-b', percent: 100 }] },
  ]);
  const session = connect(t, port);
  // A header rule wins over the split.
  for (let i = 0; i < 4; i++) assert.equal((await h2request(session, '/', { headers: { 'x-canary': 'yes' } })).body, 'h2 app');
  // A tag host.
  const tagged = await new Promise<string>((resolve, reject) => {
    const s = session.request({ ':path': '/', ':authority': 'b-h.default.example.com' });
    let body = '';
    s.setEncoding('utf8');
    s.on('data', (c: string) => (body += c));
    s.on('end', () => resolve(body));
    s.on('error', reject);
  });
  assert.equal(tagged, 'h2 app');
  // The split with a sticky cookie: a new client gets one, and with it stays on one revision.
  const first = await h2request(session, '/');
  const cookie = String(first.headers['set-cookie']).split(';')[0];
  assert.match(cookie, /^sluice-sticky=/);
  const again = await Promise.all([0, 1, 2, 3, 4, 5].map(() => h2request(session, '/', { headers: { cookie } })));
  assert.deepEqual(new Set(again.map((r) => (r.body.startsWith('h1 app') ? 'a' : 'b'))).size, 1);
  // Without a cookie each request is a new client, placed at random by the 50/50 split: both revisions
  // answer (64 tries: the chance of one side only is 2^-63).
  const seen = new Set<string>();
  for (let i = 0; i < 64 && seen.size < 2; i++) seen.add((await h2request(session, '/')).body.startsWith('h1 app') ? 'a' : 'b');
  assert.deepEqual([...seen].sort(), ['a', 'b']);
});
