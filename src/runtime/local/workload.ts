// A workload is a revision's replica set: it keeps `replicas` instances running, picks which to
// stop on scale-down, and remembers the logs of recently exited instances.

import crypto from 'node:crypto';
import type { WorkloadFailure, WorkloadSpec, WorkloadStatus } from '../runtime.js';
import { configRefKey, type ConfigSource } from '../config-refs.js';
import type { ImageMapping } from '../image-map.js';
import type { BackoffOptions } from './backoff.js';
import { Instance, type Clock } from './instance.js';
import { instanceLogPath, InstanceLog } from './logs.js';
import type { PidFiles } from './pids.js';
import { makeTemplate, type LaunchTemplate } from './pod.js';
import { instanceDir, InstanceFiles } from './volume-files.js';

/** How many exited instances' logs stay readable through logs(). */
const KEEP_EXITED_LOGS = 5;

export interface WorkloadContext {
  host: string;
  dataDir: string;
  logRoot: string;
  /** Where instances' own directories (volumes, mounts) live. */
  instanceRoot: string;
  logMaxBytes: number;
  /** ConfigMaps and Secrets of the namespace (env references and volumes). */
  config: ConfigSource;
  clock: Clock;
  graceMs: number;
  backoff: BackoffOptions;
  pids: PidFiles;
  imageMappings: readonly ImageMapping[];
  /** Base environment the passthrough variables are taken from. */
  baseEnv: Record<string, string | undefined>;
  /** Variables the platform gives every instance (read at each start), e.g. the internal gateway's address. */
  platformEnv: () => Record<string, string>;
  emit(key: string): void;
  drainer(): ((key: string, instanceId: string) => Promise<void>) | undefined;
}

/**
 * Which instances to stop when scaling down by `n`: not-ready ones first (they serve nothing),
 * then the newest (the oldest have proven themselves and have warm caches).
 */
export function pickVictims<T extends { ready: boolean; createdAt: number }>(active: readonly T[], n: number): T[] {
  if (n <= 0) return [];
  return [...active].sort((a, b) => (a.ready === b.ready ? b.createdAt - a.createdAt : a.ready ? 1 : -1)).slice(0, n);
}

function shortId(): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789'; // Kubernetes' pod-suffix style: no vowels, no lookalikes
  const bytes = crypto.randomBytes(5);
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join('');
}

export class Workload {
  private spec: WorkloadSpec;
  private podJson: string;
  private template: LaunchTemplate | WorkloadFailure;
  readonly instances: Instance[] = [];
  private readonly exitedLogs: InstanceLog[] = [];
  /** The latest instance failure; cleared when any instance becomes ready. */
  private failure?: WorkloadFailure;
  // Made at first use: most workloads (revisions at zero) never have either.
  private logListeners: Set<(log: InstanceLog) => void> | null = null;
  private stops: Set<Promise<void>> | null = null;

  constructor(
    spec: WorkloadSpec,
    private readonly ctx: WorkloadContext,
  ) {
    this.spec = spec;
    this.podJson = podJsonOf(spec);
    this.template = makeTemplate(spec, ctx);
  }

  /** The ConfigMaps and Secrets the spec reads, as configRefKey()s (the runtime's index). */
  configKeys(): string[] {
    const t = this.template;
    return 'refs' in t ? t.refs.map((r) => configRefKey(this.spec.namespace, r.kind, r.name)) : [];
  }

  /** One of those changed: instances waiting for it start, running ones get new volume content. */
  configChanged(): void {
    for (const i of this.instances) i.configChanged();
  }

  get key(): string {
    return this.spec.key;
  }

  /** Takes a new desired state. A changed container (revisions are immutable, so rare) applies to new instances. */
  update(spec: WorkloadSpec): void {
    const json = podJsonOf(spec);
    let changed = spec.replicas !== this.spec.replicas;
    if (json !== this.podJson) {
      this.podJson = json;
      this.template = makeTemplate(spec, this.ctx);
      changed = true;
    }
    this.spec = spec;
    if (changed) this.ctx.emit(this.key);
  }

  private get desired(): number {
    const r = Number(this.spec.replicas);
    return Number.isFinite(r) && r > 0 ? Math.floor(r) : 0;
  }

  reconcile(): void {
    if (!('containers' in this.template)) return; // status() reports why nothing runs
    const active = this.instances.filter((i) => !i.isTerminating);
    for (let n = active.length; n < this.desired; n++) this.startInstance(this.template);
    for (const victim of pickVictims(active, active.length - this.desired)) void this.stopInstance(victim, true);
  }

  private newId(): string {
    const taken = new Set([...this.instances.map((i) => i.id), ...this.exitedLogs.map((l) => l.id)]);
    for (;;) {
      const id = `${this.spec.revision}-${shortId()}`;
      if (!taken.has(id)) return id;
    }
  }

  private startInstance(tpl: LaunchTemplate): void {
    const id = this.newId();
    const { namespace, revision } = this.spec;
    const logs = new Map<string, InstanceLog>();
    for (const c of tpl.containers) {
      const file = instanceLogPath(this.ctx.logRoot, namespace, revision, id, c.serving ? undefined : c.name);
      logs.set(c.name, new InstanceLog(id, file, this.ctx.logMaxBytes, c.name));
    }
    const inst = new Instance(id, tpl, {
      host: this.ctx.host,
      clock: this.ctx.clock,
      graceMs: this.ctx.graceMs,
      backoff: this.ctx.backoff,
      pids: this.ctx.pids,
      logs,
      files: new InstanceFiles(instanceDir(this.ctx.instanceRoot, namespace, revision, id)),
      changed: () => this.ctx.emit(this.key),
      failed: (f) => {
        this.failure = f;
      },
      becameReady: () => {
        this.failure = undefined;
      },
    });
    this.instances.push(inst);
    for (const log of logs.values()) for (const l of this.logListeners ?? []) l(log);
    inst.start();
    this.ctx.emit(this.key);
  }

  private stopInstance(inst: Instance, useDrainer: boolean): Promise<void> {
    const drainer = useDrainer ? this.ctx.drainer() : undefined;
    const p = inst.stop(drainer ? () => drainer(this.key, inst.id) : undefined).then(() => {
      const i = this.instances.indexOf(inst);
      if (i !== -1) {
        this.instances.splice(i, 1);
        inst.files.remove(); // emptyDir and the volumes' copies go with the instance, as with a pod
        for (const log of inst.logs) {
          log.close();
          this.exitedLogs.push(log);
        }
        const keep = KEEP_EXITED_LOGS * Math.max(1, inst.logs.length);
        while (this.exitedLogs.length > keep) this.exitedLogs.shift()!.remove();
        this.ctx.emit(this.key);
      }
    });
    const stops = (this.stops ??= new Set());
    stops.add(p);
    void p.finally(() => stops.delete(p));
    return p;
  }

  /** Stops every instance; with `drain`, each goes through the drain hook first. */
  async stopAll(drain: boolean): Promise<void> {
    await Promise.all([...this.instances.map((i) => this.stopInstance(i, drain)), ...(this.stops ?? [])]);
  }

  /** Deletes every log file of this workload (it was removed). */
  removeLogs(): void {
    for (const l of this.exitedLogs.splice(0)) l.remove();
    for (const i of this.instances) for (const l of i.logs) l.remove();
  }

  /** The container logs() shows by default: the serving one. */
  get servingContainer(): string | undefined {
    const t = this.template;
    return 'containers' in t ? t.containers.find((c) => c.serving)?.name : undefined;
  }

  /** The names of the spec's containers. */
  get containerNames(): string[] {
    const t = this.template;
    return 'containers' in t ? t.containers.map((c) => c.name) : [];
  }

  /** One container's logs: recently exited instances, then current ones, oldest first. */
  logSources(container: string): InstanceLog[] {
    return [...this.exitedLogs, ...this.instances.flatMap((i) => i.logs)].filter((l) => l.container === container);
  }

  onNewLog(fn: (log: InstanceLog) => void): () => void {
    const listeners = (this.logListeners ??= new Set());
    listeners.add(fn);
    return () => listeners.delete(fn);
  }

  status(): WorkloadStatus {
    const instances = this.instances.map((i) => i.status());
    const readyReplicas = instances.filter((i) => i.ready).length;
    // A spec that cannot run at all outranks what its instances did. An instance crash only counts
    // while nothing is ready (as in Knative): a restart next to healthy replicas is not a failure.
    const failure = !('containers' in this.template) ? this.template : readyReplicas === 0 ? this.failure : undefined;
    return {
      key: this.key,
      replicas: this.desired,
      readyReplicas,
      instances,
      ...(failure ? { failure: { ...failure } } : {}),
    };
  }
}

/**
 * What makes a new template necessary: the pod spec and the serving container. Not the labels:
 * Knative's labeler rewrites a revision's routing labels as traffic moves, and a pod keeps the
 * labels it was created with (the downward API shows those of the workload's first spec).
 */
/**
 * A digest of what instances are started from, to see whether an update changed it, instead of
 * keeping that JSON for every workload (most of them at zero, with 10,000 revisions).
 */
function podJsonOf(spec: WorkloadSpec): string {
  return crypto
    .createHash('sha256')
    .update(JSON.stringify([spec.podSpec ?? null, spec.container]))
    .digest('base64');
}
