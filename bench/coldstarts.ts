// Concurrent cold starts (a bench/run.ts section): N Services at zero (N = 1, 5, 25, 100), one
// request to each at the same moment, through the gateway of a Sluice running in this process
// (API, controllers, gateway; the instances are child processes). Each request's time to its
// answer is compared with the app's own start-to-answer time, measured by starting N copies of the
// example app directly at the same moment (the same machine load a burst of N cold starts makes),
// so what is left is what Sluice adds. Knative's published targets: p95 ≤ 2 s with 25 services,
// ≤ 25 s with 100.

import http from 'node:http';
import path from 'node:path';
import { type RunningSluice, startSluice } from '../src/server.js';
import { createService } from './autoscaling.js';
import { startAppDirect } from './lib/direct-app.js';
import type { Proc, ProcessGroup } from './lib/procs.js';
import type { BenchContext, Section } from './lib/section.js';

const SIZES = (process.env.SLUICE_BENCH_COLD_SIZES ?? '1,5,25,100').split(',').map(Number);
/** Knative's published targets for p95 (ms) by number of services. */
const KNATIVE_P95_MS: Record<number, number> = { 25: 2000, 100: 25000 };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
};
const f0 = (x: number) => x.toFixed(0);

function get(port: number, host: string | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/', agent: false, headers: host ? { host } : {} }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.setTimeout(120_000, () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

async function until(what: string, check: () => boolean, timeoutMs: number, everyMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** N copies of the app started at once: each one's spawn → "listening" → first answer (ms). */
async function directStarts(procs: ProcessGroup, appScript: string, cwd: string, n: number): Promise<number[]> {
  const t0 = performance.now();
  const started: Proc[] = [];
  const times = await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const { proc, port } = await startAppDirect(procs, appScript, cwd, `direct-${i}`);
      started.push(proc);
      const status = await get(port, undefined);
      if (status !== 200) throw new Error(`direct app answered ${status}`);
      return performance.now() - t0;
    }),
  );
  await Promise.all(started.map((p) => procs.stop(p)));
  return times;
}

interface Row {
  n: number;
  sluice: number[];
  direct: number[];
  failed: number;
}

async function burst(ctx: BenchContext, s: RunningSluice, appScript: string, n: number): Promise<Row> {
  const names = Array.from({ length: n }, (_, i) => `cold-${n}-${i}`);
  for (const name of names) await createService(s, name, { 'autoscaling.knative.dev/initial-scale': '0' });
  const hosts = names.map((name) => `${name}.default.example.com`);
  await until(`${n} routes in the gateway`, () => hosts.every((h) => s.gateway.hosts().includes(h)), 120_000);
  // Ready (at zero) as the controllers see it: nothing is still being reconciled.
  await s.controllers.idle();
  await sleep(500);
  const t0 = performance.now();
  let failed = 0;
  const sluice = await Promise.all(
    hosts.map(async (h) => {
      const status = await get(s.gatewayPort, h).catch(() => 0);
      if (status !== 200) failed++;
      return performance.now() - t0;
    }),
  );
  ctx.log(`${n} at once through Sluice: p50 ${f0(pct(sluice, 50))} ms, max ${f0(Math.max(...sluice))} ms, ${failed} failed`);
  // Their instances go away again before the app is measured directly on the same machine.
  for (const name of names) await s.store.delete('serving.knative.dev/services', 'default', name);
  await until(
    'instances stopped',
    () => names.every((name) => (s.runtime.status(`default/${name}-v1`)?.instances.length ?? 0) === 0),
    120_000,
  );
  await sleep(1000);
  const direct = await directStarts(ctx.procs, appScript, ctx.tmpDir, n);
  ctx.log(`${n} at once directly: p50 ${f0(pct(direct, 50))} ms, max ${f0(Math.max(...direct))} ms`);
  return { n, sluice, direct, failed };
}

export async function run(ctx: BenchContext): Promise<Section> {
  const appScript = path.join(ctx.root, 'dist', 'examples', 'rest-api', 'server.js');
  const s = await startSluice({
    dataDir: path.join(ctx.tmpDir, 'sluice'),
    apiPort: 0,
    gatewayPort: 0,
    adminPort: 0,
    quiet: true,
    gracePeriodMs: 2000,
    autoscalerConfig: { 'allow-zero-initial-scale': 'true' },
  });
  const rows: Row[] = [];
  try {
    await directStarts(ctx.procs, appScript, ctx.tmpDir, 1); // warms the file cache
    for (const n of SIZES) rows.push(await burst(ctx, s, appScript, n));
  } finally {
    await s.stop();
  }
  const lines = rows.map((r) => {
    const added = (p: number) => pct(r.sluice, p) - pct(r.direct, p);
    const target = KNATIVE_P95_MS[r.n];
    const verdict =
      target === undefined ? '' : pct(r.sluice, 95) <= target ? `≤ ${target / 1000} s: **met**` : `≤ ${target / 1000} s: **not met**`;
    return `| ${r.n} | ${f0(pct(r.sluice, 50))} / ${f0(pct(r.sluice, 95))} / ${f0(Math.max(...r.sluice))} | ${f0(pct(r.direct, 50))} / ${f0(pct(r.direct, 95))} / ${f0(Math.max(...r.direct))} | **${f0(added(50))} / ${f0(added(95))} / ${f0(Math.max(...r.sluice) - Math.max(...r.direct))}** | ${(pct(r.sluice, 95) / pct(r.direct, 95)).toFixed(2)}× | ${r.failed} | ${verdict} |`;
  });
  const body = `
N Services at zero (initial-scale 0, never started), then one request to each at the same moment through the gateway of a
Sluice running in the bench process; the time is from sending the N requests to each answer (200 from the example app,
\`examples/rest-api\`, a Node process per instance). For comparison the same app is started directly N times at once
(spawn → it prints that it listens → one GET answered), after Sluice's instances are gone: that is the app's own time to
ready under the same burst on this machine, and "added" is the difference at the same percentile. The machine is shared
with other developers' work, so absolute times are noisy; the ratio and the added time are what to read.

| services at once | through Sluice p50 / p95 / max (ms) | app started directly p50 / p95 / max (ms) | added by Sluice p50 / p95 / max (ms) | p95 ratio | failed | Knative's target (p95) |
| --- | --- | --- | --- | --- | --- | --- |
${lines.join('\n')}

With ${Math.max(...SIZES)} at once, the time is the machine's: ${Math.max(...SIZES)} Node processes starting on the cores this machine has.
`;
  return { title: 'Concurrent cold starts', body };
}
