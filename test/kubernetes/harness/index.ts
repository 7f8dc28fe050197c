// A real Kubernetes control plane for tests: etcd, kube-apiserver, kube-controller-manager and
// kube-scheduler (upstream binaries, see build-control-plane.sh), plus the test node (node-agent/) and
// optionally metrics-server, all inside a network namespace made for the run. The test process stays in
// its own namespace and reaches the cluster through forwarded ports on 127.0.0.1 (forward.ts), so
// `kubeconfig` works for kubectl and any client; programs that must see pod IPs (a gateway, curl) are
// started inside the namespace with spawn()/exec() and use `kubeconfigInNetns`.
//
// stop() ends every process by pid and deletes the namespaces. If the test process dies without
// stop(), an exit hook does the same, and a watchdog process (started first, in the test's own
// namespace) does it when even the exit hook could not run (SIGKILL); the next harness also removes
// the namespaces of dead runs at start.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { kubectlBinary, kubernetesAvailability, type Binary } from './assets.js';
import { forward, type Forward } from './forward.js';
import { KubeRest } from './kube-rest.js';
import { BRIDGE_IP, createRunNetns, destroyNetnsSync, inNetns, listNetns, newRunName, removeStaleNamespaces } from './netns.js';
import { makePki, type Pki } from './pki.js';
import { lastLines, startProcess, stopProcess, type Started } from './processes.js';

const here = dirname(fileURLToPath(import.meta.url));
/** The repository root (this file runs from dist/test/kubernetes/harness/). */
export const PROJECT_ROOT = resolve(here, '..', '..', '..', '..');

export const APISERVER_PORT = 6443;
export const SERVICE_CIDR = '10.96.0.0/16';
export const SERVICE_IP = '10.96.0.1';
export const NODE_NAME = 'sluice-node-0';

/** kube-controller-manager's controllers the harness runs by default (what Sluice relies on). */
export const DEFAULT_CONTROLLERS = [
  'deployment-controller',
  'replicaset-controller',
  'endpointslice-controller',
  'endpointslice-mirroring-controller',
  'garbage-collector-controller',
  'namespace-controller',
  'horizontal-pod-autoscaler-controller',
  'serviceaccount-controller',
  'serviceaccount-token-controller',
  'root-ca-certificate-publisher-controller',
  'clusterrole-aggregation-controller',
];

export interface KubernetesOptions {
  /** kube-controller-manager --controllers (default DEFAULT_CONTROLLERS) */
  controllers?: string[];
  /** extra flags, appended (a later flag wins) */
  apiserverArgs?: string[];
  controllerManagerArgs?: string[];
  schedulerArgs?: string[];
  /** run the test node (default true) */
  node?: boolean;
  /** run metrics-server and register metrics.k8s.io (default false; needs the binary) */
  metricsServer?: boolean;
  /** an image-mappings file (src/runtime/image-map.ts format) for the test node, beside the built-in ones */
  imageMappings?: string;
  /** keep the run directory (logs, certificates) after stop() */
  keep?: boolean;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface KubernetesHarness {
  /** 'harness': started here; 'existing': SLUICE_TEST_KUBECONFIG's cluster (no namespace, no node of ours) */
  mode: 'harness' | 'existing';
  /** a kubeconfig usable from the test process (the apiserver via 127.0.0.1) */
  kubeconfig: string;
  /** a kubeconfig for processes inside the run's namespace (https://10.244.0.1:6443) */
  kubeconfigInNetns: string;
  /** the run's network namespace, undefined against an existing cluster */
  netns?: string;
  nodeName: string;
  /** the run's directory: certificates, kubeconfigs, logs/<component>.log */
  dir: string;
  /** the apiserver as a JSON client (admin) from the test process */
  api: KubeRest;
  /** runs kubectl (the control plane's own build when present) against `kubeconfig` */
  kubectl(args: string[], opts?: { input?: string }): Promise<ExecResult>;
  /** runs a program to completion inside the run's namespace */
  exec(argv: string[], opts?: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<ExecResult>;
  /** starts a long-running program inside the namespace; stop() ends it (SIGTERM, then SIGKILL) */
  spawn(name: string, argv: string[], opts?: { env?: NodeJS.ProcessEnv; cwd?: string }): Started;
  /** a port on 127.0.0.1 that reaches host:port inside the namespace (pods, a gateway, the apiserver) */
  forward(host: string, port: number): Promise<number>;
  /** the last lines of a component's log (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, node, ...) */
  logTail(component: string, lines?: number): string;
  stop(): Promise<void>;
}

function kubeconfigYaml(server: string, pki: Pki, user: string): string {
  const b64 = (f: string): string => readFileSync(f).toString('base64');
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: sluice-test',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${b64(pki.crt('ca'))}`,
    'users:',
    `- name: ${user}`,
    '  user:',
    `    client-certificate-data: ${b64(pki.crt(user))}`,
    `    client-key-data: ${b64(pki.key(user))}`,
    'contexts:',
    '- name: sluice-test',
    '  context:',
    '    cluster: sluice-test',
    `    user: ${user}`,
    'current-context: sluice-test',
    '',
  ].join('\n');
}

function execFileResult(argv: string[], opts: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<ExecResult> {
  return new Promise((resolvePromise) => {
    const child = execFile(
      argv[0],
      argv.slice(1),
      { encoding: 'utf8', env: opts.env ?? process.env, timeout: opts.timeoutMs ?? 60_000, maxBuffer: 32 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
        resolvePromise({ code, stdout, stderr });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/**
 * A watchdog that outlives a SIGKILLed test process: polls the test's pid and, once it is gone,
 * kills what is left in the run's namespaces and deletes them and the run directory.
 */
function startWatchdog(run: string, dir: string): ChildProcess {
  const script = [
    `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done`,
    `for ns in $(ls /run/netns 2>/dev/null | grep -E '^${run}(-p[0-9]+)?$' | sort -r); do`,
    '  for p in $(ip netns pids "$ns"); do kill -9 "$p" 2>/dev/null; done',
    '  ip netns del "$ns"',
    'done',
    `rm -rf '${dir}'`,
  ].join('\n');
  const child = spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' });
  child.unref();
  return child;
}

async function waitUntil(what: string, timeoutMs: number, check: () => Promise<boolean>, whyNot: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${whyNot()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Starts a control plane (or connects to SLUICE_TEST_KUBECONFIG's cluster). Call stop() in an after hook. */
export async function startKubernetes(options: KubernetesOptions = {}): Promise<KubernetesHarness> {
  const availability = kubernetesAvailability();
  if (availability.mode === 'skip') throw new Error(`the Kubernetes suite cannot run here: ${availability.reason}`);
  if (availability.mode === 'existing') return existingCluster(availability.kubeconfig);
  const bin = availability.bin;
  const startedAt = performance.now();

  removeStaleNamespaces();
  const run = newRunName();
  const dir = join(tmpdir(), run);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'logs'), { recursive: true });
  const watchdog = startWatchdog(run, dir);
  const processes: Started[] = [];
  const forwards: Forward[] = [];
  let stopped = false;

  const ownNamespaces = (): string[] =>
    listNetns()
      .filter((n) => n === run || (n.startsWith(`${run}-p`) && /^\d+$/.test(n.slice(run.length + 2))))
      .sort((a, b) => b.length - a.length);
  const killEverythingSync = (): void => {
    for (const p of processes) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    for (const n of ownNamespaces()) destroyNetnsSync(n);
  };
  const onExit = (): void => {
    if (!stopped) killEverythingSync();
  };
  process.on('exit', onExit);

  const log = (name: string): string => join(dir, 'logs', `${name}.log`);
  const startIn = (name: string, argv: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Started => {
    const p = startProcess(name, argv, { netns: run, log: log(name), ...opts });
    processes.push(p);
    return p;
  };
  const need = (b: Binary): string => {
    const path = bin[b];
    if (!path) throw new Error(`no ${b} binary (build it with test/kubernetes/build-control-plane.sh)`);
    return path;
  };

  const stop = async (): Promise<void> => {
    if (stopped) return;
    // The node first, so it stops its pods and removes their namespaces while the API is still up.
    const order = [...processes].reverse();
    const node = order.filter((p) => p.name === 'node');
    for (const p of node) await stopProcess(p, 20_000);
    await Promise.all(order.filter((p) => p.name !== 'node' && !['etcd', 'kube-apiserver'].includes(p.name)).map((p) => stopProcess(p)));
    for (const name of ['kube-apiserver', 'etcd']) for (const p of order.filter((q) => q.name === name)) await stopProcess(p);
    await Promise.all(forwards.map((f) => f.close()));
    api.close();
    stopped = true;
    killEverythingSync();
    process.off('exit', onExit);
    try {
      if (watchdog.pid) process.kill(watchdog.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    if (!options.keep && !process.env.SLUICE_K8S_KEEP) rmSync(dir, { recursive: true, force: true });
  };

  let api!: KubeRest;
  try {
    await createRunNetns(run);
    const pki = await makePki(join(dir, 'pki'), { serverIps: [BRIDGE_IP], nodeName: NODE_NAME, serviceIp: SERVICE_IP });

    // The relay first: every host-side connection into the namespace goes through it.
    const relaySocket = join(dir, 'relay.sock');
    const relay = startIn('relay', [process.execPath, join(here, 'relay.js'), relaySocket]);
    await waitUntil(
      'the namespace relay',
      10_000,
      async () => lastLines(relay.log).includes('ready'),
      () => lastLines(relay.log),
    );

    const etcd = startIn('etcd', [
      need('etcd'),
      '--name=default',
      `--data-dir=${join(dir, 'etcd')}`,
      '--listen-client-urls=http://127.0.0.1:2379',
      '--advertise-client-urls=http://127.0.0.1:2379',
      '--listen-peer-urls=http://127.0.0.1:2380',
      '--initial-advertise-peer-urls=http://127.0.0.1:2380',
      '--initial-cluster=default=http://127.0.0.1:2380',
      '--unsafe-no-fsync=true',
      '--log-level=warn',
    ]);

    const apiserverUrl = `https://${BRIDGE_IP}:${APISERVER_PORT}`;
    const apiserver = startIn('kube-apiserver', [
      need('kube-apiserver'),
      '--etcd-servers=http://127.0.0.1:2379',
      `--bind-address=${BRIDGE_IP}`,
      `--advertise-address=${BRIDGE_IP}`,
      `--secure-port=${APISERVER_PORT}`,
      `--tls-cert-file=${pki.crt('apiserver')}`,
      `--tls-private-key-file=${pki.key('apiserver')}`,
      `--client-ca-file=${pki.crt('ca')}`,
      `--service-account-issuer=${apiserverUrl}`,
      `--service-account-key-file=${join(pki.dir, 'sa.pub')}`,
      `--service-account-signing-key-file=${join(pki.dir, 'sa.key')}`,
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      '--authorization-mode=RBAC',
      '--allow-privileged=true',
      // As envtest: pods do not wait for a ServiceAccount token volume the test node could not mount.
      // TaintNodesByCondition would taint the new Node not-ready until the node-lifecycle controller,
      // which the harness does not run, lifts it.
      '--disable-admission-plugins=ServiceAccount,TaintNodesByCondition',
      '--enable-aggregator-routing=true',
      `--requestheader-client-ca-file=${pki.crt('front-proxy-ca')}`,
      '--requestheader-allowed-names=front-proxy-client',
      '--requestheader-username-headers=X-Remote-User',
      '--requestheader-group-headers=X-Remote-Group',
      '--requestheader-extra-headers-prefix=X-Remote-Extra-',
      `--proxy-client-cert-file=${pki.crt('front-proxy-client')}`,
      `--proxy-client-key-file=${pki.key('front-proxy-client')}`,
      `--kubelet-client-certificate=${pki.crt('apiserver-kubelet-client')}`,
      `--kubelet-client-key=${pki.key('apiserver-kubelet-client')}`,
      '--kubelet-preferred-address-types=InternalIP',
      // Fewer moving parts on a small machine (as kwok's harness does).
      '--enable-priority-and-fairness=false',
      '--profiling=false',
      ...(options.apiserverArgs ?? []),
    ]);

    writeFileSync(join(dir, 'kubeconfig-netns'), kubeconfigYaml(apiserverUrl, pki, 'admin'));
    const apiForward = await forward(relaySocket, { host: BRIDGE_IP, port: APISERVER_PORT });
    forwards.push(apiForward);
    const hostServer = `https://127.0.0.1:${apiForward.port}`;
    writeFileSync(join(dir, 'kubeconfig'), kubeconfigYaml(hostServer, pki, 'admin'));
    api = new KubeRest({
      server: hostServer,
      ca: readFileSync(pki.crt('ca'), 'utf8'),
      cert: readFileSync(pki.crt('admin'), 'utf8'),
      key: readFileSync(pki.key('admin'), 'utf8'),
    });

    const timeoutMs = Number(process.env.KUBEBUILDER_CONTROLPLANE_START_TIMEOUT_MS ?? 90_000);
    await waitUntil(
      'kube-apiserver /readyz',
      timeoutMs,
      async () => {
        if (etcd.done) throw new Error('etcd exited');
        const r = await api.request('GET', '/readyz');
        return r.status === 200;
      },
      () => `etcd:\n${lastLines(etcd.log)}\nkube-apiserver:\n${lastLines(apiserver.log)}`,
    );

    const kubeconfigInNetns = join(dir, 'kubeconfig-netns');
    startIn('kube-controller-manager', [
      need('kube-controller-manager'),
      `--kubeconfig=${kubeconfigInNetns}`,
      `--authentication-kubeconfig=${kubeconfigInNetns}`,
      `--authorization-kubeconfig=${kubeconfigInNetns}`,
      '--bind-address=127.0.0.1',
      '--secure-port=10257',
      `--controllers=${(options.controllers ?? DEFAULT_CONTROLLERS).join(',')}`,
      `--service-account-private-key-file=${join(pki.dir, 'sa.key')}`,
      `--root-ca-file=${pki.crt('ca')}`,
      '--use-service-account-credentials=false',
      '--leader-elect=false',
      // Test-friendly HPA timing (upstream: 15 s sync, 5 min downscale stabilization).
      '--horizontal-pod-autoscaler-sync-period=5s',
      '--horizontal-pod-autoscaler-downscale-stabilization=30s',
      '--profiling=false',
      ...(options.controllerManagerArgs ?? []),
    ]);
    startIn('kube-scheduler', [
      need('kube-scheduler'),
      `--kubeconfig=${kubeconfigInNetns}`,
      `--authentication-kubeconfig=${kubeconfigInNetns}`,
      `--authorization-kubeconfig=${kubeconfigInNetns}`,
      '--bind-address=127.0.0.1',
      '--secure-port=10259',
      '--leader-elect=false',
      '--profiling=false',
      ...(options.schedulerArgs ?? []),
    ]);

    if (options.node !== false) {
      const nodeConfig = {
        server: apiserverUrl,
        ca: pki.crt('ca'),
        cert: pki.crt('node'),
        key: pki.key('node'),
        // The node writes Node and Pod objects with the admin identity: the harness runs no Node authorizer.
        clientCert: pki.crt('admin'),
        clientKey: pki.key('admin'),
        nodeName: NODE_NAME,
        nodeIp: BRIDGE_IP,
        runNetns: run,
        dir: join(dir, 'node'),
        projectRoot: PROJECT_ROOT,
        imageMappings: options.imageMappings,
      };
      writeFileSync(join(dir, 'node.json'), JSON.stringify(nodeConfig, null, 2));
      const node = startIn('node', [process.execPath, join(here, 'node-agent', 'main.js'), join(dir, 'node.json')]);
      await waitUntil(
        `node ${NODE_NAME} Ready`,
        30_000,
        async () => {
          if (node.done) throw new Error('the test node exited');
          const r = await api.request('GET', `/api/v1/nodes/${NODE_NAME}`);
          return r.status === 200 && r.body.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True');
        },
        () => `node:\n${lastLines(node.log)}`,
      );
    }

    if (options.metricsServer) {
      const { startMetricsServer } = await import('./metrics-server.js');
      await startMetricsServer({ binary: need('metrics-server'), api, pki, kubeconfig: kubeconfigInNetns, startIn, log });
    }

    const startMs = Math.round(performance.now() - startedAt);
    writeFileSync(join(dir, 'started-in-ms'), `${startMs}\n`);

    const harness: KubernetesHarness = {
      mode: 'harness',
      kubeconfig: join(dir, 'kubeconfig'),
      kubeconfigInNetns,
      netns: run,
      nodeName: NODE_NAME,
      dir,
      api,
      kubectl: (args, opts = {}) => execFileResult([kubectlBinary(), `--kubeconfig=${join(dir, 'kubeconfig')}`, ...args], opts),
      exec: (argv, opts = {}) => execFileResult(inNetns(run, argv), opts),
      spawn: (name, argv, opts = {}) => startIn(name, argv, opts),
      forward: async (host, port) => {
        const f = await forward(relaySocket, { host, port });
        forwards.push(f);
        return f.port;
      },
      logTail: (component, lines) => lastLines(log(component), lines),
      stop,
    };
    return harness;
  } catch (err) {
    const logs = processes.map((p) => `--- ${p.name}\n${lastLines(p.log, 10)}`).join('\n');
    if (!api) api = new KubeRest({ server: 'https://127.0.0.1:1', ca: '', cert: '', key: '' });
    await stop();
    throw new Error(`${(err as Error).message}\n${logs}`);
  }
}

/** SLUICE_TEST_KUBECONFIG's cluster: kubectl and the kubeconfig work; nothing is started or stopped. */
async function existingCluster(kubeconfig: string): Promise<KubernetesHarness> {
  const { loadKubeRest } = await import('./kubeconfig.js');
  const api = loadKubeRest(kubeconfig);
  const notHere = (what: string) => (): never => {
    throw new Error(`${what} needs the harness's own network namespace, not an existing cluster`);
  };
  return {
    mode: 'existing',
    kubeconfig,
    kubeconfigInNetns: kubeconfig,
    nodeName: '',
    dir: dirname(kubeconfig),
    api,
    kubectl: (args, opts = {}) => execFileResult([kubectlBinary(), `--kubeconfig=${kubeconfig}`, ...args], opts),
    exec: (argv, opts = {}) => execFileResult(argv, opts),
    spawn: notHere('spawn()'),
    forward: notHere('forward()'),
    logTail: () => '',
    stop: async () => api.close(),
  };
}
