// `sluice server`: runs the embedded Sluice in the foreground until SIGINT/SIGTERM.

import { homedir } from 'node:os';
import { join } from 'node:path';
import { limitHeapGrowth, startHeapTrimmer } from '../heap.js';
import { startSluice } from '../server.js';
import type { LogFormat, LogLevel } from '../observability/log.js';

export interface ServerCommandOptions {
  dataDir?: string;
  apiPort?: number;
  gatewayPort?: number;
  internalGatewayPort?: number;
  /** --gateway-workers (default: the number of cores). */
  gatewayWorkers?: number;
  domain?: string;
  host?: string;
  adminPort?: number;
  adminHost?: string;
  logFormat?: LogFormat;
  logLevel?: LogLevel;
  images?: string;
  /** Scaling plugin modules (--plugin, repeatable). */
  plugins?: string[];
  /** --header-timeout and --idle-timeout, in milliseconds. */
  headersTimeoutMs?: number;
  keepAliveTimeoutMs?: number;
  /** --max-body-bytes */
  maxBodyBytes?: number;
}

export async function runServer(opts: ServerCommandOptions): Promise<void> {
  limitHeapGrowth();
  const sluice = await startSluice({
    dataDir: opts.dataDir ?? join(homedir(), '.sluice'),
    apiPort: opts.apiPort,
    gatewayPort: opts.gatewayPort,
    internalGatewayPort: opts.internalGatewayPort,
    gatewayWorkers: opts.gatewayWorkers,
    domain: opts.domain,
    host: opts.host,
    adminPort: opts.adminPort,
    adminHost: opts.adminHost,
    logFormat: opts.logFormat,
    logLevel: opts.logLevel,
    imagesFile: opts.images,
    pluginPaths: opts.plugins,
    listenerTimeouts: { headersTimeoutMs: opts.headersTimeoutMs, keepAliveTimeoutMs: opts.keepAliveTimeoutMs },
    maxBodyBytes: opts.maxBodyBytes,
  });
  const stopTrimmer = startHeapTrimmer((msg) => sluice.logger.info(msg, { component: 'heap' }));
  console.log(`Sluice is running.
  API:        ${sluice.apiUrl}
  Gateway:    ${sluice.gatewayUrl}
  Internal:   ${sluice.internalGatewayUrl}  (cluster-local services too; instances get it as $SLUICE_LOCAL_GATEWAY)
  Admin:      ${sluice.adminUrl}  (/metrics, /healthz, /readyz)
  Data:       ${sluice.dataDir}
  Kubeconfig: ${sluice.kubeconfigPath}

  export KUBECONFIG=${sluice.kubeconfigPath}
  kubectl get ksvc`);
  await new Promise<void>((resolveStop) => {
    const stop = () => {
      console.log('Stopping Sluice: stopping instances...');
      stopTrimmer();
      void sluice.stop().then(resolveStop);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
