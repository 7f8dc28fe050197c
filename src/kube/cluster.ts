// Sluice on a Kubernetes cluster (`sluice controller`): the embedded controllers, autoscaler and
// gateway, with KubeStore (CRDs through the API server) in place of SQLite and KubeRuntime
// (Deployments, Pods) in place of local processes, plus the admission webhook. Replicas elect a
// leader on a Lease; only the leader reconciles, autoscales, points the webhook configurations at
// its own webhook and reports Ready (the others wait), and a replica that loses the Lease stops
// reconciling at once and ends (as client-go's controllers do), so two never write at the same time.

import { hostname } from 'node:os';
import { isIP } from 'node:net';
import { R } from '../api/resources.js';
import { AutoscalerController } from '../controllers/autoscaler.js';
import { createListers, type Listers, stopListers, syncListers } from '../controllers/listers.js';
import { ControllerManager } from '../controllers/manager.js';
import { ServingConfigWatcher } from '../controllers/serving-config.js';
import { Gateway } from '../dataplane/gateway.js';
import { KubeRuntime } from '../runtime/kube/runtime.js';
import { KubeStore } from '../store/kube-store.js';
import { createWebhookServer, registerWebhooks, type WebhookServer } from '../webhook/server.js';
import type { WebhookTarget } from '../webhook/configurations.js';
import { HttpKubeClient, type KubeClient } from './client.js';
import { LeaderElector } from './leader.js';
import { RoutePlaceholders } from './placeholders.js';
import { typeForKey } from './resources.js';

export interface ClusterOptions {
  /** kubeconfig file; without it the in-cluster service account. */
  kubeconfig?: string;
  context?: string;
  /** Namespace of the Lease (default sluice-system). */
  systemNamespace?: string;
  domain?: string;
  host?: string;
  gatewayPort?: number;
  /** Port of the gateway's internal listener (cluster-local hosts too; default 8081). */
  internalGatewayPort?: number;
  webhookPort?: number;
  /** How the API server reaches the webhook: "ns/name" of a Service, or an https URL. */
  webhookService?: string;
  webhookUrl?: string;
  /** The Service that route placeholder Services (ExternalName) point at: the internal listener's, as Knative points them at its local gateway. */
  gatewayService?: string;
  identity?: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** config-autoscaler overrides written at start (tests shorten windows). */
  autoscalerConfig?: Record<string, string>;
  preStopSleepSeconds?: number;
  log?: (msg: string) => void;
  /** Leadership was lost: the process should end (the default CLI exits 1). */
  onLostLeadership?: () => void;
}

export interface ClusterSluice {
  client: KubeClient;
  gateway: Gateway;
  gatewayPort: number;
  internalGatewayPort: number;
  webhookPort: number;
  identity: string;
  isLeader(): boolean;
  /** Resolves when this replica leads. */
  leading: Promise<void>;
  stop(): Promise<void>;
}

function webhookTarget(o: ClusterOptions, port: number): { target: WebhookTarget; hosts: string[] } {
  if (o.webhookUrl) {
    const host = new URL(o.webhookUrl).hostname.replace(/^\[|\]$/g, '');
    return { target: { url: o.webhookUrl }, hosts: [host] };
  }
  const [ns, name] = (o.webhookService ?? 'sluice-system/sluice-webhook').split('/');
  void port;
  return {
    target: { service: { namespace: ns, name, port: 443 } },
    hosts: [name, `${name}.${ns}`, `${name}.${ns}.svc`, `${name}.${ns}.svc.cluster.local`],
  };
}

export async function startClusterSluice(o: ClusterOptions): Promise<ClusterSluice> {
  const log = o.log ?? ((m: string) => console.error(`sluice: ${m}`));
  const client = HttpKubeClient.fromOptions({ kubeconfig: o.kubeconfig, context: o.context });
  const host = o.host ?? '0.0.0.0';
  const identity = o.identity ?? process.env.POD_NAME ?? `${hostname()}-${process.pid}`;
  const systemNamespace = o.systemNamespace ?? 'sluice-system';

  let leader = false;
  // The webhook answers on every replica from the start (a webhook configured by URL reaches any).
  const webhookPort = o.webhookPort ?? 8443;
  const { target, hosts } = webhookTarget(o, webhookPort);
  const webhook: WebhookServer = await createWebhookServer({
    hosts: hosts.filter((h) => h && (isIP(h) || /^[a-z0-9.-]+$/.test(h))),
    lookupRevision: (ns, name) => client.get(typeForKey(R.revisions)!, ns, name),
    // Only the leader has routes in its gateway, so only its pod may receive traffic.
    ready: () => leader,
    log,
  });
  const boundWebhookPort = await webhook.listen(webhookPort, host);

  const store = new KubeStore(client);
  const gateway = new Gateway({});
  const gatewayPort = await gateway.listen(o.gatewayPort ?? 8080, host);
  // In the cluster, "cluster-local" is the cluster network: the pod's address, behind Service sluice-local-gateway.
  const internalGatewayPort = await gateway.listenInternal(o.internalGatewayPort ?? 8081, host);

  let autoscaler: AutoscalerController | undefined;
  let controllers: ControllerManager | undefined;
  let runtime: KubeRuntime | undefined;
  let servingConfig: ServingConfigWatcher | undefined;
  let listers: Listers | undefined;
  let placeholders: RoutePlaceholders | undefined;
  let resolveLeading!: () => void;
  const leading = new Promise<void>((r) => (resolveLeading = r));

  const startReconciling = async () => {
    // The leader's webhook is the one the configurations name (each replica has its own CA).
    await registerWebhooks(client, target, webhook.cert.cert);
    servingConfig = new ServingConfigWatcher({ store, log });
    runtime = new KubeRuntime({
      client,
      autoscalerConfig: () => autoscaler!.currentConfig(),
      preStopSleepSeconds: o.preStopSleepSeconds ?? 3,
      inFlight: (key) => new Map((gateway.load(key)?.endpoints ?? []).map((e) => [e.id, e.inFlight])),
      log,
    });
    runtime.setDrainer((key, id) => gateway.drain(key, id));
    listers = createListers(store, log);
    autoscaler = new AutoscalerController({
      store,
      listers,
      runtime,
      gateway,
      enqueue: (kind, ns, name) => controllers?.enqueue(kind, ns, name),
      log,
      configOverrides: o.autoscalerConfig,
    });
    controllers = new ControllerManager({
      store,
      listers,
      runtime,
      dataplane: gateway,
      scale: autoscaler,
      domain: () => o.domain ?? 'example.com',
      log,
    });
    placeholders = new RoutePlaceholders(client, o.gatewayService ?? 'sluice-local-gateway.sluice-system.svc.cluster.local', log);
    await runtime.start();
    await servingConfig.start();
    await syncListers(listers);
    await autoscaler.start();
    await controllers.start();
    await placeholders.start();
    resolveLeading();
  };

  const elector = new LeaderElector(
    client,
    {
      namespace: systemNamespace,
      name: 'sluice-controller',
      identity,
      leaseDurationMs: o.leaseDurationMs,
      renewDeadlineMs: o.renewDeadlineMs,
      retryPeriodMs: o.retryPeriodMs,
      log,
    },
    {
      onStartedLeading: () => {
        leader = true;
        startReconciling().catch((e) => {
          log(`starting the controllers failed: ${(e as Error).message}`);
          o.onLostLeadership?.();
        });
      },
      onStoppedLeading: () => {
        if (!leader) return;
        leader = false;
        controllers?.stop();
        autoscaler?.stop();
        if (listers) stopListers(listers);
        servingConfig?.stop();
        void placeholders?.stop();
        log(`${identity} lost the lease`);
        o.onLostLeadership?.();
      },
      onNewLeader: (id) => log(`leader is ${id}`),
    },
  );
  const electing = elector.run();

  return {
    client,
    gateway,
    gatewayPort,
    internalGatewayPort,
    webhookPort: boundWebhookPort,
    identity,
    isLeader: () => leader,
    leading,
    async stop() {
      leader = false;
      controllers?.stop();
      autoscaler?.stop();
      if (listers) stopListers(listers);
      servingConfig?.stop();
      void placeholders?.stop();
      await elector.stop();
      await electing.catch(() => {});
      await runtime?.shutdown();
      await gateway.close();
      await webhook.close();
      await store.close();
    },
  };
}
