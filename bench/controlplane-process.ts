// A Sluice server for the control-plane benchmark (bench/controlplane.ts): startSluice with
// run-time ports in the data dir given as argv[2], initial-scale 0 allowed. It prints one JSON line
// with its addresses, then every 500 ms a JSON line with its RSS, peak RSS, the autoscaler's tick
// times and the event loop's longest delay; SIGTERM stops it (and it says how long that took).
// With SLUICE_BENCH_HEAP_SNAPSHOT=DIR, SIGUSR2 writes a heap snapshot there and prints its path.

import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import { limitHeapGrowth, startHeapTrimmer } from '../src/heap.js';
import { GatewayCluster } from '../src/dataplane/workers/cluster.js';
import { startSluice } from '../src/server.js';

function statusKb(field: string, pid: number | 'self' = 'self'): number {
  let text = '';
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return 0; // a worker that just exited
  }
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

/**
 * Memory of the gateway's worker processes' own (anonymous RSS: their heaps, not the pages of the
 * node binary they share with this process); none with one worker, whose gateway is in this process.
 */
function workersRssMiB(): number {
  const g = sluice.gateway;
  if (!(g instanceof GatewayCluster)) return 0;
  return g.workers().reduce((sum, w) => sum + (w.pid === undefined ? 0 : statusKb('RssAnon', w.pid)), 0) / 1024;
}

/** V8's heap spaces: [size, used] in MiB. */
function heapSpaces(): Record<string, number[]> {
  return Object.fromEntries(
    v8.getHeapSpaceStatistics().map((sp) => [sp.space_name, [sp.space_size, sp.space_used_size].map((x) => Math.round(x / 2 ** 20))]),
  );
}

/** Resident MiB by mapping kind ([heap] = malloc's brk heap, anon = V8's pages and malloc's mmapped arenas, else the file). */
function rssByMapping(): Record<string, number> {
  const out: Record<string, number> = {};
  let kind = '';
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) kind = head[1] === '' ? 'anon' : head[1].startsWith('[') ? head[1] : path.basename(head[1]);
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) out[kind] = (out[kind] ?? 0) + Number(rss[1]) / 1024;
  }
  return Object.fromEntries(
    Object.entries(out)
      .filter(([, v]) => v >= 1)
      .map(([k, v]) => [k, Math.round(v)]),
  );
}

// As `sluice server` does.
limitHeapGrowth();
const started = performance.now();
const sluice = await startSluice({
  dataDir: process.argv[2],
  apiPort: 0,
  gatewayPort: 0,
  adminPort: 0,
  quiet: true,
  autoscalerConfig: { 'allow-zero-initial-scale': 'true' },
});
// As \`sluice server\` does; what it gives back is printed as a status line.
if (process.env.SLUICE_BENCH_HEAP_TRIM !== '0') startHeapTrimmer((msg) => process.stdout.write(JSON.stringify({ heapTrim: msg }) + '\n'));
const loop = monitorEventLoopDelay({ resolution: 10 });
loop.enable();
// Garbage-collection pauses per status interval: their sum and the longest (to tell GC from other stalls).
let gcMs = 0;
let gcMaxMs = 0;
let gcCount = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gcCount++;
    gcMs += e.duration;
    gcMaxMs = Math.max(gcMaxMs, e.duration);
  }
}).observe({ entryTypes: ['gc'] });
process.stdout.write(
  JSON.stringify({
    ready: true,
    startMs: performance.now() - started,
    apiUrl: sluice.apiUrl,
    gatewayPort: sluice.gatewayPort,
    kubeconfig: sluice.kubeconfigPath,
  }) + '\n',
);
const timer = setInterval(() => {
  process.stdout.write(
    JSON.stringify({
      rssMiB: statusKb('VmRSS') / 1024,
      peakRssMiB: statusKb('VmHWM') / 1024,
      workersRssMiB: workersRssMiB(),
      heapUsedMiB: process.memoryUsage().heapUsed / 2 ** 20,
      heapTotalMiB: process.memoryUsage().heapTotal / 2 ** 20,
      externalMiB: process.memoryUsage().external / 2 ** 20,
      tick: sluice.autoscaler.tickStats(),
      loopMaxMs: loop.max / 1e6,
      gcMs,
      gcMaxMs,
      gcCount,
    }) + '\n',
  );
  loop.reset();
  gcMs = gcMaxMs = gcCount = 0;
}, 500);
const snapshotDir = process.env.SLUICE_BENCH_HEAP_SNAPSHOT;
if (snapshotDir) {
  process.on('SIGUSR2', () => {
    // Where the resident memory is before the snapshot (which allocates much natively itself), then
    // the live heap after it (a snapshot collects garbage first).
    const before = { ...process.memoryUsage(), mappings: rssByMapping(), spaces: heapSpaces() };
    const cpu = process.cpuUsage();
    const file = v8.writeHeapSnapshot(path.join(snapshotDir, `sluice-${process.pid}-${Date.now()}.heapsnapshot`));
    const after = process.memoryUsage();
    const cpuS = (cpu.user + cpu.system) / 1e6;
    process.stdout.write(
      JSON.stringify({ heapSnapshot: file, before, liveHeap: after.heapUsed, liveExternal: after.external, cpuS }) + '\n',
    );
  });
}
// With node's --expose-gc, SIGHUP runs a full collection (to see how much of the RSS is V8's slack).
// SLUICE_BENCH_GC_FLAVOR=last-resort asks for V8's memory-reducing kind (collects until nothing more is freed).
const fullGc = (globalThis as { gc?: (o?: { type: string; execution: string; flavor: string }) => void }).gc;
const gcFlavor = process.env.SLUICE_BENCH_GC_FLAVOR ?? 'regular';
if (fullGc) process.on('SIGHUP', () => fullGc({ type: 'major', execution: 'sync', flavor: gcFlavor }));
process.once('SIGTERM', () => {
  clearInterval(timer);
  const t0 = performance.now();
  void sluice.stop().then(() => {
    process.stdout.write(JSON.stringify({ stoppedMs: performance.now() - t0 }) + '\n');
    process.exit(0);
  });
});
