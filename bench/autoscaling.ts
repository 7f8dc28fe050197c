// Autoscaling benchmarks (a bench/run.ts section; alone: node dist/bench/autoscaling.js):
//   1. cold start: first response from zero instances, minus the example app's own start-to-ready
//      time measured directly (spawn → "listening" → first answer) = what Sluice adds;
//   2. step load: 1 client, then N at once, with containerConcurrency K: seconds until ready
//      instances >= N/K, and errors;
//   3. idle: seconds from the last response to zero instances, against the configured windows.
// Sluice runs in this process (API, controllers, gateway); instances and direct apps are children.

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { admit } from '../src/api/admission.js';
import { kindByKind } from '../src/api/registry.js';
import type { KObject } from '../src/api/types.js';
import { type RunningSluice, startSluice } from '../src/server.js';
import type { BenchContext, Section } from './lib/section.js';
import { ProcessGroup } from './lib/procs.js';
import { startAppDirect } from './lib/direct-app.js';

const IMAGE = 'registry.cn-hangzhou.aliyuncs.com/knative-sample/rest-api-go:v1';
const COLD_RUNS = 10;
const STEPS: ReadonlyArray<{ n: number; k: number }> = [
  { n: 8, k: 1 },
  { n: 16, k: 4 },
  { n: 32, k: 4 },
];
const IDLE: ReadonlyArray<{ window: string; retention?: string }> = [
  { window: '6s' },
  { window: '12s' },
  { window: '6s', retention: '10s' },
  { window: '60s' },
];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const f1 = (x: number) => x.toFixed(1);
const f2 = (x: number) => x.toFixed(2);

function get(port: number, host: string | undefined, p: string, agent: http.Agent | false = false): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: p, agent, headers: host ? { host } : {} }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.setTimeout(60_000, () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

async function until<T>(what: string, check: () => T | undefined | false, timeoutMs: number, everyMs = 2): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** A Service through admission into the store; its revision is `${name}-v1`. */
export async function createService(
  s: RunningSluice,
  name: string,
  annotations: Record<string, string>,
  containerConcurrency = 0,
): Promise<void> {
  const obj: KObject = {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: { name, namespace: 'default' },
    spec: {
      template: {
        metadata: { name: `${name}-v1`, annotations },
        spec: { containerConcurrency, containers: [{ image: IMAGE, env: [{ name: 'RESOURCE', value: name }] }] },
      },
    },
  };
  await s.store.create('serving.knative.dev/services', admit(kindByKind('Service', 'serving.knative.dev')!, obj, undefined));
}

const hostOf = (name: string) => `${name}.default.example.com`;
const keyOf = (name: string) => `default/${name}-v1`;
const atZero = (s: RunningSluice, name: string) => {
  const st = s.runtime.status(keyOf(name));
  return !!st && st.replicas === 0 && st.instances.length === 0;
};

async function firstAnswer(s: RunningSluice, name: string): Promise<void> {
  await until('first answer', () => s.gateway.hosts().includes(hostOf(name)), 30_000, 20);
  for (const deadline = Date.now() + 30_000; ;) {
    if ((await get(s.gatewayPort, hostOf(name), '/').catch(() => 0)) === 200) return;
    if (Date.now() > deadline) throw new Error(`${name}: no answer`);
    await sleep(20);
  }
}

// ---- 1. cold start ----

/** Spawn → the app prints that it listens → one GET answered: the app's own cold start. */
async function directColdStart(procs: ProcessGroup, appScript: string, cwd: string): Promise<number> {
  const t0 = performance.now();
  const { proc, port } = await startAppDirect(procs, appScript, cwd);
  const status = await get(port, undefined, '/');
  const ms = performance.now() - t0;
  await procs.stop(proc);
  if (status !== 200) throw new Error(`direct app answered ${status}`);
  return ms;
}

async function coldStart(ctx: Pick<BenchContext, 'log' | 'procs' | 'root' | 'tmpDir'>, s: RunningSluice) {
  const appScript = path.join(ctx.root, 'dist', 'examples', 'rest-api', 'server.js');
  ctx.log(`cold start: preparing ${COLD_RUNS} revisions at zero`);
  const names = Array.from({ length: COLD_RUNS }, (_, i) => `cold${i}`);
  for (const n of names) await createService(s, n, {});
  for (const n of names) await firstAnswer(s, n);
  await until('all at zero', () => names.every((n) => atZero(s, n)), 60_000, 50);
  await directColdStart(ctx.procs, appScript, ctx.tmpDir); // warms the file cache
  // Pairs, one right after the other, so both halves see the same machine (other load comes and goes).
  const direct: number[] = [];
  const sluice: number[] = [];
  for (const n of names) {
    direct.push(await directColdStart(ctx.procs, appScript, ctx.tmpDir));
    const t0 = performance.now();
    const status = await get(s.gatewayPort, hostOf(n), '/');
    sluice.push(performance.now() - t0);
    if (status !== 200) throw new Error(`${n}: cold request answered ${status}`);
  }
  ctx.log(`cold start: direct median ${f1(median(direct))} ms, through Sluice ${f1(median(sluice))} ms`);
  return { direct, sluice };
}

// ---- 2. step load ----

async function stepLoad(ctx: Pick<BenchContext, 'log'>, s: RunningSluice, n: number, k: number) {
  const name = `step-${n}-${k}`;
  // Knative's default window (the cluster default in this run is 6 s, for the cold starts).
  await createService(s, name, { 'autoscaling.knative.dev/min-scale': '1', 'autoscaling.knative.dev/window': '60s' }, k);
  await firstAnswer(s, name);
  const host = hostOf(name);
  const agent = new http.Agent({ keepAlive: true, maxSockets: n });
  const statuses = new Map<number, number>();
  let clients = 1;
  let stop = false;
  const client = async (i: number) => {
    while (!stop) {
      if (i >= clients) {
        await sleep(1);
        continue;
      }
      const st = await get(s.gatewayPort, host, '/?sleep=100', agent).catch(() => -1);
      statuses.set(st, (statuses.get(st) ?? 0) + 1);
    }
  };
  const running = Array.from({ length: n }, (_, i) => client(i));
  await sleep(3000); // one client: settles at one instance
  const want = Math.ceil(n / k);
  const before = s.runtime.status(keyOf(name))?.readyReplicas ?? 0;
  const t0 = performance.now();
  clients = n;
  await until(`${want} ready instances`, () => (s.runtime.status(keyOf(name))?.readyReplicas ?? 0) >= want, 60_000);
  const seconds = (performance.now() - t0) / 1000;
  await sleep(3000); // keep the load on a little: errors after reaching the count count too
  stop = true;
  await Promise.all(running);
  agent.destroy();
  const errors = [...statuses].filter(([st]) => st !== 200).reduce((a, [, c]) => a + c, 0);
  const total = [...statuses.values()].reduce((a, b) => a + b, 0);
  const peak = s.runtime.status(keyOf(name))?.replicas ?? 0;
  ctx.log(`step 1→${n}, K=${k}: ${f2(seconds)} s to ${want} ready, ${errors} errors of ${total}`);
  return { n, k, want, before, seconds, errors, total, replicasAfter: peak };
}

// ---- 3. idle ----

async function idle(ctx: Pick<BenchContext, 'log'>, s: RunningSluice) {
  const rows = await Promise.all(
    IDLE.map(async (c, i) => {
      const name = `idle${i}`;
      const anns: Record<string, string> = { 'autoscaling.knative.dev/window': c.window };
      if (c.retention) anns['autoscaling.knative.dev/scale-to-zero-pod-retention-period'] = c.retention;
      await createService(s, name, anns);
      await firstAnswer(s, name);
      // Quiet for a moment, then the last request: the clock starts at its answer.
      await sleep(500);
      if ((await get(s.gatewayPort, hostOf(name), '/')) !== 200) throw new Error(`${name}: request failed`);
      const t0 = performance.now();
      await until(`${name} at zero`, () => atZero(s, name), 180_000, 20);
      return { ...c, seconds: (performance.now() - t0) / 1000 };
    }),
  );
  for (const r of rows)
    ctx.log(`idle: window ${r.window}${r.retention ? ` retention ${r.retention}` : ''} → zero after ${f1(r.seconds)} s`);
  return rows;
}

export async function run(ctx: BenchContext): Promise<Section> {
  const dataDir = path.join(ctx.tmpDir, 'sluice');
  mkdirSync(dataDir, { recursive: true });
  // Cold starts need revisions at zero quickly: a 6 s stable window (Knative's minimum).
  const s = await startSluice({
    dataDir,
    apiPort: 0,
    gatewayPort: 0,
    adminPort: 0,
    quiet: true,
    gracePeriodMs: 2000,
    autoscalerConfig: { 'stable-window': '6s' },
  });
  try {
    ctx.log('cold start');
    const cold = await coldStart(ctx, s);
    ctx.log('step load (default windows via annotations: 60 s stable, 6 s panic)');
    const steps = [];
    for (const st of STEPS) steps.push(await stepLoad(ctx, s, st.n, st.k));
    ctx.log('idle to zero');
    const idles = await idle(ctx, s);
    return { title: 'Autoscaling', body: render(cold, steps, idles) };
  } finally {
    await s.stop();
  }
}

function render(
  cold: { direct: number[]; sluice: number[] },
  steps: Awaited<ReturnType<typeof stepLoad>>[],
  idles: Awaited<ReturnType<typeof idle>>,
): string {
  const dm = median(cold.direct);
  const sm = median(cold.sluice);
  const overhead = cold.sluice.map((x, i) => x - cold.direct[i]);
  return [
    `Sluice runs in the benchmark's process; instances are the example app (\`examples/rest-api\`, Node) as child processes.`,
    '',
    '### Cold start from zero',
    '',
    `${COLD_RUNS} revisions at zero instances, one request each. "Direct" is the app on its own, in the same clean`,
    'environment Sluice gives instances: spawn, wait for it to print that it listens, one GET. Each Sluice cold start',
    'runs right after a direct one; the overhead is the median of the pairwise differences: holding the request,',
    'the immediate scale decision, starting the process, readiness probing (every 2 ms for the first 2 s, until the first success),',
    'handing the instance to the gateway, and forwarding over a new connection.',
    '',
    '| | median | min | max |',
    '| --- | ---: | ---: | ---: |',
    `| direct: app start to first answer | ${f1(dm)} ms | ${f1(Math.min(...cold.direct))} ms | ${f1(Math.max(...cold.direct))} ms |`,
    `| through Sluice: request at zero to answer | ${f1(sm)} ms | ${f1(Math.min(...cold.sluice))} ms | ${f1(Math.max(...cold.sluice))} ms |`,
    `| **Sluice overhead** (per pair) | **${f1(median(overhead))} ms** | ${f1(Math.min(...overhead))} ms | ${f1(Math.max(...overhead))} ms |`,
    '',
    '### Step load',
    '',
    'One client sends `/?sleep=100` requests back to back for 3 s (min-scale 1), then N clients do. Default',
    'windows (stable 60 s → panic 6 s). Time from the step until the runtime reports N/K ready instances;',
    'errors are non-200 answers over the whole run, including 3 s after the target was reached.',
    '',
    '| clients N | containerConcurrency K | instances wanted (N/K) | seconds to reach | errors / requests |',
    '| ---: | ---: | ---: | ---: | ---: |',
    ...steps.map((r) => `| ${r.n} | ${r.k} | ${r.want} | ${f2(r.seconds)} s | ${r.errors} / ${r.total} |`),
    '',
    'Requests that find every instance at its containerConcurrency are held by the gateway; the first one held',
    'triggers a KPA decision at once on the concurrency in the system (in flight + held), repeated every 50 ms',
    'while requests stay held, instead of waiting for the windows to show it. The 70% target utilization makes',
    'the KPA ask for about N/(0.7·K) instances; the time is mostly the new processes starting on a shared CPU.',
    '',
    '### Idle to zero',
    '',
    'One request, then nothing: seconds from its answer until the revision has no instance left. Per-revision',
    '`autoscaling.knative.dev/window` (and `scale-to-zero-pod-retention-period`), cluster',
    '`scale-to-zero-grace-period` 30 s, tick 2 s.',
    '',
    '| stable window | pod retention | seconds to zero |',
    '| ---: | ---: | ---: |',
    ...idles.map((r) => `| ${r.window} | ${r.retention ?? '0s'} | ${f1(r.seconds)} s |`),
    '',
    'The stable window must pass without traffic before the KPA recommends zero; the revision is then marked',
    'inactive and its last instance stopped at the next tick (plus the drain of the instance). The grace period',
    'does not add to it: it bounds how long Knative waits for the activator to be in the request path, and',
    "Sluice's gateway always is. A pod retention period longer than the window keeps the last instance that long.",
  ].join('\n');
}

// Standalone: node dist/bench/autoscaling.js
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const tmpDir = mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-autoscaling-'));
  const procs = new ProcessGroup();
  const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
  run({
    root,
    tmpDir,
    procs,
    machine: undefined as never,
    log: (m) => process.stderr.write(`[bench] autoscaling: ${m}\n`),
    noteTool: () => {},
  })
    .then((sec) => process.stdout.write(`## ${sec.title}\n\n${sec.body}\n`))
    .catch((e) => {
      process.stderr.write(`${String((e as Error).stack ?? e)}\n`);
      process.exitCode = 1;
    })
    .finally(() => {
      void procs.stopAll().then(() => rmSync(tmpDir, { recursive: true, force: true }));
    });
}
