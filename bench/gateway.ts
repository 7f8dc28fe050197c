// Gateway throughput/latency bench: a trivial backend in a child process, the gateway in this
// thread, and the load generator in a worker thread (its own event loop), so the gateway's cost is
// what is measured. Compares against hitting the backend directly.
//
// Run alone: npx tsc -p tsconfig.json && node dist/bench/gateway.js [durationMs] [connections]

import { spawn, type ChildProcess } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import { Gateway } from '../src/dataplane/gateway.js';

export interface BenchGatewayOptions {
  /** Per measured run (default 3000). */
  durationMs?: number;
  /** Concurrent keep-alive client connections (default 32). */
  connections?: number;
  /** containerConcurrency for the gateway run (default 0 = unlimited). */
  containerConcurrency?: number;
  /** Also measure the backend directly, as a baseline (default true). */
  baseline?: boolean;
}

export interface LoadResult {
  requests: number;
  errors: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
}

export interface BenchGatewayResult {
  direct?: LoadResult;
  gateway: LoadResult;
  /** Gateway requests per second relative to direct (1 = no overhead). */
  relative?: number;
  /** p50 latency the gateway adds, ms. */
  addedP50Ms?: number;
}

const BACKEND = `
const http = require('node:http');
const body = Buffer.from('ok');
http.createServer({ keepAliveTimeout: 60000 }, (req, res) => {
  req.resume();
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
  res.end(body);
}).listen(0, '127.0.0.1', function () { process.send(this.address().port); });
`;

const LOADER = `
const { parentPort, workerData } = require('node:worker_threads');
const http = require('node:http');
const { port, host, durationMs, connections } = workerData;
const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
const lat = [];
let errors = 0;
const end = Date.now() + durationMs;
function one() {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const req = http.request({ host: '127.0.0.1', port, path: '/', headers: { host }, agent }, (res) => {
      res.resume();
      res.on('end', () => {
        if (res.statusCode !== 200) errors++;
        else lat.push(Number(process.hrtime.bigint() - t0) / 1e6);
        resolve();
      });
    });
    req.on('error', () => { errors++; resolve(); });
    req.end();
  });
}
async function loop() { while (Date.now() < end) await one(); }
const started = Date.now();
Promise.all(Array.from({ length: connections }, loop)).then(() => {
  const elapsed = Date.now() - started;
  agent.destroy();
  lat.sort((a, b) => a - b);
  const q = (p) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] : 0);
  parentPort.postMessage({ requests: lat.length, errors, rps: (lat.length * 1000) / elapsed, p50Ms: q(0.5), p99Ms: q(0.99) });
});
`;

function runLoad(port: number, host: string, durationMs: number, connections: number): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const w = new Worker(LOADER, { eval: true, workerData: { port, host, durationMs, connections } });
    w.once('message', (m: LoadResult) => {
      resolve(m);
      void w.terminate();
    });
    w.once('error', reject);
  });
}

function startBackend(): Promise<{ child: ChildProcess; port: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', BACKEND], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.once('message', (port) => resolve({ child, port: Number(port) }));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`bench backend exited with ${code}`)));
  });
}

export async function benchGateway(opts: BenchGatewayOptions = {}): Promise<BenchGatewayResult> {
  const durationMs = opts.durationMs ?? 3000;
  const connections = opts.connections ?? 32;
  const backend = await startBackend();
  const gw = new Gateway();
  try {
    const gwPort = await gw.listen(0);
    const host = 'bench.default.example.com';
    gw.setRevision({
      key: 'default/bench-00001',
      endpoints: [{ id: 'b', host: '127.0.0.1', port: backend.port }],
      containerConcurrency: opts.containerConcurrency ?? 0,
      timeoutSeconds: 30,
    });
    // A realistic table size: the lookup must not depend on it.
    const routes = Array.from({ length: 1000 }, (_, i) => ({ host: `svc-${i}.default.example.com`, targets: [{ revisionKey: `default/other-${i}`, percent: 100 }] }));
    routes.push({ host, targets: [{ revisionKey: 'default/bench-00001', percent: 100 }] });
    gw.setRoutes(routes);

    // Warm both paths (JIT, pools).
    await runLoad(backend.port, host, 300, connections);
    await runLoad(gwPort, host, 300, connections);

    const direct = opts.baseline === false ? undefined : await runLoad(backend.port, host, durationMs, connections);
    const gateway = await runLoad(gwPort, host, durationMs, connections);
    const result: BenchGatewayResult = { direct, gateway };
    if (direct) {
      result.relative = gateway.rps / direct.rps;
      result.addedP50Ms = gateway.p50Ms - direct.p50Ms;
    }
    return result;
  } finally {
    await gw.close();
    backend.child.removeAllListeners('exit');
    backend.child.kill();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const durationMs = Number(process.argv[2] ?? 3000);
  const connections = Number(process.argv[3] ?? 32);
  benchGateway({ durationMs, connections }).then(
    (r) => console.log(JSON.stringify(r, null, 2)),
    (err) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
