// The rest-api example app on its own: the walkthrough's answers, the price upstream, the knobs.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { allocatePort, releasePort } from '../../src/runtime/local/ports.js';
import { waitFor } from '../support/poll.js';
import { httpGet, statusAndBody } from '../support/http.js';

const server = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../examples/rest-api/server.js');

interface App {
  child: ChildProcess;
  port: number;
  out: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

async function startApp(t: TestContext, env: Record<string, string>): Promise<App> {
  const port = await allocatePort('127.0.0.1');
  t.after(() => releasePort(port));
  const child = spawn(process.execPath, [server], {
    env: { PATH: process.env.PATH, PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (c) => (out += c));
  child.stderr!.on('data', (c) => (out += c));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.once('exit', (code, signal) => r({ code, signal })),
  );
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return { child, port, out: () => out, exited };
}

async function startReady(t: TestContext, env: Record<string, string>): Promise<App> {
  const app = await startApp(t, env);
  await waitFor('app listening', () => app.out().includes('listening on'));
  return app;
}

test('answers like the Go rest-api: welcome, ticker index, price', async (t) => {
  // A stand-in for the stock price API (there is no internet).
  const upstream = http.createServer((req, res) => {
    if (req.url === '/1.0/stock/AAPL/price') res.end('123.45');
    else {
      res.statusCode = 404;
      res.end('Unknown symbol');
    }
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  t.after(() => upstream.close());
  const upstreamPort = (upstream.address() as { port: number }).port;

  const app = await startReady(t, { RESOURCE: 'v1', STOCK_PRICE_UPSTREAM: `http://127.0.0.1:${upstreamPort}/` });
  assert.deepEqual(statusAndBody(await httpGet(app.port, '/')), { status: 200, body: 'Welcome to the v1 app! \n' });
  assert.equal((await httpGet(app.port, '/anything/else')).body, 'Welcome to the v1 app! \n');
  assert.deepEqual(statusAndBody(await httpGet(app.port, '/v1')), { status: 200, body: 'v1 ticker not found!, require /v1/{ticker}\n' });
  assert.deepEqual(statusAndBody(await httpGet(app.port, '/v1/AAPL')), { status: 200, body: 'v1 price for ticker AAPL is 123.45\n' });
  assert.deepEqual(statusAndBody(await httpGet(app.port, '/v1/NOPE')), { status: 404, body: 'v1 not found for ticker : NOPE \n' });

  await new Promise<void>((r) => upstream.close(() => r()));
  assert.deepEqual(statusAndBody(await httpGet(app.port, '/v1/AAPL')), { status: 502, body: 'v1 not found for ticker : AAPL \n' });
});

test('defaults RESOURCE and says when no price upstream is configured', async (t) => {
  const app = await startReady(t, {});
  assert.equal((await httpGet(app.port, '/')).body, 'Welcome to the NOT SPECIFIED app! \n');
  assert.deepEqual(statusAndBody(await httpGet(app.port, '/NOT%20SPECIFIED/IBM')), {
    status: 503,
    body: 'NOT SPECIFIED: no price upstream configured (set STOCK_PRICE_UPSTREAM)\n',
  });
  assert.equal((await httpGet(app.port, '/%E0%A4%A')).status, 400, 'a malformed path is a 400, not a crash');
  const v2 = await startReady(t, { RESOURCE: 'v2' });
  assert.deepEqual(statusAndBody(await httpGet(v2.port, '/v2/IBM')), {
    status: 503,
    body: 'v2: no price upstream configured (set STOCK_PRICE_UPSTREAM)\n',
  });
});

test('SIGTERM lets an in-flight request finish, then exits 0', async (t) => {
  const app = await startReady(t, { RESOURCE: 'v1', LOG_REQUESTS: '1' });
  const slow = httpGet(app.port, '/?sleep=800');
  await waitFor('request arrived', () => app.out().includes('GET /?sleep=800'));
  app.child.kill('SIGTERM');
  await waitFor('signal noticed', () => app.out().includes('SIGTERM received'));
  // New connections are refused once it stops accepting.
  await assert.rejects(httpGet(app.port, '/'), /ECONNREFUSED/);
  assert.deepEqual(statusAndBody(await slow), { status: 200, body: 'Welcome to the v1 app! \n' });
  assert.deepEqual(await app.exited, { code: 0, signal: null });
});

test('test knobs: EXIT_AT_START, bad values, /crash, /burn, bad sleep', async (t) => {
  const dying = await startApp(t, { EXIT_AT_START: '7' });
  assert.equal((await dying.exited).code, 7);
  assert.match(dying.out(), /EXIT_AT_START is set, exiting with code 7/);

  const bad = await startApp(t, { STARTUP_DELAY_MS: 'soon' });
  assert.equal((await bad.exited).code, 2);
  assert.match(bad.out(), /STARTUP_DELAY_MS must be an integer from 0 to 3600000, got "soon"/);

  const app = await startReady(t, { RESOURCE: 'v1', STARTUP_DELAY_MS: '50' });
  assert.deepEqual(statusAndBody(await httpGet(app.port, '/burn?ms=20')), { status: 200, body: 'burned 20 ms of CPU\n' });
  const badSleep = await httpGet(app.port, '/?sleep=-1');
  assert.equal(badSleep.status, 400);
  assert.match(badSleep.body, /sleep must be an integer number of milliseconds/);
  assert.equal((await httpGet(app.port, '/crash')).body, 'crashing\n');
  assert.equal((await app.exited).code, 3);
});
