// The test node itself: registers its Node (Ready, capacity, InternalIP, kubelet port), keeps it
// fresh, and runs the Pods the scheduler binds to it (a list, then a watch from its resourceVersion,
// relisting when the watch ends or fails). Each pod is a PodWorker (pod.ts).

import type { ImageMapping } from '../../../../src/runtime/image-map.js';
import { KubeError, type KubeRest, type WatchEvent } from '../kube-rest.js';
import { PodWorker, type NodeContext } from './pod.js';
import { KUBELET_BACKOFF } from './status.js';

export interface AgentOptions {
  api: KubeRest;
  nodeName: string;
  nodeIp: string;
  runNetns: string;
  dir: string;
  mappings: ImageMapping[];
  apiserver: { host: string; port: number };
  kubeletPort: number;
  version: string;
  log(line: string): void;
}

function decodeData(data: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
}

export class NodeAgent {
  readonly pods = new Map<string, PodWorker>();
  private readonly usedIps = new Set<number>();
  private readonly abort = new AbortController();
  private heartbeat?: NodeJS.Timeout;
  private readonly ctx: NodeContext;

  constructor(private readonly o: AgentOptions) {
    const api = o.api;
    this.ctx = {
      api,
      nodeName: o.nodeName,
      nodeIp: o.nodeIp,
      runNetns: o.runNetns,
      dir: o.dir,
      mappings: o.mappings,
      backoff: KUBELET_BACKOFF,
      apiserver: o.apiserver,
      log: o.log,
      env: {
        configMap: async (ns, name) => {
          const r = await api.request('GET', `/api/v1/namespaces/${ns}/configmaps/${name}`);
          return r.status === 200 ? { ...(r.body.data ?? {}) } : undefined;
        },
        secret: async (ns, name) => {
          const r = await api.request('GET', `/api/v1/namespaces/${ns}/secrets/${name}`);
          return r.status === 200 ? { ...decodeData(r.body.data), ...(r.body.stringData ?? {}) } : undefined;
        },
      },
      // Pod IPs 10.244.1.0 upwards (10.244.0.0/24 is the node's own): index k is 10.244.(1 + k/256).(k%256).
      allocateIp: () => {
        let k = 2;
        while (this.usedIps.has(k)) k++;
        this.usedIps.add(k);
        return { ip: `10.244.${1 + Math.floor(k / 256)}.${k % 256}`, index: k };
      },
      releaseIp: (k) => this.usedIps.delete(k),
    };
  }

  private nodeStatus(): Record<string, unknown> {
    const now = new Date().toISOString();
    const cond = (type: string, status: string, reason: string, message: string) => ({
      type,
      status,
      reason,
      message,
      lastHeartbeatTime: now,
      lastTransitionTime: this.registeredAt,
    });
    const resources = { cpu: '2', memory: '8Gi', pods: '110', 'ephemeral-storage': '20Gi' };
    return {
      capacity: resources,
      allocatable: resources,
      conditions: [
        cond('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'test node has sufficient memory available'),
        cond('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'test node has no disk pressure'),
        cond('PIDPressure', 'False', 'KubeletHasSufficientPID', 'test node has sufficient PID available'),
        cond('Ready', 'True', 'KubeletReady', 'test node is posting ready status'),
      ],
      addresses: [
        { type: 'InternalIP', address: this.o.nodeIp },
        { type: 'Hostname', address: this.o.nodeName },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: this.o.kubeletPort } },
      nodeInfo: {
        machineID: '',
        systemUUID: '',
        bootID: '',
        kernelVersion: '',
        osImage: 'Sluice test node (processes in network namespaces)',
        containerRuntimeVersion: 'sluice-test-node://1',
        kubeletVersion: this.o.version,
        kubeProxyVersion: '',
        operatingSystem: 'linux',
        architecture: process.arch === 'x64' ? 'amd64' : process.arch,
      },
    };
  }

  private registeredAt = new Date().toISOString();

  async register(): Promise<void> {
    const api = this.o.api;
    const name = this.o.nodeName;
    const body = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name,
        labels: {
          'kubernetes.io/hostname': name,
          'kubernetes.io/os': 'linux',
          'kubernetes.io/arch': process.arch === 'x64' ? 'amd64' : process.arch,
        },
      },
      spec: {},
    };
    const r = await api.request('POST', '/api/v1/nodes', body);
    if (r.status !== 201 && r.status !== 409) throw new KubeError(r.status, r.body, 'register node');
    await this.postStatus();
    this.heartbeat = setInterval(() => void this.postStatus().catch((e: Error) => this.o.log(`node status: ${e.message}`)), 10_000);
  }

  private async postStatus(): Promise<void> {
    await this.o.api.must(
      'PATCH',
      `/api/v1/nodes/${this.o.nodeName}/status`,
      { status: this.nodeStatus() },
      'application/strategic-merge-patch+json',
    );
  }

  /** Lists and watches this node's pods until stop(). */
  async run(): Promise<void> {
    const selector = encodeURIComponent(`spec.nodeName=${this.o.nodeName}`);
    while (!this.abort.signal.aborted) {
      try {
        const list = await this.o.api.must('GET', `/api/v1/pods?fieldSelector=${selector}`);
        const seen = new Set<string>();
        for (const pod of list.items ?? []) {
          seen.add(pod.metadata.uid);
          this.observe('MODIFIED', pod);
        }
        for (const [uid, w] of this.pods) if (!seen.has(uid)) this.forget(uid, w);
        let rv: string = list.metadata.resourceVersion;
        let expired = false;
        while (!this.abort.signal.aborted && !expired) {
          await this.o.api.watch(
            `/api/v1/pods?watch=true&allowWatchBookmarks=true&fieldSelector=${selector}&resourceVersion=${rv}&timeoutSeconds=300`,
            (e: WatchEvent) => {
              if (e.type === 'ERROR') {
                expired = true;
                return;
              }
              rv = e.object?.metadata?.resourceVersion ?? rv;
              if (e.type !== 'BOOKMARK') this.observe(e.type, e.object);
            },
            this.abort.signal,
          );
        }
      } catch (err) {
        if (this.abort.signal.aborted) break;
        this.o.log(`pod watch: ${(err as Error).message}; relisting`);
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  private forget(uid: string, w: PodWorker): void {
    this.pods.delete(uid);
    void w.kill();
  }

  private observe(type: string, pod: any): void {
    const uid: string = pod.metadata.uid;
    const known = this.pods.get(uid);
    if (type === 'DELETED') {
      if (known) this.forget(uid, known);
      return;
    }
    if (known) {
      known.update(pod);
      return;
    }
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') return;
    const worker = new PodWorker(pod, this.ctx);
    this.pods.set(uid, worker);
    if (pod.metadata.deletionTimestamp) {
      // Deleted before it ever ran here: nothing to stop, just confirm the deletion.
      void worker.terminate();
      return;
    }
    worker.start().catch((err: Error) => this.o.log(`pod ${worker.key}: ${err.message}`));
  }

  find(namespace: string, name: string): PodWorker | undefined {
    for (const w of this.pods.values()) if (w.key === `${namespace}/${name}`) return w;
    return undefined;
  }

  /** Stops every pod at once (the run is over) and the watch. */
  async stop(): Promise<void> {
    this.abort.abort();
    clearInterval(this.heartbeat);
    await Promise.all([...this.pods.values()].map((w) => w.kill()));
    this.pods.clear();
  }
}
