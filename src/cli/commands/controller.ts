// sluice controller: runs Sluice's controllers, autoscaler, admission webhook and gateway against a
// Kubernetes cluster (kubeconfig file or in-cluster service account) until stopped.

import type { Command } from 'commander';
import { CliError } from '../errors.js';
import { parsePort } from './server.js';

export function register(program: Command): void {
  program
    .command('controller')
    .description('Run Sluice against a Kubernetes cluster (--kubeconfig FILE, or in-cluster): controllers, autoscaler, webhook and gateway')
    .option('--context <name>', 'context in the kubeconfig')
    .option('--domain <domain>', 'domain of service URLs (default example.com)')
    .option('--host <address>', 'address the gateway and webhook listen on (default 0.0.0.0)')
    .option('--gateway-port <port>', 'port of the gateway (default 8080)')
    .option('--internal-gateway-port <port>', "port of the gateway's internal listener, for cluster-local services (default 8081)")
    .option('--webhook-port <port>', 'port of the admission webhook (default 8443)')
    .option('--webhook-service <ns/name>', 'Service the API server reaches the webhook through (default sluice-system/sluice-webhook)')
    .option('--webhook-url <url>', 'https URL the API server reaches the webhook at, when Sluice runs outside the cluster')
    .option(
      '--gateway-service <host>',
      'DNS name route placeholder Services point at (default sluice-local-gateway.sluice-system.svc.cluster.local, the internal listener)',
    )
    .option('--lease-duration <seconds>', 'leader-election lease duration (default 15)')
    .option('--renew-deadline <seconds>', 'leader-election renew deadline (default 10)')
    .option('--retry-period <seconds>', 'leader-election retry period (default 2)')
    .option('--identity <name>', 'leader-election identity (default $POD_NAME, else host-pid)')
    .option(
      '--autoscaler-config <key=value>',
      'config-autoscaler setting written at start; repeatable',
      (v: string, prev: string[]) => [...prev, v],
      [] as string[],
    )
    .action(async (_o, cmd: Command) => {
      const o = cmd.opts<Record<string, string | undefined> & { autoscalerConfig: string[] }>();
      const parent = cmd.parent?.opts<{ kubeconfig?: string }>() ?? {};
      const seconds = (v: string | undefined, flag: string) => {
        if (v === undefined) return undefined;
        if (!/^\d+(\.\d+)?$/.test(v) || Number(v) <= 0) throw new CliError(`invalid --${flag} "${v}": expected a number of seconds`);
        return Number(v) * 1000;
      };
      const autoscalerConfig: Record<string, string> = {};
      for (const kv of o.autoscalerConfig) {
        const i = kv.indexOf('=');
        if (i <= 0) throw new CliError(`invalid --autoscaler-config "${kv}": expected key=value`);
        autoscalerConfig[kv.slice(0, i)] = kv.slice(i + 1);
      }
      if (o.webhookUrl && !/^https:\/\//.test(o.webhookUrl))
        throw new CliError(`invalid --webhook-url "${o.webhookUrl}": the API server calls webhooks over https`);
      const { startClusterSluice } = await import('../../kube/cluster.js');
      // --kubeconfig (or $KUBECONFIG) names the cluster; without either, the in-cluster service account.
      const kubeconfig = parent.kubeconfig ?? process.env.KUBECONFIG;
      const running = await startClusterSluice({
        kubeconfig,
        context: o.context,
        domain: o.domain,
        host: o.host,
        gatewayPort: parsePort(o.gatewayPort, 'gateway-port'),
        internalGatewayPort: parsePort(o.internalGatewayPort, 'internal-gateway-port'),
        webhookPort: parsePort(o.webhookPort, 'webhook-port'),
        webhookService: o.webhookService,
        webhookUrl: o.webhookUrl,
        gatewayService: o.gatewayService,
        identity: o.identity,
        leaseDurationMs: seconds(o.leaseDuration, 'lease-duration'),
        renewDeadlineMs: seconds(o.renewDeadline, 'renew-deadline'),
        retryPeriodMs: seconds(o.retryPeriod, 'retry-period'),
        autoscalerConfig,
        onLostLeadership: () => process.exit(1),
      });
      process.stderr.write(
        `sluice controller ${running.identity}: cluster ${running.client.server}, gateway :${running.gatewayPort}, webhook :${running.webhookPort}\n`,
      );
      const stop = () => {
        void running.stop().then(() => process.exit(0));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      await running.leading;
      process.stderr.write(`sluice controller ${running.identity}: leading\n`);
    });
}
