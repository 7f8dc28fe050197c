// Section "gateway-workers": the gateway in 1 and in 2 processes (`--gateway-workers`), same apps,
// same load generator, in one run. Two cases: containerConcurrency 0 (no coordination between
// workers) and containerConcurrency 8 on two instances with more connections than slots, so
// requests wait all the time and the workers share the slots through the main process (the
// arbiter); the slot messages exchanged during the run say how often slots moved.
//
// On a 2-core machine wrk, the apps and the gateway share the same two cores, so the numbers say
// what a second worker costs and gains *here*; docs/benchmarks.md says what they cannot say.

import { existsSync } from 'node:fs';
import path from 'node:path';
import type { HostRoute, RevisionBackend } from '../src/dataplane/types.js';
import { debianVersion, ensureDebianTool } from './lib/machine.js';
import { cpuSeconds, machineCpuSeconds, reapedChildrenCpuSeconds, waitForOutput, type Proc } from './lib/procs.js';
import type { BenchContext, Section } from './lib/section.js';
import { runWrk, type WrkResult } from './lib/wrk.js';

const HOST = 'bench.default.example.com';
const KEY = 'default/bench-v1';
const CONNECTIONS = 32;
const THREADS = 2;
const DURATION_S =
  Number.isInteger(Number(process.env.SLUICE_BENCH_SECONDS)) && Number(process.env.SLUICE_BENCH_SECONDS) > 0
    ? Number(process.env.SLUICE_BENCH_SECONDS)
    : 10;
const WARMUP_S = 2;
const WORKER_COUNTS = [1, 2] as const;
const CASES = [
  { name: 'cc 0', containerConcurrency: 0 },
  { name: 'cc 8 × 2 instances, 32 connections', containerConcurrency: 8 },
] as const;

interface Run {
  workers: number;
  case: string;
  wrk: WrkResult;
  /** CPU seconds over the measured run. */
  gatewayMain: number;
  gatewayWorkers: number;
  apps: number;
  wrkCpu: number;
  machineBusy: number;
  /** Machine CPU seconds not used by the benchmark's processes (other work on the shared machine). */
  foreign: number;
  /** Slot messages (want, grant, return, ...) during the measured run, by type. */
  slotMessages: Record<string, number>;
}

export async function run(ctx: BenchContext): Promise<Section> {
  const { procs, log } = ctx;
  ensureDebianTool('wrk', 'wrk', log);
  ctx.noteTool('wrk', debianVersion('wrk') ?? 'unknown');
  const appScript = path.join(ctx.root, 'dist', 'examples', 'rest-api', 'server.js');
  const gwScript = path.join(ctx.root, 'dist', 'bench', 'gateway-workers-process.js');
  for (const f of [appScript, gwScript])
    if (!existsSync(f)) throw new Error(`${path.relative(ctx.root, f)} is missing: build first (npm run build)`);

  log('starting two app instances');
  const apps: { proc: Proc; port: number }[] = [];
  for (let i = 0; i < 2; i++) {
    const proc = procs.start(`app ${i + 1}`, process.execPath, [appScript], {
      env: { ...process.env, PORT: '0', HOST: '127.0.0.1', RESOURCE: 'v1', LOG_REQUESTS: '' },
    });
    apps.push({ proc, port: 0 });
  }
  for (const a of apps) a.port = Number((await waitForOutput(a.proc, /listening on http:\/\/127\.0\.0\.1:(\d+)/))[1]);
  const routes: HostRoute[] = [{ host: HOST, targets: [{ revisionKey: KEY, percent: 100 }] }];

  const runs: Run[] = [];
  for (const c of CASES) {
    for (const workers of WORKER_COUNTS) {
      const revisions: RevisionBackend[] = [
        {
          key: KEY,
          endpoints: apps.map((a, i) => ({ id: `i${i + 1}`, host: '127.0.0.1', port: a.port })),
          containerConcurrency: c.containerConcurrency,
          timeoutSeconds: 30,
        },
      ];
      log(`${c.name}: gateway with ${workers} worker(s)`);
      const gwProc = procs.start(`gateway ${workers}`, process.execPath, [gwScript, JSON.stringify({ workers, routes, revisions })]);
      const gw = JSON.parse((await waitForOutput(gwProc, /^gateway-workers (\{.*\})$/m))[1]) as { port: number; pids: number[] };
      const url = `http://127.0.0.1:${gw.port}/`;
      await runWrk(procs, { url, host: HOST, threads: THREADS, connections: CONNECTIONS, durationS: WARMUP_S, scriptDir: ctx.tmpDir });
      const cpu = () => ({
        main: cpuSeconds(gw.pids[0]),
        workers: gw.pids.slice(1).reduce((s, p) => s + cpuSeconds(p), 0),
        apps: apps.reduce((s, a) => s + cpuSeconds(a.proc.pid), 0),
        wrk: reapedChildrenCpuSeconds(),
        machine: machineCpuSeconds().busy,
      });
      const slotMessages = async (n: number): Promise<Record<string, number>> => {
        process.kill(gw.pids[0], 'SIGUSR2');
        const re = new RegExp(`^slot-messages ${n} (\\{.*\\})$`, 'm');
        return JSON.parse((await waitForOutput(gwProc, re))[1]) as Record<string, number>;
      };
      const msgsBefore = await slotMessages(1);
      const before = cpu();
      const wrk = await runWrk(procs, {
        url,
        host: HOST,
        threads: THREADS,
        connections: CONNECTIONS,
        durationS: DURATION_S,
        scriptDir: ctx.tmpDir,
      });
      const after = cpu();
      const msgsAfter = await slotMessages(2);
      const ours = (c: ReturnType<typeof cpu>) => c.main + c.workers + c.apps + c.wrk;
      const foreign = Math.max(0, after.machine - before.machine - (ours(after) - ours(before)));
      if (wrk.errors > 0) throw new Error(`${c.name}, ${workers} worker(s): ${wrk.errors} errors (${wrk.non2xx} non-2xx)`);
      runs.push({
        workers,
        case: c.name,
        wrk,
        gatewayMain: after.main - before.main,
        gatewayWorkers: after.workers - before.workers,
        apps: after.apps - before.apps,
        wrkCpu: after.wrk - before.wrk,
        machineBusy: after.machine - before.machine,
        foreign,
        slotMessages: Object.fromEntries(Object.entries(msgsAfter).map(([t, n]) => [t, n - (msgsBefore[t] ?? 0)])),
      });
      await procs.stop(gwProc);
    }
  }
  return { title: 'Gateway workers: 1 vs 2 processes', body: render(ctx, runs) };
}

const f1 = (n: number) => n.toFixed(1);
const f2 = (n: number) => n.toFixed(2);

function render(ctx: BenchContext, runs: Run[]): string {
  const lines = [
    `${ctx.machine.cpuModel}, ${ctx.machine.cores} cores; \`npm run bench -- gateway-workers\`; wrk -t ${THREADS} -c ${CONNECTIONS} -d ${DURATION_S}s after ${WARMUP_S} s of warm-up, \`GET /\` to two instances of \`examples/rest-api\` through \`bench/gateway-workers-process.ts\` (1 worker: the in-process gateway; 2: main process + two workers, as \`sluice server --gateway-workers 2\` runs them).`,
    '',
    '| case | workers | req/s | p50 ms | p99 ms | gateway CPU s (main + workers) | CPU µs per request, gateway | apps CPU s | wrk CPU s | machine busy (of 2 cores) | other programs (cores) |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of runs) {
    const gw = r.gatewayMain + r.gatewayWorkers;
    lines.push(
      `| ${r.case} | ${r.workers} | ${Math.round(r.wrk.rps)} | ${f2(r.wrk.p50Ms)} | ${f2(r.wrk.p99Ms)} | ${f1(gw)} (${f1(r.gatewayMain)} + ${f1(r.gatewayWorkers)}) | ${Math.round((gw / r.wrk.requests) * 1e6)} | ${f1(r.apps)} | ${f1(r.wrkCpu)} | ${f2(r.machineBusy / r.wrk.durationS)} | ${f2(r.foreign / r.wrk.durationS)} |`,
    );
  }
  lines.push('', 'Ratios, 2 workers over 1, in this run:', '');
  for (const c of CASES) {
    const one = runs.find((r) => r.case === c.name && r.workers === 1)!;
    const two = runs.find((r) => r.case === c.name && r.workers === 2)!;
    const perReq = (r: Run) => (r.gatewayMain + r.gatewayWorkers) / r.wrk.requests;
    lines.push(
      `- ${c.name}: throughput ${f2(two.wrk.rps / one.wrk.rps)}×, p99 ${f2(two.wrk.p99Ms / one.wrk.p99Ms)}×, gateway CPU per request ${f2(perReq(two) / perReq(one))}×.`,
    );
  }
  const contended = runs.find((r) => r.workers === 2 && r.case === CASES[1].name)!;
  const msgs = contended.slotMessages;
  const total = Object.values(msgs).reduce((a, b) => a + b, 0);
  const moved = (msgs.grant ?? 0) + (msgs.return ?? 0);
  const byType = Object.entries(msgs)
    .sort((a, b) => b[1] - a[1])
    .map(([t, n]) => `${t} ${n}`)
    .join(', ');
  lines.push(
    '',
    `Slot messages between the main process and the workers during the measured ${contended.case} run with 2 workers: ${total} for ${contended.wrk.requests} requests (${f2((total / contended.wrk.requests) * 1000)} per 1,000 requests; slots granted or given back ${f2((moved / contended.wrk.requests) * 1000)} per 1,000 requests)${byType ? `: ${byType}` : ''}.`,
  );
  const busy1 = runs.find((r) => r.workers === 1 && r.case === CASES[0].name)!;
  const others = Math.max(...runs.map((r) => r.foreign / r.wrk.durationS));
  lines.push(
    '',
    `Other programs on this shared machine used up to ${f2(others)} cores during these runs (last column), taken from the same two cores; ratios from one run are what this section reports.`,
    '',
    '**What these numbers can say here.** The load generator, the two app instances and the gateway share the same two cores: with one worker the machine was already ' +
      `${f2(busy1.machineBusy / busy1.wrk.durationS)} of 2 cores busy. A second worker can only take CPU time from wrk and the apps, so throughput cannot double here; the ratio is the net of a second event loop for gateway work against more processes competing for the same cores. ` +
      'What does carry over is the cost per request: the gateway CPU per request (main process + workers) shows what running in workers adds — with kept-alive connections the main process only sees each connection once (round-robin hand-off) and gets one counters message per worker every 100 ms, so its share should stay near zero; ' +
      'and the containerConcurrency 8 case, where 32 connections compete for 16 slots, shows what sharing the slots costs: while requests wait, each worker serves its own held requests from its share of the slots (max-min fair by demand, recomputed at most every 100 ms), so slots move between workers when demand moves, not per request (the slot messages above; before shares every release went back to the arbiter, about three messages per request).',
    '',
    '**What they cannot say** is the speed-up with free cores. **Expected on a bigger machine** (load generator and apps elsewhere, N cores for the gateway): one worker is bound by its single event loop, and workers share nothing per request for containerConcurrency 0 (their own routing tables, connection pools and counters), so throughput should grow close to linearly with N until the apps or the network are the limit. ' +
      "The shared parts are the main process' accept hand-off (one per connection, not per request: a cost only for clients that open a connection per request) and, for revisions whose containerConcurrency is reached, the arbiter, whose event loop it shares with the controllers: under steady contention it sees tens of messages per 1,000 requests (above), but where the capacity is smaller than the number of workers (one instance at containerConcurrency 1, two workers) the shares round down to 0 and every slot circulates through it, a round trip per request.",
  );
  return lines.join('\n');
}
