// Control-plane benchmark (a bench/run.ts section): a real `sluice server` process (SQLite file,
// API over HTTPS with its token, controllers, gateway) driven through the Kubernetes API, with
// Services at initial-scale/min-scale 0 so no instance runs:
//   1. create N Services, 8 requests in flight (N = 1,000, then 10,000 on a fresh server): per-create
//      time for the first and the last 100 (flat = nothing quadratic), time until all are Ready,
//      with 10 watchers on services;
//   2. at N stored, 200 more one at a time: apply → Ready latency p50/p99 and how far apart the 10
//      watchers see the same event; API list latency; SQLite size; server RSS;
//   3. Services with two 100 KB annotations (on the Service and on its template): first vs last;
//   4. SIGTERM (time to stop), then a restart over the N Services: time until the API answers and
//      until the gateway serves the last Service (one cold start of its app included);
//   5. the autoscaler with N revisions: tick times in the server, and the pure deciders alone.

import { readFileSync, statSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { decide, defaultAutoscalerConfig, initialAutoscalerState, RevisionMetrics, resolveScalingSpec } from '../src/autoscaler/index.js';
import { request } from './lib/http.js';
import { cpuTime, type Proc } from './lib/procs.js';
import type { BenchContext, Section } from './lib/section.js';

const IMAGE = 'registry.cn-hangzhou.aliyuncs.com/knative-sample/rest-api-go:v1';
const SIZES = (process.env.SLUICE_BENCH_CP_SIZES ?? '1000,10000').split(',').map(Number);
const PACED = 200;
const WATCHERS = 10;
const EDGE = 100;
/** Items per page in the paged list. */
const PAGE = 500;
/** Services of each big-annotation kind in step 3 (SLUICE_BENCH_CP_BIG to find what grows with them). */
const BIG = Number(process.env.SLUICE_BENCH_CP_BIG ?? 30);
/** Creates in flight at once in step 1. */
const CREATORS = 8;
/** Seconds with nothing to do before the second RSS reading (V8 gives memory back to the OS when idle). */
const IDLE_S = Number(process.env.SLUICE_BENCH_CP_IDLE_S ?? 30);
const SERVICES = '/apis/serving.knative.dev/v1/namespaces/default/services';

const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const f1 = (x: number) => x.toFixed(1);
const f2 = (x: number) => x.toFixed(2);

interface Server {
  proc: Proc;
  api: Api;
  gatewayPort: number;
  startMs: number;
  /** The latest status line. */
  stats: () => {
    rssMiB: number;
    peakRssMiB: number;
    /** The gateway's worker processes together (0 with one worker). */
    workersRssMiB: number;
    heapUsedMiB: number;
    /** V8's committed heap. */
    heapTotalMiB: number;
    tick: { count: number; lastMs: number; maxMs: number; revisions: number; decided?: number };
    loopMaxMs: number;
  };
  lines: Record<string, unknown>[];
}

/** SLUICE_BENCH_HEAP_SNAPSHOT=DIR: the server writes a heap snapshot there when RSS is read (to find what holds memory). */
async function heapSnapshot(ctx: BenchContext, s: Server): Promise<void> {
  if (!process.env.SLUICE_BENCH_HEAP_SNAPSHOT) return;
  const seen = s.lines.length;
  process.kill(s.proc.pid, 'SIGUSR2');
  for (;;) {
    const line = s.lines.slice(seen).find((l) => l.heapSnapshot);
    if (line) {
      const mib = (x: unknown) => Math.round(Number(x) / 2 ** 20);
      const b = line.before as Record<string, unknown>;
      return ctx.log(
        `heap snapshot ${String(line.heapSnapshot)}: before it RSS ${mib(b.rss)} MiB, heap used ${mib(b.heapUsed)} of ${mib(b.heapTotal)} MiB, ` +
          `external ${mib(b.external)} MiB, resident by mapping (MiB) ${JSON.stringify(b.mappings)}, heap spaces [size, used] (MiB) ` +
          `${JSON.stringify(b.spaces)}; live after its GC: heap ${mib(line.liveHeap)} MiB, external ${mib(line.liveExternal)} MiB; ` +
          `server CPU so far ${Number(line.cpuS).toFixed(1)} s`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

class Api {
  readonly agent: https.Agent;
  constructor(
    readonly base: URL,
    readonly token: string,
    ca: string,
  ) {
    this.agent = new https.Agent({ keepAlive: true, ca, maxSockets: 16 });
  }

  /** One request; a kept-alive socket the server closed while idle is retried once on a new one. */
  async call(method: string, p: string, body?: unknown): Promise<{ status: number; body: string }> {
    try {
      return await this.once(method, p, body);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ECONNRESET') throw err;
      return this.once(method, p, body);
    }
  }

  private once(method: string, p: string, body?: unknown): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const data = body === undefined ? undefined : JSON.stringify(body);
      const req = https.request(
        {
          host: this.base.hostname,
          port: this.base.port,
          method,
          path: p,
          agent: this.agent,
          headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json', accept: 'application/json' },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        },
      );
      req.setTimeout(120_000, () => req.destroy(new Error(`${method} ${p} timed out`)));
      req.on('error', reject);
      req.end(data);
    });
  }

  /** A watch on services from resourceVersion `rv`; calls onLine with each event and its arrival time. */
  watch(rv: string, onEvent: (e: { type: string; object: Svc }, at: number) => void): () => void {
    const req = https.request({
      host: this.base.hostname,
      port: this.base.port,
      path: `${SERVICES}?watch=true&resourceVersion=${rv}&timeoutSeconds=3600`,
      agent: false,
      ca: this.agent.options.ca,
      headers: { authorization: `Bearer ${this.token}` },
    });
    req.on('response', (res) => {
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        const at = performance.now();
        buf += chunk;
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (line) onEvent(JSON.parse(line) as { type: string; object: Svc }, at);
        }
      });
    });
    req.on('error', () => {});
    req.end();
    return () => req.destroy();
  }
}

interface Svc {
  metadata: { name: string; resourceVersion?: string };
  status?: { conditions?: { type: string; status: string }[] };
}

const isReady = (o: Svc) => !!o.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');

function service(name: string, annotations?: { service?: Record<string, string>; template?: Record<string, string> }) {
  return {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: { name, namespace: 'default', ...(annotations?.service ? { annotations: annotations.service } : {}) },
    spec: {
      template: {
        metadata: {
          annotations: { 'autoscaling.knative.dev/initial-scale': '0', 'autoscaling.knative.dev/min-scale': '0', ...annotations?.template },
        },
        spec: { containers: [{ image: IMAGE }] },
      },
    },
  };
}

async function startServer(ctx: BenchContext, dataDir: string, label: string): Promise<Server> {
  // SLUICE_BENCH_CPU_PROF=DIR writes the server's CPU profile there (to find what grows).
  const prof = process.env.SLUICE_BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.SLUICE_BENCH_CPU_PROF}`] : [];
  // SLUICE_BENCH_CP_NODE_ARGS="--flag ...": node options for the server (e.g. to compare GC settings).
  const nodeArgs = (process.env.SLUICE_BENCH_CP_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const proc = ctx.procs.start(`sluice-${label}`, process.execPath, [
    ...nodeArgs,
    ...prof,
    path.join(ctx.root, 'dist', 'bench', 'controlplane-process.js'),
    dataDir,
  ]);
  const lines: Record<string, unknown>[] = [];
  let latest: ReturnType<Server['stats']> | undefined;
  let partial = '';
  const first = new Promise<Record<string, unknown>>((resolve, reject) => {
    proc.child.stdout!.on('data', (c: Buffer) => {
      partial += c.toString('utf8');
      let nl: number;
      while ((nl = partial.indexOf('\n')) >= 0) {
        const line = JSON.parse(partial.slice(0, nl)) as Record<string, unknown>;
        line.receivedAt = performance.now();
        partial = partial.slice(nl + 1);
        lines.push(line);
        if (line.ready) resolve(line);
        if (line.heapTrim) ctx.log(`${label}: ${String(line.heapTrim)}`);
        if (line.rssMiB !== undefined) latest = line as unknown as ReturnType<Server['stats']>;
      }
    });
    // The gateway workers' heap trims (src/heap.ts) are on the server's stderr.
    let errPartial = '';
    proc.child.stderr!.on('data', (c: Buffer) => {
      errPartial += c.toString('utf8');
      let nl: number;
      while ((nl = errPartial.indexOf('\n')) >= 0) {
        const text = errPartial.slice(0, nl);
        errPartial = errPartial.slice(nl + 1);
        if (/^gateway worker \d+: heap:/.test(text)) ctx.log(`${label}: ${text}`);
      }
    });
    void proc.exited.then((code) => reject(new Error(`server exited (${code}) before it was ready: ${proc.output()}`)));
  });
  const hello = await first;
  const kc = parseYaml(readFileSync(String(hello.kubeconfig), 'utf8')) as {
    clusters: { cluster: { 'certificate-authority-data': string } }[];
    users: { user: { token: string } }[];
  };
  const api = new Api(
    new URL(String(hello.apiUrl)),
    kc.users[0].user.token,
    Buffer.from(kc.clusters[0].cluster['certificate-authority-data'], 'base64').toString('utf8'),
  );
  return { proc, api, gatewayPort: Number(hello.gatewayPort), startMs: Number(hello.startMs), stats: () => latest!, lines };
}

/**
 * The 5 slowest of the paced creates, each with what the server's status lines (every 500 ms) said
 * while it ran: the longest event-loop delay and GC pause, and GC time in all — to tell stalls apart.
 */
function slowest(s: Server, ms: number[], windows: [number, number][]): string {
  const order = ms.map((v, i) => i).sort((a, b) => ms[b] - ms[a]);
  return order
    .slice(0, 5)
    .map((i) => {
      const [from, to] = windows[i];
      const during = s.lines.filter((l) => Number(l.receivedAt) >= from && Number(l.receivedAt) <= to + 500 && l.rssMiB !== undefined);
      const max = (k: string) => Math.max(0, ...during.map((l) => Number(l[k] ?? 0)));
      const sum = during.reduce((a, l) => a + Number(l.gcMs ?? 0), 0);
      return `#${i} ${f1(ms[i])} ms (loop delay max ${f1(max('loopMaxMs'))} ms, GC max ${f1(max('gcMaxMs'))} ms, GC ${f1(sum)} ms)`;
    })
    .join('; ');
}

async function stopServer(s: Server): Promise<number> {
  const t0 = performance.now();
  process.kill(s.proc.pid, 'SIGTERM');
  await s.proc.exited;
  s.api.agent.destroy();
  return performance.now() - t0;
}

async function create(api: Api, body: unknown): Promise<number> {
  const t0 = performance.now();
  const r = await api.call('POST', SERVICES, body);
  if (r.status !== 201) throw new Error(`create failed: ${r.status} ${r.body.slice(0, 300)}`);
  return performance.now() - t0;
}

/** Readiness as 10 watchers see it: name → arrival time per watcher; and when each first saw the name at all. */
class Watchers {
  readonly readyAt = new Map<string, number[]>();
  /** name → arrival time of the first event about it, per watcher (for names in `track` only). */
  readonly firstAt = new Map<string, number[]>();
  readonly track = new Set<string>();
  private readonly stops: (() => void)[] = [];
  private waiters: { name: string; resolve: () => void }[] = [];

  constructor(api: Api, rv: string) {
    for (let w = 0; w < WATCHERS; w++) {
      this.stops.push(
        api.watch(rv, (e, at) => {
          const name = e.object.metadata.name;
          if (this.track.has(name)) {
            let first = this.firstAt.get(name);
            if (!first) this.firstAt.set(name, (first = new Array<number>(WATCHERS).fill(NaN)));
            if (Number.isNaN(first[w])) first[w] = at;
          }
          if (e.type === 'DELETED' || !isReady(e.object)) return;
          let times = this.readyAt.get(name);
          if (!times) this.readyAt.set(name, (times = new Array<number>(WATCHERS).fill(NaN)));
          if (!Number.isNaN(times[w])) return; // seen Ready by this watcher already
          times[w] = at;
          if (w === 0) this.wake(name);
        }),
      );
    }
  }

  /** Resolves when watcher 0 has seen the service Ready. */
  ready(name: string, timeoutMs = 120_000): Promise<void> {
    const seen = this.readyAt.get(name)?.[0];
    if (seen !== undefined && !Number.isNaN(seen)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`${name} not Ready after ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({
        name,
        resolve: () => {
          clearTimeout(t);
          resolve();
        },
      });
    });
  }

  private wake(name: string): void {
    const keep: typeof this.waiters = [];
    for (const w of this.waiters) {
      if (w.name === name) w.resolve();
      else keep.push(w);
    }
    this.waiters = keep;
  }

  stop(): void {
    for (const s of this.stops) s();
  }
}

interface SizeResult {
  n: number;
  firstCreates: number[];
  lastCreates: number[];
  allReadyS: number;
  createRate: number;
  applyReady: number[];
  fanout: number[];
  /** POST sent → the ADDED event at each watcher (every watcher, every paced create). */
  watchLatency: number[];
  listMs: number[];
  /** A paged list (limit PAGE) through every page: total and per page. */
  pagedMs: number;
  pageMs: number[];
  heapUsedMiB: number;
  dbMiB: number;
  rssMiB: number;
  peakRssMiB: number;
  /** RSS and heap used after IDLE_S seconds with no requests. */
  idleRssMiB: number;
  idleHeapUsedMiB: number;
  idleWorkersRssMiB: number;
  workersRssMiB: number;
  tick: ReturnType<Server['stats']>['tick'];
  loopMaxMs: number;
  bigService: number[];
  bigTemplate: number[];
  /** The server's CPU (ms) during each of those POSTs. */
  bigServiceCpu: number[];
  bigTemplateCpu: number[];
  stopMs: number;
  restart?: { apiMs: number; servedMs: number; serverStartMs: number; stopAfterMs: number; rssMiB: number };
}

async function measureSize(ctx: BenchContext, n: number, restart: boolean): Promise<SizeResult> {
  const dataDir = path.join(ctx.tmpDir, `data-${n}`);
  let server = await startServer(ctx, dataDir, `${n}`);
  const { api } = server;
  const rv = JSON.parse((await api.call('GET', SERVICES)).body).metadata.resourceVersion as string;
  const watchers = new Watchers(api, rv);

  // 1. N creates, CREATORS at a time (as kubectl apply of a directory would send them).
  ctx.log(`${n}: creating ${n} Services`);
  const creates: number[] = new Array<number>(n);
  const t0 = performance.now();
  let next = 0;
  let done = 0;
  await Promise.all(
    Array.from({ length: CREATORS }, async () => {
      for (let i = next++; i < n; i = next++) {
        creates[i] = await create(api, service(`s${i}`));
        if (++done % 1000 === 0) ctx.log(`${n}: ${done} created`);
      }
    }),
  );
  const createdS = (performance.now() - t0) / 1000;
  for (let i = 0; i < n; i++) await watchers.ready(`s${i}`, 600_000);
  const allReadyS = (performance.now() - t0) / 1000;
  ctx.log(`${n}: all Ready after ${f1(allReadyS)} s`);

  // 2. At N stored: one at a time, each waited for.
  const applyReady: number[] = [];
  const pacedWindows: [number, number][] = [];
  const fanout: number[] = [];
  const watchLatency: number[] = [];
  const sentAt = new Map<string, number>();
  for (let i = 0; i < PACED; i++) {
    const name = `p${i}`;
    watchers.track.add(name);
    const start = performance.now();
    sentAt.set(name, start);
    await create(api, service(name));
    await watchers.ready(name);
    applyReady.push(watchers.readyAt.get(name)![0] - start);
    pacedWindows.push([start, performance.now()]);
  }
  ctx.log(`${n}: slowest apply -> Ready: ${slowest(server, applyReady, pacedWindows)}`);
  // Let the other watchers catch up, then how far apart they saw each Ready.
  await new Promise((r) => setTimeout(r, 1000));
  for (let i = 0; i < PACED; i++) {
    const times = (watchers.readyAt.get(`p${i}`) ?? []).filter((x) => Number.isFinite(x));
    if (times.length === WATCHERS) fanout.push(Math.max(...times) - Math.min(...times));
    for (const at of watchers.firstAt.get(`p${i}`) ?? []) if (Number.isFinite(at)) watchLatency.push(at - sentAt.get(`p${i}`)!);
  }
  const listMs: number[] = [];
  for (let i = 0; i < 5; i++) {
    const l0 = performance.now();
    const r = await api.call('GET', SERVICES);
    if (r.status !== 200) throw new Error(`list failed: ${r.status}`);
    listMs.push(performance.now() - l0);
  }
  const pageMs: number[] = [];
  const p0 = performance.now();
  for (let token: string | undefined; ;) {
    const l0 = performance.now();
    const r = await api.call('GET', `${SERVICES}?limit=${PAGE}${token ? `&continue=${encodeURIComponent(token)}` : ''}`);
    if (r.status !== 200) throw new Error(`paged list failed: ${r.status} ${r.body.slice(0, 200)}`);
    pageMs.push(performance.now() - l0);
    token = (JSON.parse(r.body) as { metadata: { continue?: string } }).metadata.continue;
    if (!token) break;
  }
  const pagedMs = performance.now() - p0;

  // 3. Large annotations: the last of BIG should cost what the first did.
  // Besides each POST's time, the server's CPU while it was answered (load-independent, unlike the
  // time on this shared machine; it includes the controllers' work on the Services before it).
  const big = 'x'.repeat(100 * 1024);
  const bigService: number[] = [];
  const bigTemplate: number[] = [];
  const bigServiceCpu: number[] = [];
  const bigTemplateCpu: number[] = [];
  const serverCpuMs = () => {
    const c = cpuTime(server.proc.pid);
    return (c.user + c.system) * 1000;
  };
  for (const [kind, times, cpu] of [
    ['svc', bigService, bigServiceCpu],
    ['tpl', bigTemplate, bigTemplateCpu],
  ] as const) {
    for (let i = 0; i < BIG; i++) {
      const anns = { 'bench/a': big, 'bench/b': big };
      const c0 = serverCpuMs();
      times.push(await create(api, service(`big-${kind}-${i}`, kind === 'svc' ? { service: anns } : { template: anns })));
      cpu.push(serverCpuMs() - c0);
      if ((i + 1) % 10 === 0)
        ctx.log(
          `${n}: big-${kind} ${i - 8}–${i + 1}: ${f1(mean(times.slice(-10)))} ms per create, server CPU ${f1(mean(cpu.slice(-10)))} ms`,
        );
    }
  }
  if (BIG > 0) await watchers.ready(`big-tpl-${BIG - 1}`);
  // Two status lines later: the RSS and tick times with everything stored.
  await new Promise((r) => setTimeout(r, 4500));
  const st = server.stats();
  await heapSnapshot(ctx, server);
  const idleFrom = server.lines.length;
  await new Promise((r) => setTimeout(r, IDLE_S * 1000));
  const idle = server.stats();
  const idleGcs = server.lines.slice(idleFrom).reduce((a, l) => a + Number(l.gcCount ?? 0), 0);
  ctx.log(`${n}: ${idleGcs} garbage collections in the ${IDLE_S} s idle`);
  if (process.env.SLUICE_BENCH_CP_NODE_ARGS?.includes('--expose-gc')) {
    const from = server.lines.length;
    process.kill(server.proc.pid, 'SIGHUP');
    await new Promise((r) => setTimeout(r, 3000));
    const after = server.stats();
    const pause = Math.max(0, ...server.lines.slice(from).map((l) => Number(l.loopMaxMs ?? 0)));
    ctx.log(
      `${n}: after a full GC: RSS ${f1(after.rssMiB)} MiB, heap used ${f1(after.heapUsedMiB)} MiB, longest event-loop delay ${f1(pause)} ms`,
    );
  }
  const cpuS = (() => {
    const c = cpuTime(server.proc.pid);
    return c.user + c.system;
  })();
  ctx.log(
    `${n}: server CPU so far ${f1(cpuS)} s; RSS ${f1(st.rssMiB)} MiB (gateway workers ${f1(st.workersRssMiB)} MiB more), after ${IDLE_S} s idle ${f1(idle.rssMiB)} MiB (workers ${f1(idle.workersRssMiB)} MiB) (heap used ${f1(st.heapUsedMiB)} -> ${f1(idle.heapUsedMiB)} MiB, committed ${f1(st.heapTotalMiB)} -> ${f1(idle.heapTotalMiB)} MiB)`,
  );
  const db = path.join(dataDir, 'sluice.db');
  const dbMiB = (statSync(db).size + (statSync(`${db}-wal`, { throwIfNoEntry: false })?.size ?? 0)) / 2 ** 20;
  watchers.stop();
  const stopMs = await stopServer(server);
  ctx.log(`${n}: stopped in ${f1(stopMs)} ms`);

  const result: SizeResult = {
    n,
    firstCreates: creates.slice(0, EDGE),
    lastCreates: creates.slice(-EDGE),
    allReadyS,
    createRate: n / createdS,
    applyReady,
    fanout,
    watchLatency,
    listMs,
    pagedMs,
    pageMs,
    heapUsedMiB: st.heapUsedMiB,
    dbMiB,
    rssMiB: st.rssMiB,
    peakRssMiB: st.peakRssMiB,
    idleRssMiB: idle.rssMiB,
    idleHeapUsedMiB: idle.heapUsedMiB,
    idleWorkersRssMiB: idle.workersRssMiB,
    workersRssMiB: st.workersRssMiB,
    tick: st.tick,
    loopMaxMs: st.loopMaxMs,
    bigService,
    bigTemplate,
    bigServiceCpu,
    bigTemplateCpu,
    stopMs,
  };

  if (restart) {
    // 4. Restart over the N Services: API first, then the gateway routing the last Service.
    const r0 = performance.now();
    server = await startServer(ctx, dataDir, `${n}-restart`);
    const apiMs = performance.now() - r0;
    const host = `s${n - 1}.default.example.com`;
    let servedMs = NaN;
    for (;;) {
      const r = await request(server.gatewayPort, 'GET', '/', { host, timeoutMs: 60_000 }).catch(() => ({ status: 0, body: '' }));
      if (r.status === 200) {
        servedMs = performance.now() - r0;
        break;
      }
      if (performance.now() - r0 > 600_000) throw new Error(`the gateway did not serve ${host} after a restart: ${r.status} ${r.body}`);
      await new Promise((res) => setTimeout(res, 20));
    }
    await new Promise((r) => setTimeout(r, 1000));
    const rss = server.stats().rssMiB;
    ctx.log(`${n}: after a restart the API answered in ${f1(apiMs)} ms, the gateway served ${host} after ${f1(servedMs)} ms`);
    result.restart = { apiMs, servedMs, serverStartMs: server.startMs, stopAfterMs: await stopServer(server), rssMiB: rss };
  }
  return result;
}

/** The pure deciders alone: decisions per second over n KPA revisions with a little traffic. */
async function deciderRate(n: number): Promise<number> {
  const config = defaultAutoscalerConfig();
  const now0 = Date.now();
  const revs = Array.from({ length: n }, (_, i) => {
    const spec = resolveScalingSpec({}, 0, config);
    const metrics = new RevisionMetrics({
      stableWindowMs: spec.stableWindowMs,
      panicWindowMs: spec.panicWindowMs,
      algorithm: spec.aggregation,
    });
    for (let s = 0; s < 60; s++)
      metrics.record(now0 - (60 - s) * 1000, {
        averageConcurrency: (i % 7) / 3,
        requests: i % 5,
        queued: 0,
        inFlight: 0,
        intervalMs: 1000,
      });
    return { key: `default/r${i}`, name: `r${i}`, spec, metrics, state: initialAutoscalerState(spec, now0, 1), current: 1 };
  });
  let decisions = 0;
  const t0 = performance.now();
  for (let round = 0; round < 5; round++) {
    const now = now0 + round * 2000;
    for (const r of revs) {
      const d = await decide(
        r.state,
        {
          spec: r.spec,
          revision: { namespace: 'default', name: r.name, key: r.key },
          current: r.current,
          ready: r.current,
          metrics: r.metrics,
          reachable: true,
          proxySince: 0,
        },
        now,
      );
      r.state = d.state;
      r.current = d.desired;
      decisions++;
    }
  }
  return decisions / ((performance.now() - t0) / 1000);
}

export async function run(ctx: BenchContext): Promise<Section> {
  const results: SizeResult[] = [];
  for (const n of SIZES) results.push(await measureSize(ctx, n, n === SIZES[SIZES.length - 1]));
  const largest = results[results.length - 1];
  const rate = await deciderRate(largest.n);

  const createRows = results.map((r) => {
    const first = mean(r.firstCreates);
    const last = mean(r.lastCreates);
    return `| ${r.n.toLocaleString('en')} | ${f1(first)} | ${f1(last)} | **${f2(last / first)}×** | ${f1(r.createRate)} | ${f1(r.allReadyS)} |`;
  });
  const sizeRows = results.map(
    (r) =>
      `| ${r.n.toLocaleString('en')} | ${f1(pct(r.applyReady, 50))} | **${f1(pct(r.applyReady, 99))}** | ${f1(pct(r.watchLatency, 50))} / ${f1(pct(r.watchLatency, 99))} | ${f1(pct(r.fanout, 50))} / ${f1(pct(r.fanout, 99))} | ${f1(pct(r.listMs, 50))} | ${f1(r.pagedMs)} (${r.pageMs.length} pages, ${f1(pct(r.pageMs, 50))} each) | ${f1(r.dbMiB)} | **${Math.round(r.rssMiB)}** (peak ${Math.round(r.peakRssMiB)}) | **${Math.round(r.idleRssMiB)}** | ${Math.round(r.heapUsedMiB)} / ${Math.round(r.idleHeapUsedMiB)} | ${Math.round(r.workersRssMiB)} / ${Math.round(r.idleWorkersRssMiB)} |`,
  );
  const bigRows = results.map((r) => {
    const kind = (ms: number[], cpu: number[]) =>
      ms.length === 0
        ? '— | — | — | —'
        : `${f1(ms[0])} | ${f1(mean(ms.slice(-5)))} | ${f2(mean(ms.slice(-5)) / mean(ms.slice(0, 5)))}× | ${f1(mean(cpu.slice(0, 10)))} / ${f1(mean(cpu.slice(-10)))}`;
    return `| ${r.n.toLocaleString('en')} | ${kind(r.bigService, r.bigServiceCpu)} | ${kind(r.bigTemplate, r.bigTemplateCpu)} |`;
  });
  const re = largest.restart!;
  const goalP99 = pct(largest.applyReady, 99) <= 100 ? 'met' : 'not met';
  const goalRss = (mib: number) => (mib * 2 ** 20 <= 500e6 ? 'met' : 'not met');
  const body = `
A real \`sluice server\` process (SQLite file, WAL with synchronous=NORMAL, API over HTTPS with its token, controllers,
gateway), driven through the Kubernetes API by this process. Every Service has initial-scale and min-scale 0, so no
instance runs; "Ready" is \`Ready=True\` on the Service as ${WATCHERS} watchers on \`services\` see it. The N creates are
sent ${CREATORS} at a time (each sender waits for its 201 before the next). The machine is shared with other developers' work, so absolute times are
noisy; the ratios within one run are what to read.

### Creating Services

| Services | create, first ${EDGE} (ms) | create, last ${EDGE} (ms) | last / first | creates/s | all Ready after (s) |
| --- | --- | --- | --- | --- | --- |
${createRows.join('\n')}

"Create" is one POST answered (201); "all Ready" is from the first POST until the first watcher has seen every one
of them Ready=True.

### At that size: apply → Ready, watches, lists, memory

| Services | apply → Ready p50 (ms) | apply → Ready p99 (ms) | POST → ADDED at each of ${WATCHERS} watchers p50 / p99 (ms) | ${WATCHERS} watchers apart p50 / p99 (ms) | full list (ms) | paged list, limit ${PAGE}: all pages (ms) | SQLite (MiB) | server RSS (MiB) | server RSS after ${IDLE_S} s idle (MiB) | JS heap used, then after idle (MiB) | gateway workers' own memory, then after idle (MiB) |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
${sizeRows.join('\n')}

Apply → Ready is measured on ${PACED} more Services created one at a time once the others are stored (POST sent →
the first watcher sees Ready=True). "POST → ADDED" is from sending the POST to each watcher receiving the ADDED event
(${WATCHERS} values per create); "watchers apart" is the time between the first and the last of the ${WATCHERS}
watchers receiving the same Ready event. "Full list" is one JSON list of every Service; the paged list follows
\`continue\` from the first page to the last. RSS and heap are read after everything below was stored too (4.5 s
after the last create), then again after ${IDLE_S} s with no requests, by when \`sluice server\` has given back the heap's free space (\`src/heap.ts\`: a compacting full collection after 15 s quiet, and a plain one a second later; the gateway workers do the same when under 2 % busy). The
server runs \`sluice server\`'s default of one gateway worker per core (2 here): their own memory (anonymous
RSS, without the node binary's pages they share with the server) is the last column, not in the server's RSS.

Goals at ${largest.n.toLocaleString('en')}: p99 apply → Ready ≤ 100 ms — **${goalP99}** (${f1(pct(largest.applyReady, 99))} ms);
RSS ≤ 500 MB — right after the work **${goalRss(largest.rssMiB)}** (${Math.round(largest.rssMiB)} MiB), after ${IDLE_S} s idle
**${goalRss(largest.idleRssMiB)}** (${Math.round(largest.idleRssMiB)} MiB); the server and its gateway workers together after ${IDLE_S} s idle
**${goalRss(largest.idleRssMiB + largest.idleWorkersRssMiB)}** (${Math.round(largest.idleRssMiB + largest.idleWorkersRssMiB)} MiB).

### Services with two 100 KB annotations (${BIG} of each kind, after the above)

| stored before | on the Service: first (ms) | last 5 (ms) | last / first 5 | server CPU per create, first / last 10 (ms) | on the template: first (ms) | last 5 (ms) | last / first 5 | server CPU per create, first / last 10 (ms) |
| --- | --- | --- | --- | --- | --- | --- | --- | --- |
${bigRows.join('\n')}

Times are each POST answered; "server CPU" is the server process's user + system time while the POSTs were answered
(from \`/proc\`), which includes the controllers' work on the Services created just before: it does not
count the time waiting for a core on this shared machine. The work per create is counted exactly by
\`test/integration/controlplane-big-objects.test.ts\` (big JSON documents per create, the same for the first
and the sixth; none while nothing changes).

### Stop and restart with ${largest.n.toLocaleString('en')} Services

| SIGTERM → exited (ms) | restart: process start → API answering (ms) | → gateway serves the last Service (ms) | server RSS after restart (MiB) |
| --- | --- | --- | --- |
| ${results.map((r) => f1(r.stopMs)).join(' / ')} (${results.map((r) => r.n.toLocaleString('en')).join(' / ')}) | ${f1(re.apiMs)} | ${f1(re.servedMs)} | ${Math.round(re.rssMiB)} |

"Gateway serves" is the first 200 from the last Service's app through the gateway, so it includes that app's cold
start from zero; startSluice itself took ${f1(re.serverStartMs)} ms of it.

### Autoscaler with ${largest.n.toLocaleString('en')} revisions

| | |
| --- | --- |
| pure deciders (\`decide()\`, KPA, 60 s of samples each) | ${Math.round(rate).toLocaleString('en')} decisions/s |
| controller tick in the server (every decision settled), last / max | ${f1(largest.tick.lastMs)} / ${f1(largest.tick.maxMs)} ms for ${largest.tick.revisions.toLocaleString('en')} revisions${largest.tick.decided !== undefined ? `, ${largest.tick.decided.toLocaleString('en')} of them awake (decided) in the last; the others sleep until something happens to them` : ''} (interval 2,000 ms) |
| longest event-loop delay in the last 500 ms | ${f1(largest.loopMaxMs)} ms |
`;
  return { title: 'Control plane at scale', body };
}
