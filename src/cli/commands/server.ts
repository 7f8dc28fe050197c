// sluice server / sluice demo: thin wrappers that load the heavy server code only when asked,
// so client commands start fast and don't open the database.

import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { CliError } from '../errors.js';

interface ServerModule {
  runServer(opts: { dataDir?: string; apiPort?: number; gatewayPort?: number; domain?: string; host?: string }): Promise<void>;
}

interface DemoModule {
  runDemo(opts: { requests?: number; keep?: boolean; kubeconfig?: string; namespace?: string }): Promise<void>;
}

export function parsePort(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^\d+$/.test(v) || n > 65535) throw new CliError(`invalid --${flag} "${v}": expected a port number 0-65535`);
  return n;
}

// Specifiers held in variables: these modules are written separately and loaded only on demand.
const SERVER_MODULE = '../server.js';
const DEMO_MODULE = '../../demo/demo.js';

async function load<T>(specifier: string, what: string): Promise<T> {
  const file = fileURLToPath(new URL(specifier, import.meta.url));
  try {
    return (await import(specifier)) as T;
  } catch (e) {
    // Only the module itself missing means "not built"; a broken import inside it is a real error.
    if ((e as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' && String((e as Error).message).includes(`'${file}'`)) {
      throw new CliError(`${what} is not available in this build`);
    }
    throw e;
  }
}

export function register(program: Command): void {
  program
    .command('server')
    .description('Run Sluice: API server, controllers, gateway and the local runtime (until Ctrl-C)')
    .option('--data-dir <dir>', 'where Sluice keeps its database, logs and kubeconfig (default ~/.sluice)')
    .option('--api-port <port>', 'port of the Kubernetes-style API (default 8001)')
    .option('--gateway-port <port>', 'port of the HTTP gateway that routes to services (default 8080)')
    .option('--domain <domain>', 'domain of service URLs (default example.com)')
    .option('--host <address>', 'address to listen on (default 127.0.0.1)')
    .action(async (_o, cmd: Command) => {
      const o = cmd.opts<{ dataDir?: string; apiPort?: string; gatewayPort?: string; domain?: string; host?: string }>();
      const opts = {
        dataDir: o.dataDir,
        apiPort: parsePort(o.apiPort, 'api-port'),
        gatewayPort: parsePort(o.gatewayPort, 'gateway-port'),
        domain: o.domain,
        host: o.host,
      };
      const mod = await load<ServerModule>(SERVER_MODULE, 'sluice server');
      await mod.runServer(opts);
    });

  program
    .command('demo')
    .description("Walk through Knative's gray-release example end to end against a running Sluice")
    .option('--requests <n>', 'requests to send per traffic-split step')
    .option('--keep', 'leave the demo service in place afterwards')
    .action(async (_o, cmd: Command) => {
      const o = cmd.opts<{ requests?: string; keep?: boolean }>();
      if (o.requests !== undefined && !/^[1-9]\d*$/.test(o.requests)) throw new CliError(`invalid --requests "${o.requests}": expected a positive whole number`);
      const g = cmd.optsWithGlobals<{ kubeconfig?: string; namespace?: string }>();
      const mod = await load<DemoModule>(DEMO_MODULE, 'sluice demo');
      await mod.runDemo({ requests: o.requests === undefined ? undefined : Number(o.requests), keep: !!o.keep, kubeconfig: g.kubeconfig, namespace: g.namespace });
    });
}
