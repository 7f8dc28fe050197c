// Section "gateway": the data plane's cost, measured against the app alone and against nginx doing
// the same weighted split, with one load generator (wrk) on one machine in one run.
//
//   direct   wrk -> app v1
//   gateway  wrk -> Sluice gateway (own process, bench/gateway-process.ts) -> apps v1/v2/v3 40/30/30
//   nodehttp the same gateway with its fast path off (every request through node:http)
//   server   wrk -> `sluice server` as users run it (controllers, autoscaler, API in the same
//            process), a Service with three revisions split 40/30/30, its own instances
//   nginx    wrk -> nginx, 1 worker, upstream weight=4/3/3 with keepalive   -> apps v1/v2/v3
//   relay    wrk -> bare Node TCP relay, no HTTP (bench/tcp-relay-process.ts) -> apps, 4/3/3 by connection
//
// Each at peak (as fast as wrk's connections go), then direct/gateway/nginx at one common rate,
// half of the gateway's peak, for the added-latency goal. CPU time of every process is read from
// /proc around each run. Finally a short CPU profile of the gateway at peak says where its time goes.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { HostRoute, RevisionBackend } from '../src/dataplane/types.js';
import { summarizeProfile, type CpuProfile, type ProfileSummary } from './lib/cpuprofile.js';
import { countBodies, request } from './lib/http.js';
import { debianVersion, ensureDebianTool } from './lib/machine.js';
import {
  childPids,
  cpuSeconds,
  cpuTime,
  foreignCpuSeconds,
  foreignSnapshot,
  freePort,
  machineCpuSeconds,
  reapedChildrenCpuSeconds,
  schedStat,
  waitForOutput,
  waitForPort,
  type Proc,
} from './lib/procs.js';
import type { BenchContext, Section } from './lib/section.js';
import { runWrk, type WrkResult } from './lib/wrk.js';

const HOST = 'bench.default.example.com';
const THREADS = 2;
/** Peak runs: enough connections to keep every path busy. */
const CONNECTIONS = 32;
/**
 * Half-load runs. wrk paces in whole milliseconds, so paced requests leave in clumps at each
 * millisecond tick, and a clump can be as large as the number of connections whose pause ends
 * then. Few connections keep clumps small (closer to the even spacing wrk2 would give); the same
 * rate over many connections is run too, shorter, to show how the tail grows with clump size.
 */
const HALF_CONNECTIONS = 8;
const CLUMPY_CONNECTIONS = 32;
const CLUMPY_S = 5;
/** Whole seconds per measured run; SLUICE_BENCH_SECONDS shortens it for trying the bench out. */
const DURATION_S =
  Number.isInteger(Number(process.env.SLUICE_BENCH_SECONDS)) && Number(process.env.SLUICE_BENCH_SECONDS) > 0
    ? Number(process.env.SLUICE_BENCH_SECONDS)
    : 10;
const WARMUP_S = 2;
/** Pacing calibration before each half-load run: wrk runs of these lengths (s) at the target rate. */
const CALIBRATION_S = [2, 1];
const CLUMPY_CALIBRATION_S = [1];
/** A paced run more than this fraction off its target rate is recalibrated and run again, once. */
const RATE_TOLERANCE = 0.2;
const PROFILE_S = 5;
/** Seconds of system-call counting per path (perf's syscall tracepoints), after the timed runs. */
const SYSCALL_S = 3;
const SYSCALL_TARGETS: Target[] = ['gateway', 'relay', 'nginx'];
/** What perf counts there: every system call, the socket reads and writes, event waits, context switches. */
const SYSCALL_EVENTS: Record<keyof SyscallCounts, string[]> = {
  all: ['raw_syscalls:sys_enter'],
  reads: ['syscalls:sys_enter_read', 'syscalls:sys_enter_readv', 'syscalls:sys_enter_recvfrom', 'syscalls:sys_enter_recvmsg'],
  writes: ['syscalls:sys_enter_write', 'syscalls:sys_enter_writev', 'syscalls:sys_enter_sendto', 'syscalls:sys_enter_sendmsg'],
  waits: ['syscalls:sys_enter_epoll_wait', 'syscalls:sys_enter_epoll_pwait'],
  switches: ['context-switches'],
};

/** Per request, over one counting run. */
interface SyscallCounts {
  all: number;
  reads: number;
  writes: number;
  waits: number;
  switches: number;
}

/** Whether perf can count system calls here (installed, and tracepoints readable). */
function perfCanCount(): boolean {
  try {
    execFileSync('perf', ['stat', '-x,', '-e', 'raw_syscalls:sys_enter', 'true'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const SPLIT_SAMPLES = 200;
/**
 * A measured run during which processes outside the benchmark kept more than this many cores busy
 * is repeated (up to MAX_REPEATS times): on a shared 2-core machine a parallel build or test run
 * would otherwise decide the numbers.
 */
const MAX_OTHER_CORES = 0.1;
const MAX_REPEATS = 2;
/** Before a repeat, wait up to this long for a second with less than MAX_OTHER_CORES busy. */
const QUIET_WAIT_S = 30;
/** Knative's published per-hop figures (activator, queue-proxy), for comparison. */
const KNATIVE_RPS_PER_VCPU = 2500;

const REVISIONS = [
  { resource: 'v1', key: 'default/bench-v1', percent: 40, weight: 4 },
  { resource: 'v2', key: 'default/bench-v2', percent: 30, weight: 3 },
  { resource: 'v3', key: 'default/bench-v3', percent: 30, weight: 3 },
] as const;

type Target = 'direct' | 'gateway' | 'varied' | 'nodehttp' | 'server' | 'nginx' | 'relay';
const PEAK_TARGETS: Target[] = ['direct', 'gateway', 'varied', 'nodehttp', 'server', 'nginx', 'relay'];
const HALF_TARGETS: Target[] = ['direct', 'gateway', 'server', 'nginx'];
const CLUMPY_TARGETS: Target[] = ['direct', 'gateway', 'nginx'];

const LABEL: Record<Target, string> = {
  direct: '(a) app v1 direct',
  gateway: '(b) Sluice gateway, 40/30/30',
  varied: '(b2) the same gateway, no request head repeated (targets `/?n=1`, `/?n=2`, …)',
  nodehttp: '(b0) the same gateway, fast path off (node:http only)',
  server: '(b1) `sluice server` as users run it (one gateway process), 40/30/30',
  nginx: '(c) nginx, 1 worker, 4/3/3',
  relay: '(d) bare Node TCP relay, no HTTP',
};

/** The Service the `sluice server` run serves: three revisions of the example app, split 40/30/30. */
function benchService(rev: (typeof REVISIONS)[number], traffic: boolean): string {
  return JSON.stringify({
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: { name: 'bench', namespace: 'default' },
    spec: {
      template: {
        metadata: {
          name: `bench-${rev.resource}`,
          // One instance each, kept up, no concurrency limit: the same shape as the other paths.
          annotations: { 'autoscaling.knative.dev/min-scale': '1', 'autoscaling.knative.dev/max-scale': '1' },
        },
        spec: {
          containerConcurrency: 0,
          containers: [
            {
              image: 'registry.cn-hangzhou.aliyuncs.com/knative-sample/rest-api-go:v1',
              env: [
                { name: 'RESOURCE', value: rev.resource },
                { name: 'LOG_REQUESTS', value: '' },
              ],
            },
          ],
        },
      },
      ...(traffic ? { traffic: REVISIONS.map((r) => ({ revisionName: `bench-${r.resource}`, percent: r.percent })) } : {}),
    },
  });
}

interface GcStats {
  count: number;
  totalMs: number;
  maxMs: number;
}

interface Measured {
  wrk: WrkResult;
  /** Average cores busy during the run. */
  proxyCores: number;
  proxyUserCores: number;
  proxySystemCores: number;
  /** Milliseconds per second the proxy's main thread was runnable but had no CPU. */
  proxyWaitMsPerS: number;
  /** Mean run-queue wait per time the proxy's main thread was scheduled in, µs. */
  proxyWaitUsPerSlice: number;
  appsCores: number;
  wrkCores: number;
  /** Busy time of the whole machine (excluding steal). */
  machineCores: number;
  /** Other programs' processes on the machine (not this benchmark's, not kernel threads). */
  otherCores: number;
  stealCores: number;
  /** Mean pause per connection used for the run (half-load runs), ms. */
  delayMs: number;
  /** Gateway only: GC pauses during the run. */
  gc?: GcStats;
  /** Earlier attempts thrown away because something else was using the machine. */
  repeats: number;
}

interface App {
  resource: string;
  key: string;
  port: number;
  proc: Proc;
}

function nginxConfig(dir: string, port: number, apps: App[]): string {
  const servers = apps.map((a, i) => `    server 127.0.0.1:${a.port} weight=${REVISIONS[i].weight};`).join('\n');
  // Same job as the gateway: weighted split, keep-alive upstream connections, the same forwarded
  // headers (X-Forwarded-For/-Proto/-Host) and the client's Host passed through.
  return `worker_processes 1;
error_log ${dir}/error.log warn;
pid ${dir}/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream apps {
${servers}
    keepalive 64;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://apps;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $http_host;
    }
  }
}
`;
}

/** Per-revision 2xx counts from the gateway's Prometheus text. */
function revisionCounts(metrics: string): Map<string, number> {
  const out = new Map<string, number>();
  const re = /^sluice_gateway_requests_total\{namespace="([^"]*)",revision="([^"]*)",code="2xx"\} (\d+)$/gm;
  for (const m of metrics.matchAll(re)) out.set(`${m[1]}/${m[2]}`, Number(m[3]));
  return out;
}

/** Resolves after a one-second window in which other programs were quiet, or after maxS. */
async function waitQuiet(maxS: number): Promise<void> {
  const deadline = Date.now() + maxS * 1000;
  while (Date.now() < deadline) {
    const a = foreignSnapshot();
    await new Promise((r) => setTimeout(r, 1000));
    if (foreignCpuSeconds(a, foreignSnapshot()) < MAX_OTHER_CORES) return;
  }
}

const f0 = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');
const f1 = (n: number): string => (Number.isFinite(n) ? n.toFixed(1) : 'n/a');
const f2 = (n: number): string => (Number.isFinite(n) ? n.toFixed(2) : 'n/a');
const pct = (n: number): string => (Number.isFinite(n) ? `${n.toFixed(1)}%` : 'n/a');

export async function run(ctx: BenchContext): Promise<Section> {
  const { procs, log } = ctx;
  ensureDebianTool('wrk', 'wrk', log);
  ensureDebianTool('nginx', 'nginx', log);
  const wrkVersion = debianVersion('wrk') ?? 'unknown';
  const nginxVersion = debianVersion('nginx') ?? 'unknown';
  ctx.noteTool('wrk', wrkVersion);
  ctx.noteTool('nginx', nginxVersion);

  const appScript = path.join(ctx.root, 'dist', 'examples', 'rest-api', 'server.js');
  const gwScript = path.join(ctx.root, 'dist', 'bench', 'gateway-process.js');
  const relayScript = path.join(ctx.root, 'dist', 'bench', 'tcp-relay-process.js');
  for (const f of [appScript, gwScript, relayScript])
    if (!existsSync(f)) throw new Error(`${path.relative(ctx.root, f)} is missing: build first (npm run build)`);

  // --- processes (ctx.procs stops them all at the end, also on error) ---
  log('starting three app processes (v1, v2, v3)');
  const apps: App[] = [];
  for (const r of REVISIONS) {
    const proc = procs.start(`app ${r.resource}`, process.execPath, [appScript], {
      env: { ...process.env, PORT: '0', HOST: '127.0.0.1', RESOURCE: r.resource, LOG_REQUESTS: '' },
    });
    apps.push({ resource: r.resource, key: r.key, port: 0, proc });
  }
  for (const a of apps) a.port = Number((await waitForOutput(a.proc, /listening on http:\/\/127\.0\.0\.1:(\d+)/))[1]);

  log('starting the gateway process');
  const revisions: RevisionBackend[] = apps.map((a) => ({
    key: a.key,
    endpoints: [{ id: `${a.resource}-1`, host: '127.0.0.1', port: a.port }],
    containerConcurrency: 0,
    timeoutSeconds: 30,
  }));
  const routes: HostRoute[] = [{ host: HOST, targets: REVISIONS.map((r) => ({ revisionKey: r.key, percent: r.percent })) }];
  const gwProc = procs.start('gateway', process.execPath, [gwScript, JSON.stringify({ routes, revisions })]);
  const gw = JSON.parse((await waitForOutput(gwProc, /^gateway-process (\{.*\})$/m))[1]) as {
    port: number;
    adminPort: number;
    pid: number;
  };
  const nodeGwProc = procs.start('gateway (fast path off)', process.execPath, [
    gwScript,
    JSON.stringify({ routes, revisions, fastPath: false }),
  ]);
  const nodeGw = JSON.parse((await waitForOutput(nodeGwProc, /^gateway-process (\{.*\})$/m))[1]) as { port: number; pid: number };

  log('starting `sluice server` and deploying a Service with three revisions split 40/30/30');
  const serverDir = path.join(ctx.tmpDir, 'sluice-server');
  mkdirSync(serverDir, { recursive: true });
  const [apiPort, serverGwPort, adminPort] = [await freePort(), await freePort(), await freePort()];
  const serverProc = procs.start('sluice server', process.execPath, [
    path.join(ctx.root, 'bin', 'sluice.js'),
    'server',
    '--data-dir',
    serverDir,
    '--api-port',
    String(apiPort),
    '--gateway-port',
    String(serverGwPort),
    '--admin-port',
    String(adminPort),
    // One process, as for the other paths (the gateway-workers section measures more).
    '--gateway-workers',
    '1',
  ]);
  const kubeconfig = (await waitForOutput(serverProc, /Kubeconfig: (\S+)/, 30_000))[1];
  for (const [i, rev] of REVISIONS.entries())
    execFileSync('kubectl', ['apply', '-f', '-'], {
      input: benchService(rev, i === REVISIONS.length - 1),
      env: { ...process.env, KUBECONFIG: kubeconfig },
      stdio: ['pipe', 'ignore', 'pipe'],
    });
  // Ready when all three revisions answer through the server's gateway.
  for (const deadline = Date.now() + 90_000; ;) {
    const seen = await countBodies(serverGwPort, HOST, 30, /Welcome to the (v\d) app!/).catch(() => new Map<string, number>());
    if (REVISIONS.every((r) => (seen.get(r.resource) ?? 0) > 0)) break;
    if (Date.now() > deadline) throw new Error(`sluice server did not serve all three revisions within 90 s: ${JSON.stringify([...seen])}`);
    await new Promise((r) => setTimeout(r, 500));
  }

  log('starting nginx');
  const nginxDir = path.join(ctx.tmpDir, 'nginx');
  mkdirSync(nginxDir, { recursive: true });
  const nginxPort = await freePort();
  const nginxConf = path.join(nginxDir, 'nginx.conf');
  writeFileSync(nginxConf, nginxConfig(nginxDir, nginxPort, apps));
  const nginxProc = procs.start('nginx', 'nginx', [
    '-p',
    nginxDir,
    '-e',
    path.join(nginxDir, 'error.log'),
    '-c',
    nginxConf,
    '-g',
    'daemon off;',
  ]);
  await waitForPort(nginxPort, 'nginx');
  let nginxWorker = 0;
  for (const deadline = Date.now() + 5000; nginxWorker === 0;) {
    const kids = childPids(nginxProc.pid);
    if (kids.length === 1) nginxWorker = kids[0];
    else if (Date.now() > deadline) throw new Error(`expected one nginx worker under pid ${nginxProc.pid}, found ${kids.length}`);
    else await new Promise((r) => setTimeout(r, 20));
  }

  log('starting the bare TCP relay');
  const relayProc = procs.start('tcp relay', process.execPath, [relayScript, ...apps.map((a, i) => `${a.port}:${REVISIONS[i].weight}`)]);
  const relay = JSON.parse((await waitForOutput(relayProc, /^tcp-relay (\{.*\})$/m))[1]) as { port: number; pid: number };

  const portOf: Record<Target, number> = {
    direct: apps[0].port,
    gateway: gw.port,
    varied: gw.port,
    nodehttp: nodeGw.port,
    server: serverGwPort,
    nginx: nginxPort,
    relay: relay.port,
  };
  const proxyPid: Record<Target, number> = {
    direct: 0,
    gateway: gw.pid,
    varied: gw.pid,
    nodehttp: nodeGw.pid,
    server: serverProc.pid,
    nginx: nginxWorker,
    relay: relay.pid,
  };
  const scriptDir = ctx.tmpDir;
  const admin = async <T>(method: string, p: string): Promise<T> => JSON.parse((await request(gw.adminPort, method, p)).body) as T;

  // --- split check, from the apps' side: each answer names the app that produced it ---
  log(`split check: ${SPLIT_SAMPLES} sequential requests through the gateway and through nginx`);
  const welcome = /Welcome to the (v\d) app!/;
  const gwBodies = await countBodies(gw.port, HOST, SPLIT_SAMPLES, welcome);
  const ngBodies = await countBodies(nginxPort, HOST, SPLIT_SAMPLES, welcome);

  const load = (t: Target, durationS: number, delayMs = 0, connections = CONNECTIONS, onStart?: () => void): Promise<WrkResult> =>
    runWrk(procs, {
      url: `http://127.0.0.1:${portOf[t]}/`,
      host: HOST,
      threads: THREADS,
      connections,
      durationS,
      delayMs,
      scriptDir,
      onStart,
      varyTarget: t === 'varied',
    });

  const measure = async (t: Target, durationS: number, delayMs = 0, connections = CONNECTIONS): Promise<Measured> => {
    // The server runs its own instances of the app (its child processes).
    const appPids = t === 'server' ? childPids(serverProc.pid) : apps.map((a) => a.proc.pid);
    const pid = proxyPid[t];
    const snap = () => ({
      proxy: pid ? cpuTime(pid) : { user: 0, system: 0 },
      sched: pid ? schedStat(pid) : { run: 0, wait: 0, slices: 0 },
      apps: appPids.reduce((s, p) => s + cpuSeconds(p), 0),
      // wrk's CPU shows up here once it has exited and been reaped.
      children: reapedChildrenCpuSeconds(),
      machine: machineCpuSeconds(),
      foreign: foreignSnapshot(),
    });
    const gc0 = t === 'gateway' ? await admin<GcStats>('GET', '/gc') : undefined;
    let before = snap();
    const wrk = await load(t, durationS, delayMs, connections, () => {
      before = snap();
    });
    const after = snap();
    const gc1 = t === 'gateway' ? await admin<GcStats>('GET', '/gc') : undefined;
    const secs = wrk.durationS;
    const proxyUserCores = (after.proxy.user - before.proxy.user) / secs;
    const proxySystemCores = (after.proxy.system - before.proxy.system) / secs;
    const appsCores = (after.apps - before.apps) / secs;
    const wrkCores = (after.children - before.children) / secs;
    const machineCores = (after.machine.busy - before.machine.busy) / secs;
    return {
      wrk,
      proxyCores: proxyUserCores + proxySystemCores,
      proxyUserCores,
      proxySystemCores,
      proxyWaitMsPerS: ((after.sched.wait - before.sched.wait) * 1000) / secs,
      proxyWaitUsPerSlice: ((after.sched.wait - before.sched.wait) * 1e6) / Math.max(1, after.sched.slices - before.sched.slices),
      appsCores,
      wrkCores,
      machineCores,
      otherCores: foreignCpuSeconds(before.foreign, after.foreign) / secs,
      stealCores: (after.machine.steal - before.machine.steal) / secs,
      delayMs,
      gc: gc0 && gc1 ? { count: gc1.count - gc0.count, totalMs: gc1.totalMs - gc0.totalMs, maxMs: gc1.maxMs } : undefined,
      repeats: 0,
    };
  };

  const measureQuiet = async (t: Target, durationS: number, delayMs = 0, connections = CONNECTIONS): Promise<Measured> => {
    for (let repeats = 0; ; repeats++) {
      const m = await measure(t, durationS, delayMs, connections);
      m.repeats = repeats;
      if (m.otherCores <= MAX_OTHER_CORES || repeats >= MAX_REPEATS) return m;
      log(`${t}: something else used ${f2(m.otherCores)} cores during the run; repeating it once the machine is quiet`);
      await waitQuiet(QUIET_WAIT_S);
    }
  };

  // --- peak ---
  const peak = {} as Record<Target, Measured>;
  let gwCounts = new Map<string, number>();
  let gwCpuUsage = NaN;
  for (const t of PEAK_TARGETS) {
    log(`${t}: warm-up ${WARMUP_S} s, then ${DURATION_S} s at peak`);
    await load(t, WARMUP_S);
    if (t === 'gateway') {
      const m0 = revisionCounts((await request(gw.adminPort, 'GET', '/metrics')).body);
      const c0 = await admin<{ userUs: number; systemUs: number }>('GET', '/cpu');
      peak[t] = await measureQuiet(t, DURATION_S);
      const c1 = await admin<{ userUs: number; systemUs: number }>('GET', '/cpu');
      const m1 = revisionCounts((await request(gw.adminPort, 'GET', '/metrics')).body);
      gwCounts = new Map(REVISIONS.map((r) => [r.key, (m1.get(r.key) ?? 0) - (m0.get(r.key) ?? 0)]));
      // process.cpuUsage() over about the same window (a little wider: includes the admin calls).
      gwCpuUsage = (c1.userUs + c1.systemUs - c0.userUs - c0.systemUs) / 1e6 / peak[t].wrk.durationS;
    } else {
      peak[t] = await measureQuiet(t, DURATION_S);
    }
    const m = peak[t];
    log(
      `${t}: ${f0(m.wrk.rps)} req/s, p50 ${f2(m.wrk.p50Ms)} ms, p99 ${f2(m.wrk.p99Ms)} ms, proxy ${f2(m.proxyCores)} cores, other ${f2(m.otherCores)} cores`,
    );
  }

  // --- one common rate: half of the gateway's peak ---
  const rate = peak.gateway.wrk.rps / 2;
  const paced = async (t: Target, connections: number, durationS: number, calibrations: readonly number[]): Promise<Measured> => {
    // Closed loop: rate = C / (d + L). Short calibration runs (which also warm up) measure the
    // effective L at this load (latency plus wrk's timer overshoot), which d then leaves room for.
    const cycleMs = (connections * 1000) / rate;
    let d = cycleMs;
    for (const calS of calibrations) {
      const cal = await load(t, calS, d, connections);
      const effL = (connections * 1000) / cal.rps - d;
      d = Math.max(0, cycleMs - effL);
    }
    log(`${t}: ${f0(rate)} req/s over ${connections} connections: ${durationS} s with a ${d.toFixed(2)} ms pause per connection`);
    let m = await measureQuiet(t, durationS, d, connections);
    if (Math.abs(m.wrk.rps / rate - 1) > RATE_TOLERANCE) {
      // A calibration run that something disturbed: use the measured run as the calibration.
      d = Math.max(0, cycleMs - ((connections * 1000) / m.wrk.rps - d));
      log(`${t}: got ${f0(m.wrk.rps)} req/s, off target; again with a ${d.toFixed(2)} ms pause`);
      m = await measureQuiet(t, durationS, d, connections);
    }
    log(`${t}: ${f0(m.wrk.rps)} req/s, p50 ${f2(m.wrk.p50Ms)} ms, p99 ${f2(m.wrk.p99Ms)} ms, other ${f2(m.otherCores)} cores`);
    return m;
  };
  const half = {} as Record<Target, Measured>;
  for (const t of HALF_TARGETS) half[t] = await paced(t, HALF_CONNECTIONS, DURATION_S, CALIBRATION_S);
  const clumpy = {} as Record<Target, Measured>;
  for (const t of CLUMPY_TARGETS) clumpy[t] = await paced(t, CLUMPY_CONNECTIONS, CLUMPY_S, CLUMPY_CALIBRATION_S);

  // --- where the gateway's CPU goes at peak ---
  log(`profiling the gateway for ${PROFILE_S} s at peak`);
  await request(gw.adminPort, 'POST', '/profile/start');
  const profRun = await load('gateway', PROFILE_S);
  const profile = await admin<CpuProfile>('POST', '/profile/stop');
  const prof = summarizeProfile(profile, /\/dist\/src\/dataplane\//, `${ctx.root}/dist/`);

  // --- system calls per request at peak: perf counts them in a run of their own, as tracing slows the process ---
  const syscalls: Partial<Record<Target, SyscallCounts>> = {};
  if (perfCanCount()) {
    for (const t of SYSCALL_TARGETS) {
      log(`${t}: counting system calls for ${SYSCALL_S} s at peak`);
      const events = Object.values(SYSCALL_EVENTS).flat();
      // perf counts the process for as long as its `sleep` runs, from 1 s into a longer wrk run.
      const counting = load(t, SYSCALL_S + 2);
      await new Promise((r) => setTimeout(r, 1000));
      const perf = procs.start('perf stat', 'perf', [
        'stat',
        '-x,',
        '-e',
        events.join(','),
        '-p',
        String(proxyPid[t]),
        '--',
        'sleep',
        String(SYSCALL_S),
      ]);
      await perf.exited;
      const wrk = await counting;
      const counts = new Map<string, number>();
      for (const line of perf.output().split('\n')) {
        const f = line.split(',');
        if (f.length > 2 && events.includes(f[2])) counts.set(f[2], Number(f[0]));
      }
      const requests = wrk.rps * SYSCALL_S;
      const per = (k: keyof SyscallCounts) => SYSCALL_EVENTS[k].reduce((n, e) => n + (counts.get(e) ?? NaN), 0) / requests;
      syscalls[t] = { all: per('all'), reads: per('reads'), writes: per('writes'), waits: per('waits'), switches: per('switches') };
    }
  } else log('perf cannot count system calls here (not installed, or tracepoints not readable): no system-call table');

  for (const p of [relayProc, nginxProc, gwProc, nodeGwProc, serverProc, ...apps.map((a) => a.proc)]) await procs.stop(p);

  return {
    title: 'Gateway: the app direct vs through Sluice vs through nginx',
    body: render({
      peak,
      half,
      clumpy,
      rate,
      gwCounts,
      gwBodies,
      ngBodies,
      gwCpuUsage,
      prof,
      profRun,
      syscalls,
      wrkVersion,
      nginxVersion,
      cores: ctx.machine.cores,
    }),
  };
}

interface Results {
  peak: Record<Target, Measured>;
  half: Record<Target, Measured>;
  clumpy: Record<Target, Measured>;
  rate: number;
  gwCounts: Map<string, number>;
  gwBodies: Map<string, number>;
  ngBodies: Map<string, number>;
  gwCpuUsage: number;
  prof: ProfileSummary;
  profRun: WrkResult;
  syscalls: Partial<Record<Target, SyscallCounts>>;
  wrkVersion: string;
  nginxVersion: string;
  cores: number;
}

const perCore = (m: Measured): number => m.wrk.rps / m.proxyCores;
const usPerReq = (cores: number, m: Measured): number => (cores * 1e6) / m.wrk.rps;

function render(r: Results): string {
  const { peak, half } = r;
  const d: Derived = {
    rpsVsDirect: peak.gateway.wrk.rps / peak.direct.wrk.rps,
    rpsVsNginx: peak.gateway.wrk.rps / peak.nginx.wrk.rps,
    addedP99: half.gateway.wrk.p99Ms - half.direct.wrk.p99Ms,
    addedP99Nginx: half.nginx.wrk.p99Ms - half.direct.wrk.p99Ms,
    addedP50: half.gateway.wrk.p50Ms - half.direct.wrk.p50Ms,
    gwPerCore: perCore(peak.gateway),
    ngPerCore: perCore(peak.nginx),
    relayPerCore: perCore(peak.relay),
    nodePerCore: perCore(peak.nodehttp),
    serverPerCore: perCore(peak.server),
    addedP99Server: half.server.wrk.p99Ms - half.direct.wrk.p99Ms,
  };
  // The goals of the per-core work: per core and throughput at least nginx's, p99 added within
  // 0.2 ms of what nginx adds.
  const rpsGoal = d.rpsVsNginx >= 1;
  const perCoreGoal = d.gwPerCore >= d.ngPerCore;
  const latGoal = d.addedP99 - d.addedP99Nginx <= 0.2;
  const out: string[] = [];

  out.push(
    '### Setup',
    '',
    `- Apps: three processes of \`dist/examples/rest-api/server.js\` with RESOURCE=v1/v2/v3; every request is \`GET /\`, answered with "Welcome to the vN app!".`,
    `- (a) wrk straight to app v1. (b) wrk to the Sluice gateway running alone in its own Node process (\`bench/gateway-process.ts\`): one route with a 40/30/30 split over three revisions, one endpoint each, containerConcurrency 0; plain HTTP/1.1 requests take its fast path (\`src/dataplane/fastpath/\`). (b2) the same gateway process with wrk's Lua \`request()\` giving every request its own target (\`/?n=1\`, \`/?n=2\`, …): no request head repeats on a connection, as with real clients, so whatever the fast path remembers of a connection's last head does not apply (wrk itself works more per request there). (b0) the same gateway process with the fast path off (\`GatewayOptions.fastPath: false\`: every request through node:http, as before the fast path). (b1) \`sluice server\` started as a user starts it (\`bin/sluice.js server --gateway-workers 1\` with its own data dir; API server, controllers, autoscaler and gateway in one process, for one process each as for the other paths), serving a Service applied with kubectl: three revisions of the same app (min- and max-scale 1, containerConcurrency 0), traffic 40/30/30; the proxy CPU is the server process's, its app instances are its children. (c) wrk to Debian's nginx ${r.nginxVersion}: \`worker_processes 1\`, \`upstream\` with \`weight=4/3/3\` and \`keepalive 64\`, HTTP/1.1 to the apps, the same X-Forwarded-* headers the gateway adds, \`access_log off\`, its own prefix in a temp dir, started as \`nginx -p DIR -c DIR/nginx.conf -g 'daemon off;'\`. (d) a floor for any Node proxy: \`bench/tcp-relay-process.ts\` pipes each client connection to one app connection (4/3/3 by connection) and does no HTTP at all, but the same socket reads and writes per request.`,
    `- Load: Debian's wrk ${r.wrkVersion}, \`wrk -t${THREADS} -c${CONNECTIONS} -d${DURATION_S}s --latency\` with a Host header, after a ${WARMUP_S} s warm-up of the same kind. Everything listens on 127.0.0.1 and shares the machine's ${r.cores} cores.`,
    `- CPU: user and system time from \`/proc/PID/stat\` before and after each run (gateway process, nginx's worker, relay, apps; wrk's from this runner's reaped-children time), the machine's busy time from \`/proc/stat\`, all divided by the run's length: "cores" = average cores busy. "Run-queue wait" is from \`/proc/PID/schedstat\` of the proxy's (single) event-loop thread: time it was runnable but had no CPU.`,
    `- Half load: wrk2 is not packaged by Debian (\`apt-cache policy wrk2\` finds nothing), so wrk's own Lua \`delay()\` hook paces it: each connection waits *d* ms after every response before sending its next request (a closed loop). The target is one rate for all three paths, **half of the gateway's peak: ${f0(r.rate)} req/s**; *d* = connections/rate − L, with L (latency plus wrk's timer overshoot) measured by short calibration runs at that target just before (${CALIBRATION_S.join(' + ')} s for the main runs, ${CLUMPY_CALIBRATION_S.join(' + ')} s for the ${CLUMPY_CONNECTIONS}-connection ones; they double as warm-up). wrk's timers have whole milliseconds, so a fractional *d* is drawn as ⌊d⌋ or ⌊d⌋+1, and paced requests leave in clumps at millisecond ticks; the main runs use ${HALF_CONNECTIONS} connections (${HALF_CONNECTIONS / THREADS} per wrk thread) to keep clumps small, nearer the even spacing wrk2 would give, and the same rate over ${CLUMPY_CONNECTIONS} connections shows what larger clumps do. wrk's latency clock starts when a request is written, after the pause. Being closed-loop, this does not correct for coordinated omission as wrk2 would: a stall delays only the few requests in flight.`,
    '',
  );

  const peakRow = (t: Target): string => {
    const m = peak[t];
    if (t === 'direct')
      return `| ${LABEL[t]} | ${f0(m.wrk.rps)} | ${f2(m.wrk.p50Ms)} | ${f2(m.wrk.p99Ms)} | ${m.wrk.errors} | — | ${f2(m.appsCores)} | ${f2(m.wrkCores)} | ${f2(m.otherCores)} | ${f2(m.machineCores)} | — | — |`;
    const proxy = `${f2(m.proxyCores)} (${f2(m.proxyUserCores)} / ${f2(m.proxySystemCores)})`;
    const us = `${f1(usPerReq(m.proxyUserCores, m))} / ${f1(usPerReq(m.proxySystemCores, m))}`;
    return `| ${LABEL[t]} | ${f0(m.wrk.rps)} | ${f2(m.wrk.p50Ms)} | ${f2(m.wrk.p99Ms)} | ${m.wrk.errors} | ${proxy} | ${f2(m.appsCores)} | ${f2(m.wrkCores)} | ${f2(m.otherCores)} | ${f2(m.machineCores)} | ${f0(perCore(m))} | ${us} |`;
  };
  out.push(
    `### Peak (${CONNECTIONS} connections, ${DURATION_S} s)`,
    '',
    '| path | req/s | p50 ms | p99 ms | errors | proxy cores (user / sys) | apps cores | wrk cores | other programs, cores | machine busy | req/s per proxy core | proxy µs per request (user / sys) |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...PEAK_TARGETS.map(peakRow),
    '',
    `Cores are averages over the run, of ${r.cores}. "other" is what other programs' processes on the machine used meanwhile (everything but this benchmark's processes and kernel threads): near 0 means the run had the machine to itself. "machine busy" also counts kernel threads and interrupt time. Steal time (not counted as busy) was at most ${f2(Math.max(...PEAK_TARGETS.map((t) => peak[t].stealCores)))} cores. The gateway's own \`process.cpuUsage()\` over its run gives ${f2(r.gwCpuUsage)} cores (\`/proc\`: ${f2(peak.gateway.proxyCores)}).`,
    '',
  );

  const halfRow = (t: Target): string => {
    const m = half[t];
    const proxy = t === 'direct' ? '—' : f2(m.proxyCores);
    const wait = t === 'direct' ? '—' : `${f1(m.proxyWaitMsPerS)} / ${f0(m.proxyWaitUsPerSlice)}`;
    return `| ${LABEL[t]} | ${f0(m.wrk.rps)} | ${m.delayMs.toFixed(2)} | ${f2(m.wrk.p50Ms)} | ${f2(m.wrk.p90Ms)} | ${f2(m.wrk.p99Ms)} | ${f2(m.wrk.maxMs)} | ${m.wrk.errors} | ${proxy} | ${wait} | ${f2(m.machineCores)} | ${f2(m.otherCores)} |`;
  };
  const hg = half.gateway.gc;
  out.push(
    `### Half load (target ${f0(r.rate)} req/s on every path, ${HALF_CONNECTIONS} connections, ${DURATION_S} s)`,
    '',
    '| path | req/s | pause d ms | p50 ms | p90 ms | p99 ms | max ms | errors | proxy cores | proxy run-queue wait: ms per s / µs per wake-up | machine busy | other programs, cores |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...HALF_TARGETS.map(halfRow),
    '',
    hg
      ? `Garbage collection in the gateway during its half-load run: ${hg.count} pauses, ${f1(hg.totalMs)} ms in all, the longest ${f2(hg.maxMs)} ms.`
      : '',
    '',
  );

  const cl = r.clumpy;
  const clumpyRow = (t: Target): string => {
    const m = cl[t];
    const added = t === 'direct' ? '—' : `${f2(m.wrk.p99Ms - cl.direct.wrk.p99Ms)}`;
    return `| ${LABEL[t]} | ${f0(m.wrk.rps)} | ${m.delayMs.toFixed(2)} | ${f2(m.wrk.p50Ms)} | ${f2(m.wrk.p90Ms)} | ${f2(m.wrk.p99Ms)} | ${added} | ${m.wrk.errors} | ${f2(m.otherCores)} |`;
  };
  out.push(
    `### Same rate, ${CLUMPY_CONNECTIONS} connections (larger clumps, ${CLUMPY_S} s)`,
    '',
    '| path | req/s | pause d ms | p50 ms | p90 ms | p99 ms | p99 added vs direct, ms | errors | other programs, cores |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...CLUMPY_TARGETS.map(clumpyRow),
    '',
  );

  const all = [
    ...PEAK_TARGETS.map((t) => ({ t, m: peak[t], kind: 'peak' })),
    ...HALF_TARGETS.map((t) => ({ t, m: half[t], kind: 'half-load' })),
    ...CLUMPY_TARGETS.map((t) => ({ t, m: r.clumpy[t], kind: `${CLUMPY_CONNECTIONS}-connection half-load` })),
  ];
  const repeated = all.filter((x) => x.m.repeats > 0);
  const noisy = all.filter((x) => x.m.otherCores > MAX_OTHER_CORES);
  out.push(
    `A run during which other programs kept more than ${MAX_OTHER_CORES} cores busy ("other") is repeated once they are quiet, up to ${MAX_REPEATS} times. ` +
      (repeated.length === 0
        ? 'No run needed it this time.'
        : `Repeated this time: ${repeated.map((x) => `${x.t} ${x.kind} (${x.m.repeats}×)`).join(', ')}.`) +
      (noisy.length === 0
        ? ''
        : ` **Still disturbed after repeating: ${noisy.map((x) => `${x.t} ${x.kind} (other ${f2(x.m.otherCores)} cores)`).join(', ')}; treat those rows with suspicion.**`),
    '',
  );

  const mark = (ok: boolean): string => (ok ? 'met' : '**not met**');
  out.push(
    '### Ratios and goals',
    '',
    '| measure | value | goal / reference | |',
    '| --- | ---: | --- | --- |',
    `| gateway req/s ÷ direct req/s (peak) | ${f2(d.rpsVsDirect)} | — | |`,
    `| gateway req/s ÷ nginx req/s (peak, one process each) | ${f2(d.rpsVsNginx)} | ≥ 1.00 | ${mark(rpsGoal)} |`,
    `| gateway req/s per core ÷ nginx's (peak) | ${f2(d.gwPerCore / d.ngPerCore)} | ≥ 1.00 | ${mark(perCoreGoal)} |`,
    `| gateway req/s per core, no head repeated ÷ nginx's (peak) | ${f2(perCore(r.peak.varied) / perCore(r.peak.nginx))} | — | |`,
    `| gateway µs per request, no head repeated ÷ the same head each time (peak) | ${f2(usPerReq(r.peak.varied.proxyCores, r.peak.varied) / usPerReq(r.peak.gateway.proxyCores, r.peak.gateway))} | — | |`,
    `| p99 the gateway adds at half load (vs direct) | ${f2(d.addedP99)} ms | within 0.2 ms of nginx's (≤ ${f2(d.addedP99Nginx + 0.2)} ms) | ${mark(latGoal)} |`,
    `| fast path ÷ node:http path, req/s (peak) | ${f2(peak.gateway.wrk.rps / peak.nodehttp.wrk.rps)} | — | |`,
    `| fast path ÷ node:http path, req/s per core (peak) | ${f2(d.gwPerCore / d.nodePerCore)} | — | |`,
    `| node:http path req/s ÷ nginx req/s (peak) | ${f2(peak.nodehttp.wrk.rps / peak.nginx.wrk.rps)} | before the fast path | |`,
    `| \`sluice server\` req/s ÷ nginx req/s (peak) | ${f2(peak.server.wrk.rps / peak.nginx.wrk.rps)} | as users run it | |`,
    `| \`sluice server\` req/s per core ÷ nginx's (peak) | ${f2(d.serverPerCore / d.ngPerCore)} | as users run it | |`,
    `| p99 \`sluice server\` adds at half load (vs direct) | ${f2(d.addedP99Server)} ms | | |`,
    `| p50 the gateway adds at half load (vs direct) | ${f2(d.addedP50)} ms | — | |`,
    `| p99 nginx adds at half load (vs direct) | ${f2(d.addedP99Nginx)} ms | reference | |`,
    `| gateway req/s per core of its own CPU (peak) | ${f0(d.gwPerCore)} | Knative: up to 1 vCPU per ${f0(KNATIVE_RPS_PER_VCPU)} req/s for each extra hop | ${d.gwPerCore >= KNATIVE_RPS_PER_VCPU ? 'better' : 'worse'} |`,
    `| nginx req/s per core of its worker's CPU (peak) | ${f0(d.ngPerCore)} | reference | |`,
    `| bare Node TCP relay req/s per core (peak) | ${f0(d.relayPerCore)} | floor for one Node process | |`,
    '',
  );

  // Split check.
  const totalCounted = [...r.gwCounts.values()].reduce((a, b) => a + b, 0);
  const share = (m: Map<string, number>, k: string): string => {
    const total = [...m.values()].reduce((a, b) => a + b, 0);
    const n = m.get(k) ?? 0;
    return `${f0(n)} (${pct(total > 0 ? (100 * n) / total : NaN)})`;
  };
  const strays = (m: Map<string, number>): string[] => [...m.keys()].filter((k) => !REVISIONS.some((rv) => rv.resource === k));
  out.push(
    '### Is the split right?',
    '',
    `During the gateway's peak run its per-revision counters (\`metrics()\`, read through the admin port) rose by ${f0(totalCounted)} 2xx answers, against ${f0(peak.gateway.wrk.requests)} that wrk completed (answers still in flight at wrk's deadline are counted by the gateway only). Separately, ${SPLIT_SAMPLES} sequential requests through each proxy, counted by the app name in the body:`,
    '',
    '| revision | weight | gateway counters (peak run) | bodies via gateway | bodies via nginx |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...REVISIONS.map(
      (rv) =>
        `| ${rv.resource} | ${rv.percent}% | ${share(r.gwCounts, rv.key)} | ${share(r.gwBodies, rv.resource)} | ${share(r.ngBodies, rv.resource)} |`,
    ),
    '',
  );
  const bad = [...strays(r.gwBodies), ...strays(r.ngBodies)];
  if (bad.length > 0) out.push(`Unexpected answers during the split check: ${bad.join(', ')}.`, '');

  // Profile.
  const p = r.prof;
  const esc = (s: string): string => s.replace(/\|/g, '\\|');
  out.push(
    `### Where the gateway's CPU goes (V8 sampling profiler, ${PROFILE_S} s at peak)`,
    '',
    `Profiled through the inspector inside the gateway process (a sample every 0.5 ms) while wrk ran at peak (${f0(r.profRun.rps)} req/s with the profiler on). Busy ${f0(p.busyMs)} ms of ${f0(p.totalMs)} ms sampled; shares are of busy time, self time. Time inside a native function called from JS includes the system call under it, and V8's sampler takes its samples when its signal is handled, which tends to be right after a system call returns, so native socket writes come out inflated: the bare relay (d) makes the same writes for a fraction of the gateway's CPU. Read this table for the split among JavaScript parts; the user/system split in the peak table is the reliable one for kernel vs user time.`,
    '',
    '| area | share |',
    '| --- | ---: |',
    ...p.byArea.map((a) => `| ${a.name} | ${pct(a.percent)} |`),
    '',
    '| top functions by self time | share |',
    '| --- | ---: |',
    ...p.topSelf.slice(0, 10).map((a) => `| \`${esc(a.name)}\` | ${pct(a.percent)} |`),
    '',
    '| gateway functions, inclusive (with what they call) | share |',
    '| --- | ---: |',
    ...p.ownInclusive.slice(0, 6).map((a) => `| \`${esc(a.name)}\` | ${pct(a.percent)} |`),
    '',
  );
  const sc = SYSCALL_TARGETS.filter((t) => r.syscalls[t] !== undefined);
  if (sc.length > 0)
    out.push(
      `### System calls per request (perf, ${SYSCALL_S} s at peak)`,
      '',
      `Counted with perf's syscall tracepoints (\`perf stat -e raw_syscalls:sys_enter,... -p PID\`) on the proxy process during a run of its own after the timed ones (tracing slows the process, so these runs are not timed), divided by the requests wrk completed meanwhile. Reads: read/readv/recvfrom/recvmsg; writes: write/writev/sendto/sendmsg; event waits: epoll_wait/epoll_pwait.`,
      '',
      '| path | all system calls | reads | writes | event waits | context switches |',
      '| --- | ---: | ---: | ---: | ---: | ---: |',
      ...sc.map((t) => {
        const c = r.syscalls[t]!;
        return `| ${LABEL[t]} | ${f2(c.all)} | ${f2(c.reads)} | ${f2(c.writes)} | ${f2(c.waits)} | ${f2(c.switches)} |`;
      }),
      '',
    );

  out.push('### Interpretation', '', ...interpret(r, d, rpsGoal && perCoreGoal, latGoal));
  return out.join('\n');
}

/** What the system-call counts say about the system time between the gateway and the relay. */
function syscallSentence(r: Results, extraSysUs: number): string {
  const g = r.syscalls.gateway;
  const rl = r.syscalls.relay;
  if (g === undefined || rl === undefined) return '';
  const same = Math.abs(g.all - rl.all) <= 0.1 * rl.all;
  return (
    `Per request the gateway made ${f2(g.all)} system calls (${f2(g.reads)} reads, ${f2(g.writes)} writes), the relay ${f2(rl.all)} (${f2(rl.reads)}, ${f2(rl.writes)})` +
    (same
      ? `: the same calls, one read and one write per direction, so the ${f1(extraSysUs)} µs of extra system time per request is not made of extra system calls. `
      : `: ${f2(g.all - rl.all)} more per request, part of its ${f1(extraSysUs)} µs of extra system time. `)
  );
}

interface Derived {
  rpsVsDirect: number;
  rpsVsNginx: number;
  addedP99: number;
  addedP99Nginx: number;
  addedP50: number;
  gwPerCore: number;
  ngPerCore: number;
  relayPerCore: number;
  nodePerCore: number;
  serverPerCore: number;
  addedP99Server: number;
}

function interpret(r: Results, d: Derived, rpsGoal: boolean, latGoal: boolean): string[] {
  const { peak, half } = r;
  const area = (name: RegExp): number => r.prof.byArea.filter((a) => name.test(a.name)).reduce((s, a) => s + a.percent, 0);
  const own = area(/^Sluice gateway code$/);
  const writes = area(/^socket writes/);
  const nodeJs = area(/HTTP server|streams|sockets \(JS\)|event emitters|timers|other Node internals/);
  const gc = area(/garbage collection/);
  const g = peak.gateway;
  const n = peak.nginx;
  const rl = peak.relay;
  const gUser = usPerReq(g.proxyUserCores, g);
  const gSys = usPerReq(g.proxySystemCores, g);
  const nUser = usPerReq(n.proxyUserCores, n);
  const nSys = usPerReq(n.proxySystemCores, n);
  const rUser = usPerReq(rl.proxyUserCores, rl);
  const rSys = usPerReq(rl.proxySystemCores, rl);
  const gap = gUser + gSys - (nUser + nSys);
  const relayVsNginx = d.relayPerCore / d.ngPerCore;
  const lines: string[] = [];

  lines.push(
    `- **Throughput and per-core cost: goals ${rpsGoal ? 'met' : 'not met'}.** Through the gateway wrk got ${f0(g.wrk.rps)} req/s: ${f2(d.rpsVsDirect)}× the app alone, ${f2(d.rpsVsNginx)}× nginx with one worker. ` +
      `The gateway process used ${f2(g.proxyCores)} cores${g.proxyCores > 0.85 ? ', i.e. its one event loop was saturated: it is the bottleneck' : ` (machine busy ${f2(g.machineCores)} of ${r.cores})`}; nginx's worker needed ${f2(n.proxyCores)} cores for its ${f0(n.wrk.rps)} req/s${n.proxyCores < 0.85 ? `, so there the limit was the rest of the machine (apps and wrk; machine busy ${f2(n.machineCores)} of ${r.cores})` : ''}. ` +
      `Per request the gateway spends ${f1(gUser + gSys)} µs of CPU (${f1(gUser)} user + ${f1(gSys)} system), nginx ${f1(nUser + nSys)} µs (${f1(nUser)} + ${f1(nSys)}): nginx does ${f2(d.ngPerCore / d.gwPerCore)}× more requests per core. ` +
      `Of the ${f1(gap)} µs difference, ${f1(gUser - nUser)} µs is user time and ${f1(gSys - nSys)} µs system time.`,
  );
  const cl = r.clumpy;
  const clAddedGw = cl.gateway.wrk.p99Ms - cl.direct.wrk.p99Ms;
  const clAddedNg = cl.nginx.wrk.p99Ms - cl.direct.wrk.p99Ms;
  lines.push(
    `- **Latency at half load (goal: within 0.2 ms of nginx's added p99): ${latGoal ? 'met' : 'not met'}.** At ${f0(r.rate)} req/s over ${HALF_CONNECTIONS} connections the gateway added ${f2(d.addedP99)} ms at p99 and ${f2(d.addedP50)} ms at p50 over the app alone; nginx, the same extra hop in C, added ${f2(d.addedP99Nginx)} ms at p99. ` +
      `At the same rate over ${CLUMPY_CONNECTIONS} connections, where requests arrive in larger clumps, the gateway added ${f2(clAddedGw)} ms and nginx ${f2(clAddedNg)} ms: a single event loop works off a clump one request at a time, so the tail grows with clump size times the CPU cost per request (${f1(gUser + gSys)} µs for the gateway, ${f1(nUser + nSys)} µs for nginx, from the peak run) — the same lever as throughput. ` +
      `Other measured contributors: on this machine wrk, three apps and the proxy take turns on ${r.cores} cores, and the gateway's event loop waited for a CPU ${f1(half.gateway.proxyWaitMsPerS)} ms per second, ${f0(half.gateway.proxyWaitUsPerSlice)} µs per wake-up on average (nginx's worker ${f1(half.nginx.proxyWaitMsPerS)} ms/s, ${f0(half.nginx.proxyWaitUsPerSlice)} µs)` +
      (half.gateway.gc
        ? `; and garbage collection paused the gateway ${half.gateway.gc.count} times, ${f1(half.gateway.gc.totalMs)} ms in all (${pct(half.gateway.gc.totalMs / (10 * half.gateway.wrk.durationS))} of the time), up to ${f2(half.gateway.gc.maxMs)} ms at once, holding every request in the gateway at that moment.`
        : '.') +
      ` The p99 numbers move by a millisecond or more between runs on this shared 2-core machine; the CPU-per-request figures are the stable ones.`,
  );
  lines.push(
    `- **Against Knative.** Knative documents 0.5–1 ms added per extra hop (activator, queue-proxy) and up to one vCPU per ${f0(KNATIVE_RPS_PER_VCPU)} req/s per hop; a request there crosses the ingress, the queue-proxy and, below target burst capacity, the activator. Sluice's single hop, which plays all three roles, did ${f0(d.gwPerCore)} req/s per core (${f1(d.gwPerCore / KNATIVE_RPS_PER_VCPU)}× Knative's per-hop figure) and added ${f2(d.addedP99)} ms at p99 at half load.`,
  );
  lines.push(
    `- **What limits the gateway (measured).** The CPU each request costs its one process. In the V8 profile the gateway's own code is ${pct(own)} of busy CPU as self time (its outermost function with all it calls, socket writes included, is ${pct(r.prof.ownInclusive[0]?.percent ?? NaN)} inclusive); Node's HTTP, stream, socket and event JavaScript is ${pct(nodeJs)}, GC ${pct(gc)}, and native socket writes ${pct(writes)} — a share the sampler inflates (see the profile notes), as the relay shows: ` +
      `the bare Node TCP relay — same socket reads and writes per request, no HTTP parsing, no \`ClientRequest\`/\`ServerResponse\` — needed ${f1(rUser + rSys)} µs per request (${f1(rUser)} user + ${f1(rSys)} system), ${f0(d.relayPerCore)} req/s per core: ` +
      (relayVsNginx < 0.8
        ? `${f2(1 / relayVsNginx)}× nginx's CPU per request even without any HTTP work. So on this machine no proxy inside one Node process built on net.Socket streams reaches nginx's one-worker throughput, however lean its HTTP handling.`
        : relayVsNginx <= 1.25
          ? `about what nginx needs (${f0(d.ngPerCore)} req/s per core; ratio ${f2(relayVsNginx)}, and per-core figures move by 10–15% between runs here). So the socket work costs a Node process about what it costs nginx and is not what separates them; but it also means one Node process could match nginx's one worker only if its HTTP handling cost next to nothing. The goal as stated is out of reach for a single gateway process; a leaner HTTP path can narrow the gap, more processes can close it per machine.`
          : `less than nginx's (${f0(d.ngPerCore)} req/s per core), so a leaner HTTP path inside Node could in principle reach nginx's one-worker throughput.`) +
      ` Between the relay and the gateway lie ${f1(gUser + gSys - (rUser + rSys))} µs per request, ${f1(gUser - rUser)} µs of it user time, with the gateway's own code (fast path included) at ${pct(own)} self time in the profile. ` +
      syscallSentence(r, gSys - rSys) +
      `The fast path is what changed: with it off (b0) the same process spends ${f1(usPerReq(r.peak.nodehttp.proxyCores, r.peak.nodehttp))} µs per request (${f0(d.nodePerCore)} req/s per core), i.e. the fast path does ${f2(d.gwPerCore / d.nodePerCore)}× the requests per core of the node:http path, which pays for an \`IncomingMessage\`/\`ServerResponse\` pair downstream and a \`ClientRequest\` upstream per request. ` +
      `As users run it, inside \`sluice server\` (b1), the same gateway shares its process with the API server, the controllers and the autoscaler: ${f0(r.peak.server.wrk.rps)} req/s, ${f0(d.serverPerCore)} req/s per core of the whole process.`,
  );
  return lines;
}
