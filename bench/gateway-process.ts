// A Sluice gateway in a process of its own, for benchmarks: the load generator, the apps and the
// gateway then compete for CPU as separate processes, and the gateway's CPU time is its own.
//
//   node dist/bench/gateway-process.js '{"routes":[HostRoute...],"revisions":[RevisionBackend...],"fastPath":true}'
//   (or the same JSON in the SLUICE_BENCH_GATEWAY environment variable)
//
// Prints one line `gateway-process {"port":P,"adminPort":A,"pid":N}` once both listeners are up.
// Admin listener (127.0.0.1:A), separate so it never shares the data path's accounting:
//   GET  /metrics        the gateway's Prometheus text (per-revision counts)
//   GET  /cpu            {"userUs":..,"systemUs":..} from process.cpuUsage()
//   GET  /gc             {"count":..,"totalMs":..,"maxMs":..}: GC pauses so far (max since the last call)
//   POST /profile/start  starts V8's sampling profiler
//   POST /profile/stop   stops it and answers with the .cpuprofile JSON
// SIGTERM/SIGINT close the gateway and exit 0.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Session } from 'node:inspector';
import { PerformanceObserver } from 'node:perf_hooks';
import { Gateway } from '../src/dataplane/gateway.js';
import type { HostRoute, RevisionBackend } from '../src/dataplane/types.js';

interface Config {
  routes: HostRoute[];
  revisions: RevisionBackend[];
  /** GatewayOptions.fastPath (default true): false measures the node:http path alone. */
  fastPath?: boolean;
}

function fail(message: string): never {
  process.stderr.write(`gateway-process: ${message}\n`);
  process.exit(2);
}

function readConfig(): Config {
  const raw = process.argv[2] ?? process.env.SLUICE_BENCH_GATEWAY;
  if (!raw) fail('pass the routes and revisions as JSON in argv[2] or SLUICE_BENCH_GATEWAY');
  let c: Partial<Config>;
  try {
    c = JSON.parse(raw) as Partial<Config>;
  } catch (err) {
    fail(`the configuration is not valid JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(c.routes) || !Array.isArray(c.revisions)) fail('the configuration needs "routes" and "revisions" arrays');
  return c as Config;
}

function post<T>(session: Session, method: string, params?: object): Promise<T> {
  return new Promise((resolve, reject) => {
    session.post(method, params ?? {}, (err, result) => (err ? reject(err) : resolve(result as T)));
  });
}

async function main(): Promise<void> {
  const config = readConfig();
  const gw = new Gateway({ fastPath: config.fastPath !== false });
  try {
    for (const r of config.revisions) gw.setRevision(r);
    gw.setRoutes(config.routes);
  } catch (err) {
    fail(String((err as Error).message ?? err));
  }
  const port = await gw.listen(0);

  // GC pauses stop the event loop, so they land directly in request latency.
  const gc = { count: 0, totalMs: 0, maxMs: 0 };
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gc.count++;
      gc.totalMs += e.duration;
      if (e.duration > gc.maxMs) gc.maxMs = e.duration;
    }
  }).observe({ entryTypes: ['gc'] });

  let session: Session | null = null;
  const admin = http.createServer((req, res) => {
    const reply = (status: number, body: string, type = 'text/plain'): void => {
      res.writeHead(status, { 'content-type': type });
      res.end(body);
    };
    const route = `${req.method} ${req.url}`;
    void (async () => {
      if (route === 'GET /metrics') return reply(200, gw.metrics());
      if (route === 'GET /cpu') {
        const u = process.cpuUsage();
        return reply(200, JSON.stringify({ userUs: u.user, systemUs: u.system }), 'application/json');
      }
      if (route === 'GET /gc') {
        const body = JSON.stringify(gc);
        gc.maxMs = 0;
        return reply(200, body, 'application/json');
      }
      if (route === 'POST /profile/start') {
        if (session) return reply(409, 'a profile is already running\n');
        session = new Session();
        session.connect();
        await post(session, 'Profiler.enable');
        await post(session, 'Profiler.setSamplingInterval', { interval: 500 });
        await post(session, 'Profiler.start');
        return reply(200, 'started\n');
      }
      if (route === 'POST /profile/stop') {
        if (!session) return reply(409, 'no profile is running\n');
        const s = session;
        session = null;
        const { profile } = await post<{ profile: unknown }>(s, 'Profiler.stop');
        s.disconnect();
        return reply(200, JSON.stringify(profile), 'application/json');
      }
      reply(404, 'GET /metrics, GET /cpu, GET /gc, POST /profile/start, POST /profile/stop\n');
    })().catch((err) => reply(500, `${String(err)}\n`));
  });
  await new Promise<void>((resolve) => admin.listen(0, '127.0.0.1', resolve));
  const adminPort = (admin.address() as AddressInfo).port;

  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    admin.closeAllConnections();
    admin.close();
    gw.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  process.stdout.write(`gateway-process ${JSON.stringify({ port, adminPort, pid: process.pid })}\n`);
}

main().catch((err) => fail(String((err as Error).stack ?? err)));
