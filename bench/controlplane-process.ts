// A Sluice server for the control-plane benchmark (bench/controlplane.ts): startSluice with
// run-time ports in the data dir given as argv[2], initial-scale 0 allowed. It prints one JSON line
// with its addresses, then every 500 ms a JSON line with its RSS, peak RSS, the autoscaler's tick
// times and the event loop's longest delay; SIGTERM stops it (and it says how long that took).

import { monitorEventLoopDelay } from 'node:perf_hooks';
import { readFileSync } from 'node:fs';
import { startSluice } from '../src/server.js';

function statusKb(field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) : 0;
}

const started = performance.now();
const sluice = await startSluice({
  dataDir: process.argv[2],
  apiPort: 0,
  gatewayPort: 0,
  adminPort: 0,
  quiet: true,
  autoscalerConfig: { 'allow-zero-initial-scale': 'true' },
});
const loop = monitorEventLoopDelay({ resolution: 10 });
loop.enable();
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
      heapUsedMiB: process.memoryUsage().heapUsed / 2 ** 20,
      heapTotalMiB: process.memoryUsage().heapTotal / 2 ** 20,
      externalMiB: process.memoryUsage().external / 2 ** 20,
      tick: sluice.autoscaler.tickStats(),
      loopMaxMs: loop.max / 1e6,
    }) + '\n',
  );
  loop.reset();
}, 500);
process.once('SIGTERM', () => {
  clearInterval(timer);
  const t0 = performance.now();
  void sluice.stop().then(() => {
    process.stdout.write(JSON.stringify({ stoppedMs: performance.now() - t0 }) + '\n');
    process.exit(0);
  });
});
