// A workload is a revision's replica set: it keeps `replicas` instances running, picks which to
// stop on scale-down, and remembers the logs of recently exited instances.

import crypto from 'node:crypto';
import path from 'node:path';
import type { WorkloadFailure, WorkloadSpec, WorkloadStatus } from '../runtime.js';
import { isResolveError, resolveCommand, type ImageMapping } from '../image-map.js';
import type { BackoffOptions } from './backoff.js';
import { buildEnv } from './env.js';
import { Instance, type Clock, type LaunchTemplate } from './instance.js';
import { instanceLogPath, InstanceLog } from './logs.js';
import type { PidFiles } from './pids.js';
import { normalizeProbe } from './probe.js';

/** How many exited instances' logs stay readable through logs(). */
const KEEP_EXITED_LOGS = 5;

export interface WorkloadContext {
  host: string;
  dataDir: string;
  logRoot: string;
  logMaxBytes: number;
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

/** Works out how to launch the spec's container, or why it cannot be launched. */
export function makeTemplate(
  spec: WorkloadSpec,
  ctx: Pick<WorkloadContext, 'imageMappings' | 'dataDir' | 'host' | 'baseEnv' | 'platformEnv'>,
): LaunchTemplate | WorkloadFailure {
  const c = spec.container;
  const resolved = resolveCommand(c, ctx.imageMappings);
  if (isResolveError(resolved)) return { reason: resolved.error.reason, message: resolved.error.message };
  const readiness = normalizeProbe(c.readinessProbe, c.ports, 'readinessProbe');
  if ('error' in readiness) return { reason: 'InvalidProbe', message: readiness.error };
  let liveness;
  if (c.livenessProbe) {
    liveness = normalizeProbe(c.livenessProbe, c.ports, 'livenessProbe');
    if ('error' in liveness) return { reason: 'InvalidProbe', message: liveness.error };
  }
  const platform = (port: number): Record<string, string> => ({
    ...ctx.platformEnv(),
    PORT: String(port),
    HOST: ctx.host,
    K_REVISION: spec.revision,
    K_CONFIGURATION: spec.configuration,
    ...(spec.service ? { K_SERVICE: spec.service } : {}),
  });
  const envInput = { base: ctx.baseEnv, mappingEnv: resolved.env, containerEnv: c.env };
  // The env only depends on the port through $(PORT) references, so one check covers every start.
  const check = buildEnv({ ...envInput, platform: platform(0) });
  if ('error' in check) return { reason: 'CreateContainerConfigError', message: check.error };
  return {
    key: spec.key,
    command: resolved.command,
    // A relative workingDir is taken relative to where Sluice was started.
    cwd: resolved.workingDir ? path.resolve(resolved.workingDir) : ctx.dataDir,
    envFor: (port) => {
      const r = buildEnv({ ...envInput, platform: platform(port) });
      return 'env' in r ? r.env : {};
    },
    readiness,
    ...(liveness ? { liveness } : {}),
  };
}

function shortId(): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789'; // Kubernetes' pod-suffix style: no vowels, no lookalikes
  const bytes = crypto.randomBytes(5);
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join('');
}

export class Workload {
  private spec: WorkloadSpec;
  private containerJson: string;
  private template: LaunchTemplate | WorkloadFailure;
  readonly instances: Instance[] = [];
  private readonly exitedLogs: InstanceLog[] = [];
  /** The latest instance failure; cleared when any instance becomes ready. */
  private failure?: WorkloadFailure;
  private readonly logListeners = new Set<(log: InstanceLog) => void>();
  private readonly stops = new Set<Promise<void>>();

  constructor(
    spec: WorkloadSpec,
    private readonly ctx: WorkloadContext,
  ) {
    this.spec = spec;
    this.containerJson = JSON.stringify(spec.container);
    this.template = makeTemplate(spec, ctx);
  }

  get key(): string {
    return this.spec.key;
  }

  /** Takes a new desired state. A changed container (revisions are immutable, so rare) applies to new instances. */
  update(spec: WorkloadSpec): void {
    const json = JSON.stringify(spec.container);
    let changed = spec.replicas !== this.spec.replicas;
    if (json !== this.containerJson) {
      this.containerJson = json;
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
    if (!('command' in this.template)) return; // status() reports why nothing runs
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
    const log = new InstanceLog(id, instanceLogPath(this.ctx.logRoot, this.spec.namespace, this.spec.revision, id), this.ctx.logMaxBytes);
    const inst = new Instance(id, tpl, {
      host: this.ctx.host,
      clock: this.ctx.clock,
      graceMs: this.ctx.graceMs,
      backoff: this.ctx.backoff,
      pids: this.ctx.pids,
      log,
      changed: () => this.ctx.emit(this.key),
      failed: (f) => {
        this.failure = f;
      },
      becameReady: () => {
        this.failure = undefined;
      },
    });
    this.instances.push(inst);
    for (const l of this.logListeners) l(log);
    inst.start();
    this.ctx.emit(this.key);
  }

  private stopInstance(inst: Instance, useDrainer: boolean): Promise<void> {
    const drainer = useDrainer ? this.ctx.drainer() : undefined;
    const p = inst.stop(drainer ? () => drainer(this.key, inst.id) : undefined).then(() => {
      const i = this.instances.indexOf(inst);
      if (i !== -1) {
        this.instances.splice(i, 1);
        inst.log.close();
        this.exitedLogs.push(inst.log);
        while (this.exitedLogs.length > KEEP_EXITED_LOGS) this.exitedLogs.shift()!.remove();
        this.ctx.emit(this.key);
      }
    });
    this.stops.add(p);
    void p.finally(() => this.stops.delete(p));
    return p;
  }

  /** Stops every instance; with `drain`, each goes through the drain hook first. */
  async stopAll(drain: boolean): Promise<void> {
    await Promise.all([...this.instances.map((i) => this.stopInstance(i, drain)), ...this.stops]);
  }

  /** Deletes every log file of this workload (it was removed). */
  removeLogs(): void {
    for (const l of this.exitedLogs.splice(0)) l.remove();
    for (const i of this.instances) i.log.remove();
  }

  /** Logs of recently exited instances, then of current ones, oldest first. */
  logSources(): InstanceLog[] {
    return [...this.exitedLogs, ...this.instances.map((i) => i.log)];
  }

  onNewLog(fn: (log: InstanceLog) => void): () => void {
    this.logListeners.add(fn);
    return () => this.logListeners.delete(fn);
  }

  status(): WorkloadStatus {
    const instances = this.instances.map((i) => i.status());
    const readyReplicas = instances.filter((i) => i.ready).length;
    // A spec that cannot run at all outranks what its instances did. An instance crash only counts
    // while nothing is ready (as in Knative): a restart next to healthy replicas is not a failure.
    const failure = !('command' in this.template) ? this.template : readyReplicas === 0 ? this.failure : undefined;
    return {
      key: this.key,
      replicas: this.desired,
      readyReplicas,
      instances,
      ...(failure ? { failure: { ...failure } } : {}),
    };
  }
}
