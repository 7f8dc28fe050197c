// The test node's entry point (started by the harness inside the run's network namespace):
//   node main.js CONFIG.json
//
// This is test code, not a kubelet and not part of Sluice: it stands in for a node so that a real
// control plane has somewhere to run pods. It registers a Node, runs each bound Pod's containers as
// local processes in a network namespace of the pod's own (images mapped to commands with Sluice's
// image map, so the walkthrough's image runs examples/rest-api), reports real Pod status, and serves
// container logs and resource metrics. Not done: volumes (no mount namespace), resource limits (no
// cgroups), image pulls, init and sidecar containers, startup probes, ServiceAccount token mounts.
// It refuses to run outside a harness namespace.

import { readFileSync } from 'node:fs';
import { defaultImageMappings, loadImageMappings, type ImageMapping } from '../../../../src/runtime/image-map.js';
import { requireArguments } from '../entry.js';
import { KubeRest } from '../kube-rest.js';
import { NETNS_PREFIX } from '../netns.js';
import { NodeAgent } from './agent.js';
import { startKubeletServer } from './server.js';

interface NodeConfig {
  server: string;
  ca: string;
  cert: string;
  key: string;
  clientCert: string;
  clientKey: string;
  nodeName: string;
  nodeIp: string;
  runNetns: string;
  dir: string;
  projectRoot: string;
  imageMappings?: string;
  version?: string;
}

const log = (line: string): void => void process.stderr.write(`${new Date().toISOString()} ${line}\n`);

async function main(): Promise<void> {
  const file = process.argv[2] ?? '';
  requireArguments(file !== '', 'node-agent/main.js CONFIG.json');
  const cfg = JSON.parse(readFileSync(file, 'utf8')) as NodeConfig;
  if (!cfg.runNetns.startsWith(NETNS_PREFIX)) throw new Error(`refusing to run outside a harness network namespace (${cfg.runNetns})`);
  const server = new URL(cfg.server);
  const api = new KubeRest({
    server: cfg.server,
    ca: readFileSync(cfg.ca, 'utf8'),
    cert: readFileSync(cfg.clientCert, 'utf8'),
    key: readFileSync(cfg.clientKey, 'utf8'),
  });
  // A pod's app must listen on the pod's address, as the real image's app does (on all interfaces);
  // Sluice's local runtime instead tells it HOST=127.0.0.1.
  const mappings: ImageMapping[] = [
    ...(cfg.imageMappings ? loadImageMappings(cfg.imageMappings) : []),
    ...defaultImageMappings(cfg.projectRoot).map((m) => ({ ...m, env: { HOST: '0.0.0.0', ...m.env } })),
  ];
  const agent = new NodeAgent({
    api,
    nodeName: cfg.nodeName,
    nodeIp: cfg.nodeIp,
    runNetns: cfg.runNetns,
    dir: cfg.dir,
    mappings,
    apiserver: { host: server.hostname, port: Number(server.port || 443) },
    kubeletPort: 10250,
    version: cfg.version ?? 'v1.37.2',
    log,
  });
  const https = await startKubeletServer(agent, { host: cfg.nodeIp, port: 10250, cert: cfg.cert, key: cfg.key, ca: cfg.ca });
  await agent.register();
  log(`node ${cfg.nodeName} registered (${cfg.nodeIp})`);
  const shutdown = async (): Promise<void> => {
    https.close();
    await agent.stop();
    api.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown());
  process.on('SIGINT', () => void shutdown());
  await agent.run();
}

main().catch((err: Error) => {
  log(`test node failed: ${err.message}`);
  process.exit(1);
});
