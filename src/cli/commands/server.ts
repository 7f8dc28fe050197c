// sluice server / sluice demo: thin wrappers that load the heavy server code only when asked,
// so client commands start fast and don't open the database.

import type { Command } from 'commander';
import { CliError } from '../errors.js';
import { parseLogFormat, parseLogLevel } from '../../observability/log.js';

/** The parser's own message, as the CLI's error, with the flag's name. */
function asCliError<T>(parse: () => T, flag: string): T {
  try {
    return parse();
  } catch (err) {
    throw new CliError(`${(err as Error).message.replace(/^invalid log (format|level)/, `invalid ${flag}`)}`);
  }
}

export function parsePort(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^\d+$/.test(v) || n > 65535) throw new CliError(`invalid --${flag} "${v}": expected a port number 0-65535`);
  return n;
}

/** A positive whole number of seconds for a timeout flag, in milliseconds. */
export function parseSeconds(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n * 1000 > 2 ** 31 - 1) {
    throw new CliError(`invalid --${flag} "${v}": expected a whole number of seconds from 1 to 2147483`);
  }
  return n * 1000;
}

/** A positive whole number of bytes (plain, or with a Ki/Mi suffix). */
export function parseBytes(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const m = /^(\d+)(Ki|Mi)?$/.exec(v);
  const n = m ? Number(m[1]) * (m[2] === 'Mi' ? 1024 * 1024 : m[2] === 'Ki' ? 1024 : 1) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw new CliError(`invalid --${flag} "${v}": expected a number of bytes, e.g. 3145728 or 3Mi`);
  return n;
}

/** A whole number from 1 up (--gateway-workers). */
export function parseCount(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > 1024) throw new CliError(`invalid --${flag} "${v}": expected a whole number from 1 to 1024`);
  return n;
}

export function register(program: Command): void {
  program
    .command('server')
    .description('Run Sluice: API server, controllers, gateway and the local runtime (until Ctrl-C)')
    .option('--data-dir <dir>', 'where Sluice keeps its database, logs and kubeconfig (default ~/.sluice)')
    .option('--api-port <port>', 'port of the Kubernetes-style API (default 8001)')
    .option('--gateway-port <port>', 'port of the HTTP gateway that routes to services (default 8080)')
    .option(
      '--internal-gateway-port <port>',
      "port of the gateway's internal listener on 127.0.0.1, for cluster-local services (default: any free port)",
    )
    .option(
      '--gateway-workers <n>',
      'gateway processes sharing the gateway port (default: the number of cores; 1 = the gateway in the server process)',
    )
    .option('--domain <domain>', 'domain of service URLs (default example.com)')
    .option('--host <address>', 'address to listen on (default 127.0.0.1)')
    .option('--admin-port <port>', 'port of the admin listener: /metrics, /healthz, /readyz and the web console (default 9090)')
    .option('--admin-host <address>', 'address of the admin listener (default 127.0.0.1; beyond loopback it needs the API token)')
    .option('--log-format <format>', 'json (one object per line) or text (default text)')
    .option('--log-level <level>', 'debug (every scaling decision), info, warn or error (default info)')
    .option('--images <file>', 'extra image -> command mappings (YAML or JSON)')
    .option('--header-timeout <seconds>', 'longest a client may take to send request headers, API and gateway (default 60)')
    .option('--idle-timeout <seconds>', 'how long an idle keep-alive connection stays open, API and gateway (default 75)')
    .option('--max-body-bytes <bytes>', 'largest request body the API accepts, e.g. 3Mi (default 3Mi, as Kubernetes)')
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
        internalGatewayPort?: string;
        gatewayWorkers?: string;
        domain?: string;
        host?: string;
        adminPort?: string;
        adminHost?: string;
        logFormat?: string;
        logLevel?: string;
        images?: string;
        headerTimeout?: string;
        idleTimeout?: string;
        maxBodyBytes?: string;
        plugin: string[];
      }>();
      const logFormat = asCliError(() => parseLogFormat(o.logFormat), '--log-format');
      const logLevel = asCliError(() => parseLogLevel(o.logLevel), '--log-level');
      const opts = {
        dataDir: o.dataDir,
        apiPort: parsePort(o.apiPort, 'api-port'),
        gatewayPort: parsePort(o.gatewayPort, 'gateway-port'),
        internalGatewayPort: parsePort(o.internalGatewayPort, 'internal-gateway-port'),
        gatewayWorkers: parseCount(o.gatewayWorkers, 'gateway-workers'),
        domain: o.domain,
        host: o.host,
        adminPort: parsePort(o.adminPort, 'admin-port'),
        adminHost: o.adminHost,
        logFormat,
        logLevel,
        images: o.images,
        plugins: o.plugin,
        headersTimeoutMs: parseSeconds(o.headerTimeout, 'header-timeout'),
        keepAliveTimeoutMs: parseSeconds(o.idleTimeout, 'idle-timeout'),
        maxBodyBytes: parseBytes(o.maxBodyBytes, 'max-body-bytes'),
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
