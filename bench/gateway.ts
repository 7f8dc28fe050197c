// Section "gateway": the data plane's cost, measured against the app alone and against nginx doing
// the same weighted split, with one load generator (wrk) on one machine in one run.
//
//   direct   wrk -> app v1
//   gateway  wrk -> Sluice gateway (own process, bench/gateway-process.ts) -> apps v1/v2/v3 40/30/30
//   nginx    wrk -> nginx, 1 worker, upstream weight=4/3/3 with keepalive   -> apps v1/v2/v3
//
// Each at peak (as fast as wrk's connections go), then all three at one common rate, half of the
// gateway's peak, for the added-latency goal. CPU time of every process is read from /proc around
// each run. Finally a short CPU profile of the gateway at peak says where its time goes.

import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { HostRoute, RevisionBackend } from '../src/dataplane/types.js';
import { summarizeProfile, type CpuProfile, type ProfileSummary } from './lib/cpuprofile.js';
import { countBodies, request } from './lib/http.js';
import { debianVersion, ensureDebianTool } from './lib/machine.js';
import { childPids, cpuSeconds, cpuTime, freePort, machineCpuSeconds, reapedChildrenCpuSeconds, waitForOutput, waitForPort, type Proc } from './lib/procs.js';
import type { BenchContext, Section } from './lib/section.js';
import { runWrk, type WrkResult } from './lib/wrk.js';

const HOST = 'bench.default.example.com';
const THREADS = 2;
const CONNECTIONS = 32;
/** Seconds per measured run; SLUICE_BENCH_SECONDS shortens it for trying the bench out. */
const DURATION_S = Number(process.env.SLUICE_BENCH_SECONDS) > 0 ? Number(process.env.SLUICE_BENCH_SECONDS) : 10;
const WARMUP_S = 2;
/** Pacing calibration for the half-load runs: this many runs of this length per path. */
const CALIBRATION_RUNS = 2;
const CALIBRATION_S = 2;
const PROFILE_S = 5;
const SPLIT_SAMPLES = 200;
/** Knative's published per-hop figures (activator, queue-proxy), for comparison. */
const KNATIVE_RPS_PER_VCPU = 2500;

const REVISIONS = [
  { resource: 'v1', key: 'default/bench-v1', percent: 40, nginxWeight: 4 },
  { resource: 'v2', key: 'default/bench-v2', percent: 30, nginxWeight: 3 },
  { resource: 'v3', key: 'default/bench-v3', percent: 30, nginxWeight: 3 },
] as const;

type Target = 'direct' | 'gateway' | 'nginx';
const TARGETS: Target[] = ['direct', 'gateway', 'nginx'];

interface Measured {
  wrk: WrkResult;
  /** Average cores busy during the run. */
  proxyCores: number;
  proxyUserCores: number;
  proxySystemCores: number;
  appsCores: number;
  wrkCores: number;
  /** Busy time of the whole machine (excluding steal). */
  machineCores: number;
  /** Machine busy time not used by the processes above: anything else running on the machine. */
  otherCores: number;
  stealCores: number;
  /** Mean pause per connection used for the run (half-load runs), ms. */
  delayMs: number;
  targetRps?: number;
}

interface App {
  resource: string;
  key: string;
  port: number;
  proc: Proc;
}

function nginxConfig(dir: string, port: number, apps: App[]): string {
  const servers = apps.map((a, i) => `    server 127.0.0.1:${a.port} weight=${REVISIONS[i].nginxWeight};`).join('\n');
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

const f0 = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');
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
  for (const f of [appScript, gwScript]) if (!existsSync(f)) throw new Error(`${path.relative(ctx.root, f)} is missing: build first (npm run build)`);

  // --- processes ---
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
  const gwInfo = JSON.parse((await waitForOutput(gwProc, /^gateway-process (\{.*\})$/m))[1]) as { port: number; adminPort: number; pid: number };

  log('starting nginx');
  const nginxDir = path.join(ctx.tmpDir, 'nginx');
  mkdirSync(nginxDir, { recursive: true });
  const nginxPort = await freePort();
  const nginxConf = path.join(nginxDir, 'nginx.conf');
  writeFileSync(nginxConf, nginxConfig(nginxDir, nginxPort, apps));
  const nginxProc = procs.start('nginx', 'nginx', ['-p', nginxDir, '-e', path.join(nginxDir, 'error.log'), '-c', nginxConf, '-g', 'daemon off;']);
  await waitForPort(nginxPort, 'nginx');
  let nginxWorker = 0;
  for (const deadline = Date.now() + 5000; nginxWorker === 0; ) {
    const kids = childPids(nginxProc.pid);
    if (kids.length === 1) nginxWorker = kids[0];
    else if (Date.now() > deadline) throw new Error(`expected one nginx worker under pid ${nginxProc.pid}, found ${kids.length}`);
    else await new Promise((r) => setTimeout(r, 20));
  }

  const portOf: Record<Target, number> = { direct: apps[0].port, gateway: gwInfo.port, nginx: nginxPort };
  const proxyPid: Record<Target, number> = { direct: 0, gateway: gwInfo.pid, nginx: nginxWorker };
  const scriptDir = ctx.tmpDir;

  // --- split check, from the apps' side: each answer names the app that produced it ---
  log(`split check: ${SPLIT_SAMPLES} sequential requests through the gateway and through nginx`);
  const welcome = /Welcome to the (v\d) app!/;
  const gwBodies = await countBodies(gwInfo.port, HOST, SPLIT_SAMPLES, welcome);
  const ngBodies = await countBodies(nginxPort, HOST, SPLIT_SAMPLES, welcome);

  const measure = async (t: Target, durationS: number, delayMs = 0): Promise<Measured> => {
    const appPids = apps.map((a) => a.proc.pid);
    const snap = () => ({
      proxy: proxyPid[t] ? cpuTime(proxyPid[t]) : { user: 0, system: 0 },
      apps: appPids.reduce((s, p) => s + cpuSeconds(p), 0),
      // wrk's CPU shows up here once it has exited and been reaped.
      children: reapedChildrenCpuSeconds(),
      machine: machineCpuSeconds(),
    });
    let before = snap();
    const wrk = await runWrk(procs, {
      url: `http://127.0.0.1:${portOf[t]}/`,
      host: HOST,
      threads: THREADS,
      connections: CONNECTIONS,
      durationS,
      delayMs,
      scriptDir,
      onStart: () => {
        before = snap();
      },
    });
    const after = snap();
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
      appsCores,
      wrkCores,
      machineCores,
      otherCores: machineCores - appsCores - wrkCores - proxyUserCores - proxySystemCores,
      stealCores: (after.machine.steal - before.machine.steal) / secs,
      delayMs,
    };
  };

  // --- peak ---
  const peak = {} as Record<Target, Measured>;
  let gwCounts = new Map<string, number>();
  let gwCpuUsage = NaN;
  for (const t of TARGETS) {
    log(`${t}: warm-up ${WARMUP_S} s, then ${DURATION_S} s at peak`);
    await runWrk(procs, { url: `http://127.0.0.1:${portOf[t]}/`, host: HOST, threads: THREADS, connections: CONNECTIONS, durationS: WARMUP_S, scriptDir });
    if (t === 'gateway') {
      const m0 = revisionCounts((await request(gwInfo.adminPort, 'GET', '/metrics')).body);
      const c0 = JSON.parse((await request(gwInfo.adminPort, 'GET', '/cpu')).body) as { userUs: number; systemUs: number };
      peak[t] = await measure(t, DURATION_S);
      const c1 = JSON.parse((await request(gwInfo.adminPort, 'GET', '/cpu')).body) as { userUs: number; systemUs: number };
      const m1 = revisionCounts((await request(gwInfo.adminPort, 'GET', '/metrics')).body);
      gwCounts = new Map(REVISIONS.map((r) => [r.key, (m1.get(r.key) ?? 0) - (m0.get(r.key) ?? 0)]));
      // process.cpuUsage() over the same window (a little wider: includes the admin calls).
      gwCpuUsage = (c1.userUs + c1.systemUs - c0.userUs - c0.systemUs) / 1e6 / peak[t].wrk.durationS;
    } else {
      peak[t] = await measure(t, DURATION_S);
    }
    log(`${t}: ${f0(peak[t].wrk.rps)} req/s, p50 ${f2(peak[t].wrk.p50Ms)} ms, p99 ${f2(peak[t].wrk.p99Ms)} ms`);
  }

  // --- one common rate for all three: half of the gateway's peak ---
  const rate = peak.gateway.wrk.rps / 2;
  const cycleMs = (CONNECTIONS * 1000) / rate;
  const half = {} as Record<Target, Measured>;
  for (const t of TARGETS) {
    // Closed loop: rate = C / (d + L). Short calibration runs (which also warm up) measure the
    // effective L at this load (latency plus wrk's timer overshoot), which d then leaves room for.
    let d = cycleMs;
    for (let i = 0; i < CALIBRATION_RUNS; i++) {
      const cal = await runWrk(procs, { url: `http://127.0.0.1:${portOf[t]}/`, host: HOST, threads: THREADS, connections: CONNECTIONS, durationS: CALIBRATION_S, delayMs: d, scriptDir });
      const effL = (CONNECTIONS * 1000) / cal.rps - d;
      d = Math.max(0, cycleMs - effL);
    }
    log(`${t}: half load ${f0(rate)} req/s: ${DURATION_S} s with a ${d.toFixed(2)} ms pause per connection`);
    half[t] = { ...(await measure(t, DURATION_S, d)), targetRps: rate };
    log(`${t}: ${f0(half[t].wrk.rps)} req/s, p50 ${f2(half[t].wrk.p50Ms)} ms, p99 ${f2(half[t].wrk.p99Ms)} ms`);
  }

  // --- where the gateway's CPU goes at peak ---
  log(`profiling the gateway for ${PROFILE_S} s at peak`);
  await request(gwInfo.adminPort, 'POST', '/profile/start');
  const profRun = await runWrk(procs, { url: `http://127.0.0.1:${gwInfo.port}/`, host: HOST, threads: THREADS, connections: CONNECTIONS, durationS: PROFILE_S, scriptDir });
  const profile = JSON.parse((await request(gwInfo.adminPort, 'POST', '/profile/stop')).body) as CpuProfile;
  const ownCode = /\/dist\/src\/dataplane\//;
  const prof = summarizeProfile(profile, ownCode, `${ctx.root}/dist/`);

  await procs.stop(nginxProc);
  await procs.stop(gwProc);
  for (const a of apps) await procs.stop(a.proc);

  return {
    title: 'Gateway: the app direct vs through Sluice vs through nginx',
    body: render({ peak, half, rate, gwCounts, gwBodies, ngBodies, gwCpuUsage, prof, profRun, wrkVersion, nginxVersion, cores: ctx.machine.cores }),
  };
}

interface Results {
  peak: Record<Target, Measured>;
  half: Record<Target, Measured>;
  rate: number;
  gwCounts: Map<string, number>;
  gwBodies: Map<string, number>;
  ngBodies: Map<string, number>;
  gwCpuUsage: number;
  prof: ProfileSummary;
  profRun: WrkResult;
  wrkVersion: string;
  nginxVersion: string;
  cores: number;
}

const LABEL: Record<Target, string> = {
  direct: '(a) app v1 direct',
  gateway: '(b) Sluice gateway, 40/30/30',
  nginx: '(c) nginx, 1 worker, 4/3/3',
};

function render(r: Results): string {
  const { peak, half } = r;
  const perCore = (m: Measured): number => m.wrk.rps / m.proxyCores;
  const gwPerCore = perCore(peak.gateway);
  const ngPerCore = perCore(peak.nginx);
  const rpsVsNginx = peak.gateway.wrk.rps / peak.nginx.wrk.rps;
  const rpsVsDirect = peak.gateway.wrk.rps / peak.direct.wrk.rps;
  const addedP99 = half.gateway.wrk.p99Ms - half.direct.wrk.p99Ms;
  const addedP99Nginx = half.nginx.wrk.p99Ms - half.direct.wrk.p99Ms;
  const addedP50 = half.gateway.wrk.p50Ms - half.direct.wrk.p50Ms;
  const rpsGoal = rpsVsNginx >= 1;
  const latGoal = addedP99 <= 1;
  const out: string[] = [];

  out.push(
    '### Setup',
    '',
    `- Apps: three processes of \`dist/examples/rest-api/server.js\` with RESOURCE=v1/v2/v3; every request is \`GET /\`, answered with "Welcome to the vN app!".`,
    `- (a) wrk straight to app v1. (b) wrk to the Sluice gateway running alone in its own Node process (\`bench/gateway-process.ts\`), one route with a 40/30/30 split over three revisions, one endpoint each, containerConcurrency 0. (c) wrk to Debian's nginx ${r.nginxVersion}: \`worker_processes 1\`, \`upstream\` with \`weight=4/3/3\` and \`keepalive 64\`, HTTP/1.1 to the apps, the same X-Forwarded-* headers the gateway adds, \`access_log off\`, started as \`nginx -p TMP -c TMP/nginx.conf -g 'daemon off;'\`.`,
    `- Load: Debian's wrk ${r.wrkVersion}, \`wrk -t${THREADS} -c${CONNECTIONS} -d${DURATION_S}s --latency\` with a Host header, after a ${WARMUP_S} s warm-up of the same kind. Everything listens on 127.0.0.1 and shares the machine's ${r.cores} cores.`,
    `- CPU: utime+stime from \`/proc/PID/stat\` before and after each run (the gateway process; nginx's worker; the three apps; the machine's busy time from \`/proc/stat\`), divided by the run's length: "cores" = average cores busy.`,
    `- Half load: wrk2 is not packaged by Debian (\`apt-cache policy wrk2\` finds nothing), so wrk's own Lua \`delay()\` hook paces it: each of the ${CONNECTIONS} connections waits *d* ms after every response before sending the next request (closed loop; whole milliseconds, so a fractional *d* is drawn as ⌊d⌋ or ⌊d⌋+1). The target is one rate for all three, **half of the gateway's peak (${f0(r.rate)} req/s)**; *d* = ${CONNECTIONS}/rate − L, with the effective latency L (latency plus wrk's timer overshoot) measured by ${CALIBRATION_RUNS} calibration runs of ${CALIBRATION_S} s at that target. wrk's latency clock starts when a request is written, after the pause. Being closed-loop it does not correct for coordinated omission as wrk2 would, which matters little here: at half load nothing queues.`,
    '',
  );

  const peakRow = (t: Target): string => {
    const m = peak[t];
    const proxy = t === 'direct' ? '—' : `${f2(m.proxyCores)} (${f2(m.proxyUserCores)} / ${f2(m.proxySystemCores)})`;
    const per = t === 'direct' ? '—' : f0(perCore(m));
    const us = t === 'direct' ? '—' : `${f2((m.proxyUserCores * 1e6) / m.wrk.rps)} / ${f2((m.proxySystemCores * 1e6) / m.wrk.rps)}`;
    return `| ${LABEL[t]} | ${f0(m.wrk.rps)} | ${f2(m.wrk.p50Ms)} | ${f2(m.wrk.p99Ms)} | ${m.wrk.errors} | ${proxy} | ${f2(m.appsCores)} | ${f2(m.wrkCores)} | ${f2(m.otherCores)} | ${f2(m.machineCores)} | ${per} | ${us} |`;
  };
  out.push(
    `### Peak (${CONNECTIONS} connections, ${DURATION_S} s)`,
    '',
    '| path | req/s | p50 ms | p99 ms | errors | proxy cores (user / sys) | apps | wrk | other | machine busy | req/s per proxy core | proxy µs per request (user / sys) |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...TARGETS.map(peakRow),
    '',
    `CPU columns are average cores busy (of ${r.cores}). "other" is the machine's busy time minus the processes listed: this runner, idle servers, kernel threads, and anything else running on the machine (near 0 means the run had the machine to itself). Steal time (not counted as busy) was at most ${f2(Math.max(...TARGETS.map((t) => peak[t].stealCores)))} cores.`,
    '',
    `The gateway's own \`process.cpuUsage()\` over the same run gives ${f2(r.gwCpuUsage)} cores (the \`/proc\` figure above: ${f2(peak.gateway.proxyCores)}).`,
    '',
  );

  const halfRow = (t: Target): string => {
    const m = half[t];
    return `| ${LABEL[t]} | ${f0(m.wrk.rps)} | ${m.delayMs.toFixed(2)} | ${f2(m.wrk.p50Ms)} | ${f2(m.wrk.p90Ms)} | ${f2(m.wrk.p99Ms)} | ${f2(m.wrk.maxMs)} | ${m.wrk.errors} | ${t === 'direct' ? '—' : f2(m.proxyCores)} |`;
  };
  out.push(
    `### Half load (target ${f0(r.rate)} req/s for all three, ${CONNECTIONS} connections, ${DURATION_S} s)`,
    '',
    '| path | req/s | pause d ms | p50 ms | p90 ms | p99 ms | max ms | errors | proxy cores |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...TARGETS.map(halfRow),
    '',
  );

  const mark = (ok: boolean): string => (ok ? 'met' : '**not met**');
  out.push(
    '### Ratios and goals',
    '',
    '| measure | value | goal / reference | |',
    '| --- | ---: | --- | --- |',
    `| gateway req/s ÷ direct req/s (peak) | ${f2(rpsVsDirect)} | — | |`,
    `| gateway req/s ÷ nginx req/s (peak, one process each) | ${f2(rpsVsNginx)} | ≥ 1.00 | ${mark(rpsGoal)} |`,
    `| p99 the gateway adds at half load (vs direct) | ${f2(addedP99)} ms | ≤ 1 ms | ${mark(latGoal)} |`,
    `| p50 the gateway adds at half load (vs direct) | ${f2(addedP50)} ms | — | |`,
    `| p99 nginx adds at half load (vs direct) | ${f2(addedP99Nginx)} ms | reference | |`,
    `| gateway req/s per core of its own CPU (peak) | ${f0(gwPerCore)} | Knative: up to 1 vCPU per ${f0(KNATIVE_RPS_PER_VCPU)} req/s per hop | |`,
    `| nginx req/s per core of its worker's CPU (peak) | ${f0(ngPerCore)} | reference | |`,
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
    `During the gateway's peak run its per-revision counters (\`metrics()\`, via the admin port) went up by ${f0(totalCounted)} 2xx answers, against ${f0(peak.gateway.wrk.requests)} completed in wrk (wrk stops counting at the deadline while answers in flight still finish). Separately, ${SPLIT_SAMPLES} sequential requests through each proxy, counted by which app's name is in the body:`,
    '',
    '| revision | weight | gateway counters (peak run) | bodies via gateway | bodies via nginx |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...REVISIONS.map((rv) => `| ${rv.resource} | ${rv.percent}% | ${share(r.gwCounts, rv.key)} | ${share(r.gwBodies, rv.resource)} | ${share(r.ngBodies, rv.resource)} |`),
    '',
  );
  const bad = [...strays(r.gwBodies), ...strays(r.ngBodies)];
  if (bad.length > 0) out.push(`Unexpected answers during the split check: ${bad.join(', ')}.`, '');

  // Profile.
  const p = r.prof;
  out.push(
    `### Where the gateway's CPU goes (V8 sampling profiler, ${PROFILE_S} s at peak)`,
    '',
    `Profiled through the inspector in the gateway process (sampling every 0.5 ms) while wrk ran at peak (${f0(r.profRun.rps)} req/s with the profiler on). Busy ${f0(p.busyMs)} ms of ${f0(p.totalMs)} ms sampled; shares are of busy time, self time only.`,
    '',
    '| area | share |',
    '| --- | ---: |',
    ...p.byArea.map((a) => `| ${a.name} | ${pct(a.percent)} |`),
    '',
    '| top functions by self time | share |',
    '| --- | ---: |',
    ...p.topSelf.slice(0, 10).map((a) => `| \`${a.name.replace(/\|/g, '\\|')}\` | ${pct(a.percent)} |`),
    '',
    '| gateway functions, inclusive (what they call counts too) | share |',
    '| --- | ---: |',
    ...p.ownInclusive.slice(0, 6).map((a) => `| \`${a.name.replace(/\|/g, '\\|')}\` | ${pct(a.percent)} |`),
    '',
  );

  out.push('### Interpretation', '', ...interpret(r, { rpsVsDirect, rpsVsNginx, addedP99, addedP99Nginx, gwPerCore, ngPerCore, rpsGoal, latGoal }));
  return out.join('\n');
}

interface Derived {
  rpsVsDirect: number;
  rpsVsNginx: number;
  addedP99: number;
  addedP99Nginx: number;
  gwPerCore: number;
  ngPerCore: number;
  rpsGoal: boolean;
  latGoal: boolean;
}

function interpret(r: Results, d: Derived): string[] {
  const { peak } = r;
  const area = (name: RegExp): number => r.prof.byArea.filter((a) => name.test(a.name)).reduce((s, a) => s + a.percent, 0);
  const own = area(/^Sluice gateway code$/);
  const writes = area(/^socket writes/);
  const parse = area(/^HTTP parsing/);
  const nodeJs = area(/HTTP server|streams|sockets \(JS\)|event emitters|timers|other Node internals/);
  const gc = area(/garbage collection/);
  const lines: string[] = [];
  lines.push(
    `- **Throughput.** Through the gateway wrk got ${f0(peak.gateway.wrk.rps)} req/s, ${f2(d.rpsVsDirect)}× the app alone and ${f2(d.rpsVsNginx)}× nginx with one worker; the goal (at least nginx's) is ${d.rpsGoal ? 'met' : '**not met**'}. ` +
      `All processes share ${r.cores} cores and the machine was ${f2(peak.gateway.machineCores)} of ${r.cores} cores busy in the gateway run (${f2(peak.nginx.machineCores)} with nginx), so peak req/s here is set by the whole machine's CPU, not by the proxy alone. ` +
      `The proxy's CPU cost per request separates them better: the gateway did ${f0(d.gwPerCore)} req/s per core of its own CPU, nginx's worker ${f0(d.ngPerCore)}, i.e. nginx needs ${f2(d.ngPerCore / d.gwPerCore)}× less CPU per request.`,
  );
  lines.push(
    `- **Latency at half load** (${f0(r.rate)} req/s). The gateway added ${f2(d.addedP99)} ms at p99 over the app alone (goal ≤ 1 ms: ${d.latGoal ? 'met' : '**not met**'}); nginx added ${f2(d.addedP99Nginx)} ms. ` +
      `The gateway's p50 was ${f2(r.half.gateway.wrk.p50Ms)} ms against ${f2(r.half.direct.wrk.p50Ms)} ms direct and ${f2(r.half.nginx.wrk.p50Ms)} ms through nginx.`,
  );
  lines.push(
    `- **Against Knative's figures.** Knative documents 0.5–1 ms added per extra hop (activator, queue-proxy) and up to one vCPU per ${f0(KNATIVE_RPS_PER_VCPU)} req/s per hop; a request there crosses the ingress and the queue-proxy (and the activator when it is in the path). Sluice's one hop plays all of them for ${f0(d.gwPerCore)} req/s per core and ${f2(d.addedP99)} ms at p99.`,
  );
  lines.push(
    `- **What limits the gateway (measured).** In the profile, the gateway's own functions are ${pct(own)} of its busy CPU (self time); socket writes (the syscall with the kernel's loopback TCP work under it) ${pct(writes)}, HTTP parsing ${pct(parse)}, Node's HTTP/stream/socket/event JavaScript ${pct(nodeJs)}, garbage collection ${pct(gc)}. ` +
      `Each proxied request costs Node two HTTP parses (client request, app response), two header serializations and an \`IncomingMessage\` → \`ServerResponse\` pipe, plus a \`ClientRequest\` from the keep-alive agent; nginx does the same work in C without a garbage collector.`,
  );
  return lines;
}
