// One pod on the test node: its own network namespace with a pod IP on the run's bridge, its containers
// (container.ts), and its status written back to the apiserver (batched, one write in flight). Deletion
// follows the kubelet: on deletionTimestamp every container gets preStop, SIGTERM and, when the grace
// period is over, SIGKILL; then the final status is written and the pod deleted with grace period 0.

import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ImageMapping } from '../../../../src/runtime/image-map.js';
import { isResolveError, resolveCommand } from '../../../../src/runtime/image-map.js';
import type { KubeRest } from '../kube-rest.js';
import { createPodNetns, destroyNetnsSync } from '../netns.js';
import { ContainerRunner } from './container.js';
import { resolveEnv, type EnvSource } from './env.js';
import { podPhase, podStatusJson, type CrashBackoff, type PodRecord } from './status.js';

export interface NodeContext {
  api: KubeRest;
  nodeName: string;
  nodeIp: string;
  runNetns: string;
  dir: string;
  mappings: ImageMapping[];
  backoff: CrashBackoff;
  env: EnvSource;
  /** the apiserver as a pod sees it (no kube-proxy here: its own address, not the Service IP) */
  apiserver: { host: string; port: number };
  allocateIp(): { ip: string; index: number };
  releaseIp(index: number): void;
  log(line: string): void;
}

export class PodWorker {
  readonly runners: ContainerRunner[] = [];
  private readonly record: PodRecord;
  private readonly transitions = new Map<string, { ok: boolean; at: string }>();
  private netns?: string;
  private ipIndex?: number;
  private pushing = false;
  private dirty = false;
  private pushTimer?: NodeJS.Timeout;
  private terminating?: Promise<void>;
  private gone = false;
  readonly podDir: string;

  constructor(
    private pod: any,
    private readonly ctx: NodeContext,
  ) {
    this.record = {
      hostIp: ctx.nodeIp,
      startTime: new Date().toISOString(),
      containers: [],
      restartPolicy: pod.spec.restartPolicy ?? 'Always',
      initialized: false,
    };
    const m = pod.metadata;
    this.podDir = join(ctx.dir, 'pods', `${m.namespace}_${m.name}_${m.uid}`);
  }

  get key(): string {
    return `${this.pod.metadata.namespace}/${this.pod.metadata.name}`;
  }

  get uid(): string {
    return this.pod.metadata.uid;
  }

  container(name: string): ContainerRunner | undefined {
    return this.runners.find((r) => r.spec.name === name);
  }

  update(pod: any): void {
    this.pod = pod;
    if (pod.metadata.deletionTimestamp) void this.terminate();
  }

  async start(): Promise<void> {
    const { ip, index } = this.ctx.allocateIp();
    this.ipIndex = index;
    const netns = `${this.ctx.runNetns}-p${index}`;
    this.netns = netns;
    mkdirSync(this.podDir, { recursive: true });
    try {
      await createPodNetns(this.ctx.runNetns, netns, index, ip);
    } catch (err) {
      this.ctx.log(`pod ${this.key}: network setup failed: ${(err as Error).message}`);
      this.ctx.releaseIp(index);
      this.ipIndex = undefined;
      throw err;
    }
    if (this.gone) {
      // Deleted or stopped while its network was being set up (cleanup() may have run before it existed).
      destroyNetnsSync(netns);
      if (this.ipIndex === index) this.ctx.releaseIp(index);
      this.ipIndex = undefined;
      return;
    }
    this.record.podIp = ip;
    const graceMs = Number(this.pod.spec.terminationGracePeriodSeconds ?? 30) * 1000;
    for (const spec of this.pod.spec.containers ?? []) {
      const runner = new ContainerRunner(spec, {
        podNetns: netns,
        podIp: ip,
        podDir: this.podDir,
        restartPolicy: this.record.restartPolicy,
        backoff: this.ctx.backoff,
        graceMs,
        changed: () => this.changed(),
        prepare: () => this.prepare(spec, ip),
      });
      this.runners.push(runner);
      this.record.containers.push(runner.record);
    }
    this.changed();
    await Promise.all(this.runners.map((r) => r.start()));
    this.record.initialized = true;
    this.changed();
  }

  private async prepare(spec: any, podIp: string): Promise<{ argv: string[]; cwd: string; env: Record<string, string> }> {
    const resolved = resolveCommand(spec, this.ctx.mappings);
    if (isResolveError(resolved)) throw new Error(resolved.error.message);
    const m = this.pod.metadata;
    const env = await resolveEnv(
      spec,
      {
        namespace: m.namespace,
        name: m.name,
        uid: m.uid,
        labels: m.labels ?? {},
        annotations: m.annotations ?? {},
        nodeName: this.ctx.nodeName,
        serviceAccountName: this.pod.spec.serviceAccountName ?? 'default',
        podIP: podIp,
        hostIP: this.ctx.nodeIp,
      },
      this.ctx.env,
      {
        HOSTNAME: m.name,
        KUBERNETES_SERVICE_HOST: this.ctx.apiserver.host,
        KUBERNETES_SERVICE_PORT: String(this.ctx.apiserver.port),
        KUBERNETES_SERVICE_PORT_HTTPS: String(this.ctx.apiserver.port),
        ...resolved.env,
      },
    );
    return { argv: resolved.command, cwd: resolved.workingDir ?? this.podDir, env };
  }

  private since(type: string, ok: boolean): string {
    const prev = this.transitions.get(type);
    if (prev && prev.ok === ok) return prev.at;
    const at = new Date().toISOString();
    this.transitions.set(type, { ok, at });
    return at;
  }

  /** Marks the status dirty; writes are batched a few ms and never overlap. */
  changed(): void {
    this.dirty = true;
    if (this.pushing || this.pushTimer || this.gone) return;
    this.pushTimer = setTimeout(() => {
      this.pushTimer = undefined;
      void this.push();
    }, 5);
  }

  private async push(): Promise<void> {
    if (this.gone) return;
    this.pushing = true;
    try {
      while (this.dirty && !this.gone) {
        this.dirty = false;
        const status = podStatusJson(this.record, (t, ok) => this.since(t, ok));
        const m = this.pod.metadata;
        const r = await this.ctx.api.request(
          'PATCH',
          `/api/v1/namespaces/${m.namespace}/pods/${m.name}/status`,
          { metadata: { uid: m.uid }, status },
          'application/strategic-merge-patch+json',
        );
        if (r.status === 404) this.gone = true;
        else if (r.status >= 300) this.ctx.log(`pod ${this.key}: status update failed: ${r.status} ${r.body?.message ?? ''}`);
      }
    } catch (err) {
      this.ctx.log(`pod ${this.key}: status update failed: ${(err as Error).message}`);
      this.dirty = true;
      setTimeout(() => this.changed(), 500);
    } finally {
      this.pushing = false;
    }
  }

  /** Graceful deletion, as the kubelet does it; idempotent. */
  terminate(): Promise<void> {
    this.terminating ??= (async () => {
      const m = this.pod.metadata;
      const graceSeconds = Number(m.deletionGracePeriodSeconds ?? this.pod.spec.terminationGracePeriodSeconds ?? 30);
      const deadline = Date.now() + graceSeconds * 1000;
      await Promise.all(this.runners.map((r) => r.terminate(deadline)));
      this.changed();
      await this.flush();
      const r = await this.ctx.api.request('DELETE', `/api/v1/namespaces/${m.namespace}/pods/${m.name}`, {
        apiVersion: 'v1',
        kind: 'DeleteOptions',
        gracePeriodSeconds: 0,
        preconditions: { uid: m.uid },
      });
      if (r.status >= 300 && r.status !== 404 && r.status !== 409) {
        this.ctx.log(`pod ${this.key}: final delete failed: ${r.status} ${r.body?.message ?? ''}`);
      }
      this.cleanup();
    })();
    return this.terminating;
  }

  private async flush(): Promise<void> {
    for (let i = 0; i < 100 && (this.dirty || this.pushing || this.pushTimer); i++) await new Promise((r) => setTimeout(r, 10));
  }

  get finished(): boolean {
    const phase = podPhase(this.record);
    return phase === 'Succeeded' || phase === 'Failed';
  }

  /** Stops at once: the pod object is gone, or the node shuts down. */
  async kill(): Promise<void> {
    this.gone = true;
    clearTimeout(this.pushTimer);
    await Promise.all(this.runners.map((r) => r.killNow()));
    this.cleanup();
  }

  private cleanup(): void {
    this.gone = true;
    // Forget the names at once: a later pod may be given the same IP index and namespace name.
    if (this.netns) destroyNetnsSync(this.netns);
    this.netns = undefined;
    if (this.ipIndex !== undefined) this.ctx.releaseIp(this.ipIndex);
    this.ipIndex = undefined;
    rmSync(this.podDir, { recursive: true, force: true });
  }
}
