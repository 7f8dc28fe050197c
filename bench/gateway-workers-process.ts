// The Sluice gateway in N processes for benchmarks (bench/gateway-workers.ts): N = 1 is the
// in-process Gateway, N > 1 a GatewayCluster (main process + N workers), as `sluice server
// --gateway-workers N` runs it, without the control plane.
//
//   node dist/bench/gateway-workers-process.js '{"workers":N,"routes":[...],"revisions":[...]}'
//
// Prints `gateway-workers {"port":P,"pids":[main, worker...]}` once every process listens;
// SIGUSR2 prints `slot-messages N {"want":...}` (the slot messages so far, N counting the
// SIGUSR2s; `{}` with one worker); SIGTERM/SIGINT close the gateway and exit 0.

import { Gateway } from '../src/dataplane/gateway.js';
import type { GatewayService } from '../src/dataplane/service.js';
import type { HostRoute, RevisionBackend } from '../src/dataplane/types.js';
import { GatewayCluster } from '../src/dataplane/workers/cluster.js';

interface Config {
  workers: number;
  routes: HostRoute[];
  revisions: RevisionBackend[];
}

async function main(): Promise<void> {
  const c = JSON.parse(process.argv[2] ?? '{}') as Config;
  const gw: GatewayService = c.workers === 1 ? new Gateway() : new GatewayCluster({ workers: c.workers });
  const port = await gw.listen(0);
  for (const r of c.revisions) gw.setRevision(r);
  gw.setRoutes(c.routes);
  const pids = [process.pid, ...(gw instanceof GatewayCluster ? gw.workers().map((w) => w.pid!) : [])];
  const stop = (): void => {
    gw.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  let asked = 0;
  process.on('SIGUSR2', () => {
    const counts = gw instanceof GatewayCluster ? Object.fromEntries(gw.slotMessages()) : {};
    process.stdout.write(`slot-messages ${++asked} ${JSON.stringify(counts)}\n`);
  });
  process.stdout.write(`gateway-workers ${JSON.stringify({ port, pids })}\n`);
}

main().catch((err) => {
  process.stderr.write(`gateway-workers-process: ${String((err as Error).stack ?? err)}\n`);
  process.exit(2);
});
