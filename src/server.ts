// Assembles the embedded Sluice: SQLite store, API server, controllers, gateway and the local
// process runtime, in one process. `sluice server` and the tests both start it through here.

import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { admitWithStore } from './api/admission.js';
import { convert } from './api/conversion.js';
import { SERVING_GROUP } from './api/types.js';
import { admissionWarnings } from './api/warnings.js';
import { R } from './api/resources.js';
import { createApiServer } from './apiserver/server.js';
import type { ListenerTimeouts } from './net/listener.js';
import { writeKubeconfig } from './apiserver/kubeconfig.js';
import { loadOrCreateServingCert } from './apiserver/certs.js';
import { createListers, stopListers, syncListers } from './controllers/listers.js';
import { ControllerManager } from './controllers/manager.js';
import { StoreConfigSource } from './controllers/config-source.js';
import { AutoscalerController } from './controllers/autoscaler.js';
import { ServingConfigWatcher } from './controllers/serving-config.js';
import { loadPlugins } from './autoscaler/index.js';
import { availableParallelism } from 'node:os';
import { Gateway } from './dataplane/gateway.js';
import type { GatewayService } from './dataplane/service.js';
import { GatewayCluster } from './dataplane/workers/cluster.js';
import { registerWorkerMetrics } from './dataplane/workers/metrics.js';
import { RolloutController } from './progressive/controller.js';
import { defaultImageMappings, loadImageMappings } from './runtime/image-map.js';
import { LocalRuntime } from './runtime/local/runtime.js';
import { registerGatewayMetrics } from './dataplane/metrics.js';
import { AdminServer, DEFAULT_ADMIN_HOST, DEFAULT_ADMIN_PORT } from './observability/admin.js';
import { createLogger, silentLogger, type LogFormat, type Logger, type LogLevel } from './observability/log.js';
import { Registry } from './observability/registry.js';
import { RevisionNameIndex } from './observability/revision-names.js';
import { openSqliteStore } from './store/index.js';
import type { Store } from './store/store.js';
import { watchLifecycle } from './events/lifecycle.js';
import { StoreEventRecorder } from './events/recorder.js';
import { EventLog } from './observability/events.js';
import { instrumentStore } from './store/metrics.js';
import { observeRuntime } from './runtime/metrics.js';
import { observeAutoscaler } from './controllers/autoscaling/metrics.js';
import { registerControllerMetrics } from './controllers/metrics.js';
import { Console } from './console/server.js';
import { LiveFeed } from './console/live.js';
import { TrafficActions } from './console/actions.js';

/** The variable naming the gateway's internal listener in every instance's environment. */
export const LOCAL_GATEWAY_ENV = 'SLUICE_LOCAL_GATEWAY';

export interface SluiceOptions {
  dataDir: string;
  apiPort?: number;
  gatewayPort?: number;
  /**
   * Port of the gateway's internal listener on 127.0.0.1 (cluster-local services; 0 or unset: chosen
   * at start). Instances find it in SLUICE_LOCAL_GATEWAY.
   */
  internalGatewayPort?: number;
  /** Domain of route URLs; may carry a port ("localhost:8080") so URLs open directly. */
  domain?: string;
  host?: string;
  /** Port of the admin listener (/metrics, /healthz, /readyz, the console); default 9090. */
  adminPort?: number;
  /** Address of the admin listener (default 127.0.0.1; beyond loopback every read needs the token). */
  adminHost?: string;
  logFormat?: LogFormat;
  logLevel?: LogLevel;
  /** Extra image → command mappings (JSON or YAML file). */
  imagesFile?: string;
  quiet?: boolean;
  /** Grace period for stopping instances (Kubernetes' default is 30 s). */
  gracePeriodMs?: number;
  /**
   * config-autoscaler keys written into the ConfigMap knative-serving/config-autoscaler at
   * startup, e.g. { 'stable-window': '6s' } (tests shorten the windows this way).
   */
  autoscalerConfig?: Record<string, string>;
  /**
   * Keys written into other knative-serving ConfigMaps at startup, by ConfigMap name, e.g.
   * { 'config-features': { 'kubernetes.podspec-fieldref': 'enabled' } }.
   */
  servingConfig?: Record<string, Record<string, string>>;
  /** Compiled scaling-plugin modules (.js/.mjs) for the plugin.autoscaling.sluice.dev class. */
  pluginPaths?: string[];
  /**
   * Gateway processes on the gateway port (default: the number of cores). 1 runs the gateway in
   * this process; more run it in worker processes (src/dataplane/workers/) with containerConcurrency,
   * the hold queue and the load the autoscaler reads kept across them.
   */
  gatewayWorkers?: number;
  /** Most requests the gateway holds per revision while it has no capacity (default 1000). */
  maxQueuedPerRevision?: number;
  /** Header and idle keep-alive timeouts of the API and gateway listeners (default 60 s, 75 s). */
  listenerTimeouts?: Partial<ListenerTimeouts>;
  /** Largest request body the API accepts (default 3 MiB, as Kubernetes). */
  maxBodyBytes?: number;
  /**
   * Epoch milliseconds for the autoscaler's decisions (scheduled capacity, windows, stabilization);
   * default Date.now. Tests move it to put "now" inside or outside a scheduled period.
   */
  clock?: () => number;
  /** Milliseconds between Rollout (canary analysis) controller ticks (default 1000). */
  rolloutTickMs?: number;
}

/** Drops undefined entries, so unset CLI flags fall back to the defaults. */
function definedOnly<T extends object>(o: T | undefined): Partial<T> {
  return Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export interface RunningSluice {
  apiUrl: string;
  gatewayUrl: string;
  gatewayPort: number;
  /** The internal listener (cluster-local hosts too), as instances get it in SLUICE_LOCAL_GATEWAY. */
  internalGatewayUrl: string;
  adminUrl: string;
  adminPort: number;
  /** The bearer token of the API (and of the admin listener's protected paths). */
  token: string;
  kubeconfigPath: string;
  dataDir: string;
  store: Store;
  /** Writes core v1 Events (recordEvent) with aggregation and bounded retention. */
  events: StoreEventRecorder;
  controllers: ControllerManager;
  autoscaler: AutoscalerController;
  /** config-features and config-defaults as currently parsed (admission and the gateway read them). */
  servingConfig: ServingConfigWatcher;
  /** The in-process Gateway (gatewayWorkers 1) or a GatewayCluster of worker processes. */
  gateway: GatewayService;
  runtime: LocalRuntime;
  registry: Registry;
  logger: Logger;
  stop(): Promise<void>;
}

/**
 * One gateway process per core; SLUICE_GATEWAY_WORKERS overrides it for every server started in
 * this process (the test suite sets it, see test/README.md).
 */
export function defaultGatewayWorkers(): number {
  const env = process.env.SLUICE_GATEWAY_WORKERS;
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (!Number.isInteger(n) || n < 1) throw new TypeError(`SLUICE_GATEWAY_WORKERS must be a positive whole number, got "${env}"`);
    return n;
  }
  return availableParallelism();
}

/** The repository root (where dist/ and examples/ live), found from this compiled file. */
export const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** A stable token per data dir, so a restarted server keeps working with the kubeconfig users have. */
function tokenFor(dataDir: string): string {
  const file = join(dataDir, 'token');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const token = randomBytes(24).toString('hex');
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return token;
}

export async function startSluice(opts: SluiceOptions): Promise<RunningSluice> {
  const dataDir = resolve(opts.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const host = opts.host ?? '127.0.0.1';
  const logger = opts.quiet ? silentLogger : createLogger({ format: opts.logFormat, level: opts.logLevel });
  const log = (msg: string) => logger.info(msg);
  // One registry for the process; components register their series beside their own code.
  const registry = new Registry();
  // What happened, for people: logged, and shown by the console.
  const activity = new EventLog({ logger });
  const domain = opts.domain ?? 'example.com';

  // Plugins first: a bad path fails the start before anything is opened.
  const plugins = await loadPlugins(opts.pluginPaths ?? []);
  const sqlite = openSqliteStore(dataDir, { log });
  // Everything that writes goes through the instrumented store, so every write is timed.
  const store = instrumentStore(sqlite, registry);
  const mappings = [...(opts.imagesFile ? loadImageMappings(opts.imagesFile) : []), ...defaultImageMappings(projectRoot)];
  // Set once the gateway's internal listener is bound, before any instance starts.
  let internalGatewayUrl = '';
  // ConfigMaps and Secrets for instances' env and volumes, read from caches of the store.
  const configSource = new StoreConfigSource(store, log);
  const runtime = new LocalRuntime({
    dataDir,
    imageMappings: mappings,
    gracePeriodMs: opts.gracePeriodMs,
    platformEnv: () => ({ [LOCAL_GATEWAY_ENV]: internalGatewayUrl }),
    config: configSource,
  });
  const listenerTimeouts = definedOnly(opts.listenerTimeouts);
  const gatewayWorkers = opts.gatewayWorkers ?? defaultGatewayWorkers();
  const gateway: GatewayService =
    gatewayWorkers === 1
      ? new Gateway({ maxQueuedPerRevision: opts.maxQueuedPerRevision, timeouts: listenerTimeouts })
      : new GatewayCluster({
          workers: gatewayWorkers,
          maxQueuedPerRevision: opts.maxQueuedPerRevision,
          timeouts: listenerTimeouts,
          log: (msg) => logger.warn(msg, { component: 'gateway' }),
        });
  if (gateway instanceof GatewayCluster) {
    registerWorkerMetrics(registry, () => gateway.workers());
    registry.beforeScrape(() => gateway.flush());
  }
  runtime.setDrainer((key, id) => gateway.drain(key, id));
  // The controllers' and the autoscaler's reads: caches kept by one watch per resource.
  const listers = createListers(store, log);
  const revisionNames = new RevisionNameIndex();
  await revisionNames.start(store);
  registerGatewayMetrics(registry, gateway, revisionNames.labeler);
  const stopRuntimeMetrics = observeRuntime(registry, runtime, activity);

  const events = new StoreEventRecorder({ store, log });
  // The autoscaler decides each revision's instance count and hands changes to the manager's queue.
  let controllers: ControllerManager | undefined;
  // oxlint-disable-next-line prefer-const -- assigned right below; the metrics read it at scrape time
  let autoscaler: AutoscalerController | undefined;
  const onDecision = observeAutoscaler(registry, () => autoscaler, runtime, revisionNames.labeler, activity);
  autoscaler = new AutoscalerController({
    store,
    listers,
    runtime,
    gateway,
    enqueue: (kind, ns, name) => controllers?.enqueue(kind, ns, name),
    log,
    plugins,
    configOverrides: opts.autoscalerConfig,
    now: opts.clock,
    events,
    onDecision,
  });
  const servingConfig = new ServingConfigWatcher({ store, log, overrides: opts.servingConfig });
  controllers = new ControllerManager(
    {
      store,
      listers,
      runtime,
      dataplane: gateway,
      scale: autoscaler,
      domain: () => domain,
      log,
      now: opts.clock,
      gcConfig: () => servingConfig.gc(),
    },
    registerControllerMetrics(registry, () => controllers?.queueDepth ?? 0, activity),
  );

  const token = tokenFor(dataDir);
  // kubectl sends a bearer token only over TLS, so the API serves HTTPS with its own certificate.
  const cert = await loadOrCreateServingCert(dataDir, host === '127.0.0.1' ? undefined : [host]);
  const api = createApiServer({
    store,
    token,
    tls: cert,
    timeouts: listenerTimeouts,
    maxBodyBytes: opts.maxBodyBytes,
    admit: admitWithStore(
      (ns, name) => store.get(R.revisions, ns, name),
      () => servingConfig.current(),
    ),
    warn: (kind, obj) => (kind.group === SERVING_GROUP ? admissionWarnings(kind.kind, obj, servingConfig.current().features) : []),
    convert,
    logs: (ns, revision, logOpts, write) => runtime.logs(`${ns}/${revision}`, logOpts, write),
  });

  let ready = false;
  let stopping = false;
  const admin = new AdminServer({
    registry,
    token,
    notReady: () => (stopping ? 'stopping' : ready ? undefined : 'starting'),
    log: (msg, fields) => logger.warn(msg, { component: 'admin', ...fields }),
  });

  // The admin port first: its default (9090) is the one most likely taken, and nothing else is open yet.
  const adminHost = opts.adminHost ?? DEFAULT_ADMIN_HOST;
  const adminPort = await admin.listen(opts.adminPort ?? DEFAULT_ADMIN_PORT, adminHost);
  const gatewayPort = await gateway.listen(opts.gatewayPort ?? 8080, host);
  // Loopback only: it answers cluster-local hosts, which must not be reachable from outside.
  internalGatewayUrl = `http://127.0.0.1:${await gateway.listenInternal(opts.internalGatewayPort ?? 0, '127.0.0.1')}`;
  const apiPort = await api.listen(opts.apiPort ?? 8001, host);
  const apiUrl = `https://${host}:${apiPort}`;
  const scaler = autoscaler;
  const webConsole = new Console({
    admin,
    store,
    listers,
    events: activity,
    live: new LiveFeed({
      reader: gateway.reader(),
      keys: () => [...gateway.revisionViews().map((v) => v.key), ...scaler.keys()],
      instances: (key) => ({ readyInstances: runtime.status(key)?.readyReplicas ?? 0, desired: scaler.decider(key)?.requested }),
    }),
    liveState: (key) => {
      const d = scaler.decider(key);
      return {
        readyInstances: runtime.status(key)?.readyReplicas ?? 0,
        ...(d ? { desired: d.requested, class: d.class, mode: d.mode, ...(d.reason ? { scaleReason: d.reason } : {}) } : {}),
      };
    },
    actions: new TrafficActions({ url: apiUrl, token, ca: cert.cert }),
    onRuntimeChange: (cb) => runtime.onChange(cb),
  });
  const kubeconfigPath = join(dataDir, 'kubeconfig.yaml');
  writeKubeconfig(kubeconfigPath, { server: apiUrl, token, certificateAuthority: cert.cert });
  // After the API server created the knative-serving namespace, before revisions are reconciled.
  await servingConfig.start();
  const stopLifecycle = await watchLifecycle(store, events, listers);
  events.start();
  await Promise.all([syncListers(listers), configSource.synced()]);
  await autoscaler.start();
  await controllers.start();
  const rollouts = new RolloutController({
    store,
    gateway,
    runtime,
    gatewayPort: () => gatewayPort,
    domain: () => domain,
    log,
    events,
    tickMs: opts.rolloutTickMs,
    now: opts.clock,
  });
  rollouts.start();
  await webConsole.start();
  ready = true;

  let stopped = false;
  return {
    apiUrl,
    gatewayUrl: `http://${host}:${gatewayPort}`,
    gatewayPort,
    internalGatewayUrl,
    adminUrl: `http://${adminHost.includes(':') ? `[${adminHost}]` : adminHost}:${adminPort}`,
    adminPort,
    token,
    kubeconfigPath,
    dataDir,
    store,
    events,
    controllers,
    autoscaler,
    servingConfig,
    gateway,
    runtime,
    registry,
    logger,
    async stop() {
      if (stopped) return;
      stopped = true;
      stopping = true;
      servingConfig.stop();
      autoscaler.stop();
      controllers!.stop();
      await rollouts.stop();
      stopListers(listers);
      configSource.stop();
      revisionNames.close();
      webConsole.stop();
      stopRuntimeMetrics();
      await admin.close();
      stopLifecycle();
      events.stop();
      await events.flush();
      await api.close();
      await runtime.shutdown();
      await gateway.close();
      await store.close();
    },
  };
}
