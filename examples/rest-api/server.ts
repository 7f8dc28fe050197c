// The rest-api app from the Knative traffic-splitting walkthrough, rewritten for Node with no
// dependencies. It tells revisions apart by the RESOURCE env var, and listens on PORT like any
// Knative container. A few opt-in knobs (see README.md) make it useful for exercising the runtime.

import http from 'node:http';

function fail(message: string, code = 2): never {
  process.stderr.write(`rest-api: ${message}\n`);
  process.exit(code);
}

function intEnv(name: string, min: number, max: number): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) fail(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  return n;
}

const exitAtStart = intEnv('EXIT_AT_START', 0, 255);
if (exitAtStart !== undefined) {
  process.stderr.write(`rest-api: EXIT_AT_START is set, exiting with code ${exitAtStart}\n`);
  process.exit(exitAtStart);
}

const resource = process.env.RESOURCE || 'NOT SPECIFIED';
const port = intEnv('PORT', 0, 65535) ?? 8080;
const host = process.env.HOST || '127.0.0.1';
const startupDelayMs = intEnv('STARTUP_DELAY_MS', 0, 3_600_000) ?? 0;
const upstream = process.env.STOCK_PRICE_UPSTREAM?.replace(/\/+$/, '');
const logRequests = process.env.LOG_REQUESTS === '1' || process.env.LOG_REQUESTS === 'true';
const MAX_WAIT_MS = 600_000;
/** Percent of requests answered 500 (spread evenly: with 20, every fifth), for exercising canary gates. */
const errorPercent = intEnv('ERROR_PERCENT', 0, 100) ?? 0;
let served = 0;

let closing = false;

function send(res: http.ServerResponse, status: number, body: string): void {
  // Once we are shutting down, tell keep-alive clients not to reuse the connection.
  if (closing) res.setHeader('Connection', 'close');
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(body);
}

/** Reads a millisecond query parameter; undefined when absent, an error string when invalid. */
function msParam(url: URL, name: string): number | string | undefined {
  const raw = url.searchParams.get(name);
  if (raw === null) return undefined;
  const n = Number(raw);
  if (raw === '' || !Number.isInteger(n) || n < 0 || n > MAX_WAIT_MS) {
    return `${name} must be an integer number of milliseconds from 0 to ${MAX_WAIT_MS}, got "${raw}"\n`;
  }
  return n;
}

async function stockPrice(res: http.ServerResponse, stockId: string): Promise<void> {
  if (!upstream) {
    send(res, 503, `${resource}: no price upstream configured (set STOCK_PRICE_UPSTREAM)\n`);
    return;
  }
  const target = `${upstream}/1.0/stock/${encodeURIComponent(stockId)}/price`;
  process.stderr.write(`GET ${target}\n`);
  try {
    const r = await fetch(target, { signal: AbortSignal.timeout(5000) });
    const body = await r.text();
    if (!r.ok) {
      send(res, 404, `${resource} not found for ticker : ${stockId} \n`);
      return;
    }
    send(res, 200, `${resource} price for ticker ${stockId} is ${body}\n`);
  } catch {
    send(res, 502, `${resource} not found for ticker : ${stockId} \n`);
  }
}

async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (logRequests) process.stdout.write(`${req.method} ${req.url}\n`);
  if (errorPercent > 0) {
    const n = served++;
    if (Math.floor(((n + 1) * errorPercent) / 100) > Math.floor((n * errorPercent) / 100))
      return send(res, 500, `${resource} failed on purpose (ERROR_PERCENT=${errorPercent})\n`);
  }
  const sleep = msParam(url, 'sleep');
  if (typeof sleep === 'string') return send(res, 400, sleep);
  if (sleep) await new Promise((r) => setTimeout(r, sleep));

  let path: string;
  try {
    // Decoded, so a RESOURCE with spaces ("NOT SPECIFIED") is reachable as /NOT%20SPECIFIED.
    path = decodeURIComponent(url.pathname);
  } catch {
    return send(res, 400, `malformed path ${url.pathname}\n`);
  }
  const root = `/${resource}`;
  if (path === root || path === `${root}/`) {
    return send(res, 200, `${resource} ticker not found!, require /${resource}/{ticker}\n`);
  }
  if (path.startsWith(`${root}/`)) {
    return stockPrice(res, path.slice(root.length + 1));
  }
  if (path === '/crash') {
    process.stderr.write('rest-api: /crash requested, exiting with code 3\n');
    res.on('finish', () => process.exit(3));
    return send(res, 200, 'crashing\n');
  }
  if (path === '/burn') {
    const ms = msParam(url, 'ms');
    if (typeof ms === 'string') return send(res, 400, ms);
    const until = Date.now() + (ms ?? 100);
    while (Date.now() < until) {
      // Busy loop on purpose: this endpoint exists to use CPU.
    }
    return send(res, 200, `burned ${ms ?? 100} ms of CPU\n`);
  }
  // Like the Go app's "/" handler, every other path gets the welcome line.
  send(res, 200, `Welcome to the ${resource} app! \n`);
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((err) => {
    process.stderr.write(`rest-api: request failed: ${String(err)}\n`);
    if (!res.headersSent) send(res, 500, 'internal error\n');
    else res.destroy();
  });
});
// Idle keep-alive connections are closed as soon as a shutdown starts; see onSignal.
server.on('request', (_req, res) => res.on('finish', () => closing && server.closeIdleConnections()));

function onSignal(signal: NodeJS.Signals): void {
  if (closing) return;
  closing = true;
  process.stdout.write(`rest-api: ${signal} received, finishing in-flight requests\n`);
  // Stop accepting; the callback runs once every open connection has ended.
  server.close(() => {
    process.stdout.write('rest-api: stopped\n');
    process.exit(0);
  });
  server.closeIdleConnections();
}
process.on('SIGTERM', onSignal);
process.on('SIGINT', onSignal);

server.on('error', (err) => fail(`cannot listen on ${host}:${port}: ${err.message}`, 1));

setTimeout(() => {
  if (closing) return;
  server.listen(port, host, () => {
    const addr = server.address();
    const actual = addr && typeof addr === 'object' ? addr.port : port;
    process.stdout.write(`rest-api: RESOURCE=${resource} listening on http://${host}:${actual}\n`);
  });
}, startupDelayMs);
