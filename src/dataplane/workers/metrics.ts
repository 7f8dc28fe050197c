// Series of the gateway's worker processes (only when it runs in several): how many listen, and
// per worker slot the requests it took and its restarts, so an uneven spread or a crash loop shows.

import type { Registry } from '../../observability/registry.js';
import type { WorkerInfo } from './cluster.js';

export function registerWorkerMetrics(reg: Registry, workers: () => WorkerInfo[]): void {
  reg.observed({
    name: 'sluice_gateway_workers',
    help: 'Gateway worker processes listening on the gateway port.',
    type: 'gauge',
    labels: [],
    collect: (emit) => emit.value([], workers().filter((w) => w.listening).length),
  });
  reg.observed({
    name: 'sluice_gateway_worker_requests_total',
    help: 'Requests routed to a revision through one gateway worker slot (every process the slot had).',
    type: 'counter',
    labels: ['worker'],
    collect: (emit) => {
      for (const w of workers()) emit.value([String(w.slot)], w.requests);
    },
  });
  reg.observed({
    name: 'sluice_gateway_worker_restarts_total',
    help: 'Times a gateway worker slot was restarted after its process exited.',
    type: 'counter',
    labels: ['worker'],
    collect: (emit) => {
      for (const w of workers()) emit.value([String(w.slot)], w.restarts);
    },
  });
}
