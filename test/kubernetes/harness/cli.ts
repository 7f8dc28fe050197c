// Starts the test control plane by hand and keeps it up until Ctrl-C (or SIGTERM), for poking at it
// with kubectl while writing a test:
//   npm run build && sudo node dist/test/kubernetes/harness/cli.js start [--no-node] [--metrics-server]
// It prints the kubeconfig to use and the run's namespace (for `nsenter --net=/run/netns/NAME curl ...`).

import { requireArguments } from './entry.js';
import { startKubernetes } from './index.js';

requireArguments(process.argv[2] === 'start', 'cli.js start [--no-node] [--metrics-server]');
process.env.SLUICE_TEST_KUBERNETES = '1';
const args = new Set(process.argv.slice(3));
const t0 = performance.now();
const k = await startKubernetes({ node: !args.has('--no-node'), metricsServer: args.has('--metrics-server') });
process.stdout.write(
  `started in ${Math.round(performance.now() - t0)} ms\n` +
    `netns ${k.netns}\n` +
    `kubeconfig ${k.kubeconfig}\n` +
    `export KUBECONFIG=${k.kubeconfig}\n`,
);
let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  void k.stop().then(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
setInterval(() => {}, 60_000);
