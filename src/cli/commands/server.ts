// sluice server / sluice demo: thin wrappers that load the heavy server code only when asked,
// so client commands start fast and don't open the database.

import type { Command } from 'commander';
import { CliError } from '../errors.js';

export function parsePort(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^\d+$/.test(v) || n > 65535) throw new CliError(`invalid --${flag} "${v}": expected a port number 0-65535`);
  return n;
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
    .option('--admin-port <port>', 'port of the admin listener: /metrics, /healthz, /readyz and the web console (default 9090)')
    .option('--admin-host <address>', 'address of the admin listener (default 127.0.0.1; beyond loopback it needs the API token)')
    .option('--log-format <format>', 'json (one object per line) or text (default text)')
    .option('--log-level <level>', 'debug (every scaling decision), info, warn or error (default info)')
    .option('--images <file>', 'extra image -> command mappings (YAML or JSON)')
    .option(
      '--plugin <path>',
      'load a scaling plugin module (.js/.mjs) for the plugin.autoscaling.sluice.dev class; repeatable',
      (v: string, prev: string[]) => [...prev, v],
      [] as string[],
    )
    .action(async (_o, cmd: Command) => {
      const o = cmd.opts<{
        dataDir?: string;
        apiPort?: string;
        gatewayPort?: string;
        domain?: string;
        host?: string;
        adminPort?: string;
        adminHost?: string;
        logFormat?: string;
        logLevel?: string;
        images?: string;
        plugin: string[];
      }>();
      if (o.logFormat !== undefined && o.logFormat !== 'json' && o.logFormat !== 'text')
        throw new CliError(`invalid --log-format "${o.logFormat}": expected json or text`);
      if (o.logLevel !== undefined && !['debug', 'info', 'warn', 'error'].includes(o.logLevel))
        throw new CliError(`invalid --log-level "${o.logLevel}": expected debug, info, warn or error`);
      const opts = {
        dataDir: o.dataDir,
        apiPort: parsePort(o.apiPort, 'api-port'),
        gatewayPort: parsePort(o.gatewayPort, 'gateway-port'),
        domain: o.domain,
        host: o.host,
        adminPort: parsePort(o.adminPort, 'admin-port'),
        adminHost: o.adminHost,
        logFormat: o.logFormat as 'json' | 'text' | undefined,
        logLevel: o.logLevel as 'debug' | 'info' | 'warn' | 'error' | undefined,
        images: o.images,
        plugins: o.plugin,
      };
      const { runServer } = await import('../server.js');
      await runServer(opts);
    });

  program
    .command('demo')
    .description("Run Knative's gray-release walkthrough end to end on a private, temporary Sluice")
    .option('--requests <n>', 'requests to send per traffic-split step')
    .option('--keep', 'keep the demo data directory afterwards')
    .action(async (_o, cmd: Command) => {
      const o = cmd.opts<{ requests?: string; keep?: boolean }>();
      if (o.requests !== undefined && !/^[1-9]\d*$/.test(o.requests))
        throw new CliError(`invalid --requests "${o.requests}": expected a positive whole number`);
      const { runDemo } = await import('../../demo/demo.js');
      await runDemo({ requests: o.requests === undefined ? undefined : Number(o.requests), keep: !!o.keep });
    });
}
