// The embedded Runtime: each instance of a revision is a child process on this machine, listening
// on 127.0.0.1 at a port Sluice picks (passed as PORT). Module map:
//   workload.ts  replica sets (scale up/down, victim choice)    instance.ts  process supervisor
//   probe.ts     readiness/liveness probes                       ports.ts     free-port allocation
//   logs.ts      per-instance log files                          usage.ts     CPU/memory sampling
//   pids.ts      no orphaned children                            env.ts       instance environment
//   backoff.ts   restart back-off and crash messages             pod.ts       containers of an instance
//   config-env.ts env from ConfigMaps/Secrets/downward API       volumes.ts   volumes and mounts (plan)
//   volume-files.ts the instance's own directory (volumes, mounts)

import fs from 'node:fs';
import path from 'node:path';
import type { LogOptions, ResourceUsage, Runtime, WorkloadSpec, WorkloadStatus } from '../runtime.js';
import type { ImageMapping } from '../image-map.js';
import { configRefKey, type ConfigSource } from '../config-refs.js';
import { DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
import type { Clock } from './instance.js';
import { DEFAULT_LOG_MAX_BYTES, type InstanceLog } from './logs.js';
import { PidFiles, type PidRecord } from './pids.js';
import { sampleProcess } from './usage.js';
import { Workload, type WorkloadContext } from './workload.js';

export interface LocalRuntimeOptions {
  /** Where logs (dataDir/logs) and pid records (dataDir/pids) live; also the default working directory. */
  dataDir: string;
  imageMappings: ImageMapping[];
  /** Address instances bind to and are reached at. Default 127.0.0.1. */
  host?: string;
  clock?: Clock;
  /** Like terminationGracePeriodSeconds: drain + SIGTERM budget before SIGKILL. Default 30000. */
  gracePeriodMs?: number;
  /** Restart back-off; defaults: initial 1000 ms, doubling to 60 s, reset after 60 s ready. */
  backoff?: Partial<BackoffOptions>;
  /** Size at which an instance's log file is rotated. Default 5 MiB. */
  logMaxBytes?: number;
  /** Variables every instance gets from the platform (read at each start; nothing overrides them). */
  platformEnv?: () => Record<string, string>;
  /** Where ConfigMaps and Secrets are read from (env references, volumes). Default: none exist. */
  config?: ConfigSource;
}

/** No ConfigMaps or Secrets at all (a runtime used without an API server). */
const NO_CONFIG: ConfigSource = { get: () => undefined, onChange: () => () => {} };

type Drainer = (key: string, instanceId: string) => Promise<void>;

export class LocalRuntime implements Runtime {
  private readonly workloads = new Map<string, Workload>();
  /** Removed workloads whose instances are still stopping. */
  private readonly removing = new Set<Workload>();
  private readonly listeners = new Set<(key: string) => void>();
  private drainer?: Drainer;
  private closed = false;
  /** Workloads by the ConfigMaps and Secrets they read (configRefKey), so a change finds them at once. */
  private readonly byConfig = new Map<string, Set<Workload>>();
  private readonly indexed = new Map<Workload, string[]>();
  private readonly stopConfigWatch: () => void;
  private readonly ctx: WorkloadContext;
  /** Processes a previous Sluice on this dataDir left behind, killed at construction. */
  readonly leftoversKilled: PidRecord[];

  constructor(opts: LocalRuntimeOptions) {
    const dataDir = path.resolve(opts.dataDir);
    fs.mkdirSync(dataDir, { recursive: true });
    const pids = new PidFiles(path.join(dataDir, 'pids'));
    this.leftoversKilled = pids.killLeftovers();
    // Instances' directories (volumes, emptyDir) belong to instances that are gone now.
    const instanceRoot = path.join(dataDir, 'instances');
    fs.rmSync(instanceRoot, { recursive: true, force: true });
    // Secret volumes are written below: only Sluice's own user may look in.
    fs.mkdirSync(instanceRoot, { mode: 0o700 });
    this.ctx = {
      host: opts.host ?? '127.0.0.1',
      dataDir,
      logRoot: path.join(dataDir, 'logs'),
      instanceRoot,
      config: opts.config ?? NO_CONFIG,
      logMaxBytes: opts.logMaxBytes ?? DEFAULT_LOG_MAX_BYTES,
      clock: opts.clock ?? { now: () => Date.now() },
      graceMs: opts.gracePeriodMs ?? 30_000,
      backoff: { ...DEFAULT_BACKOFF, ...(opts.backoff ?? {}) },
      pids,
      imageMappings: opts.imageMappings,
      baseEnv: process.env,
      platformEnv: opts.platformEnv ?? (() => ({})),
      emit: (key: string) => this.emit(key),
      drainer: () => this.drainer,
    };
    this.stopConfigWatch = this.ctx.config.onChange((kind, ns, name) => {
      for (const w of this.byConfig.get(configRefKey(ns, kind, name)) ?? []) w.configChanged();
    });
  }

  /** Files the workload under the configuration it reads now (none once `w` is removed). */
  private index(w: Workload, keys: string[]): void {
    for (const k of this.indexed.get(w) ?? []) {
      const set = this.byConfig.get(k);
      set?.delete(w);
      if (set?.size === 0) this.byConfig.delete(k);
    }
    if (keys.length === 0) this.indexed.delete(w);
    else this.indexed.set(w, keys);
    for (const k of keys) {
      let set = this.byConfig.get(k);
      if (!set) this.byConfig.set(k, (set = new Set()));
      set.add(w);
    }
  }

  private emit(key: string): void {
    for (const l of this.listeners) {
      try {
        l(key);
      } catch {
        // A failing listener must not break the supervisor or the other listeners.
      }
    }
  }

  async apply(spec: WorkloadSpec): Promise<void> {
    if (this.closed) return; // shutting down: start nothing new
    let w = this.workloads.get(spec.key);
    if (w) w.update(spec);
    else {
      w = new Workload(spec, this.ctx);
      this.workloads.set(spec.key, w);
    }
    this.index(w, w.configKeys());
    w.reconcile();
  }

  async remove(key: string): Promise<void> {
    const w = this.workloads.get(key);
    if (!w) return;
    this.workloads.delete(key);
    this.removing.add(w);
    this.index(w, []);
    this.emit(key);
    try {
      await w.stopAll(true);
      w.removeLogs();
    } finally {
      this.removing.delete(w);
    }
    this.emit(key);
  }

  status(key: string): WorkloadStatus | undefined {
    return this.workloads.get(key)?.status();
  }

  onChange(listener: (key: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  setDrainer(drain: Drainer): void {
    this.drainer = drain;
  }

  async logs(key: string, opts: LogOptions, write: (line: string) => void): Promise<() => void> {
    const w = this.workloads.get(key);
    if (!w) throw new Error(`no workload "${key}" in the local runtime`);
    const tail = opts.tailLines === undefined || opts.tailLines === null ? undefined : Math.max(0, Math.floor(Number(opts.tailLines)) || 0);
    const container = opts.container || w.servingContainer || '';
    const names = w.containerNames;
    // kubectl's wording for a pod.
    if (names.length > 0 && !names.includes(container))
      throw new Error(`container ${container} is not valid for revision ${w.key.split('/')[1]}: choose one of [${names.join(' ')}]`);
    const sources = w.logSources(container);
    let prefixed = sources.length > 1;
    const line = (log: InstanceLog, text: string) => (prefixed ? `[${log.id}] ${text}` : text);
    let stopped = false;
    const unsubscribe: (() => void)[] = [];
    const follow = (log: InstanceLog) => unsubscribe.push(log.follow((text) => !stopped && write(line(log, text))));
    // Reading and subscribing happen in the same tick and log writes are synchronous, so no line
    // is lost or repeated between the two.
    for (const log of sources) {
      for (const text of log.read(tail)) write(line(log, text));
      if (opts.follow) follow(log);
    }
    if (opts.follow) {
      unsubscribe.push(
        w.onNewLog((log) => {
          if (log.container !== container) return;
          prefixed = true;
          follow(log);
        }),
      );
    }
    return () => {
      stopped = true;
      for (const u of unsubscribe.splice(0)) u();
    };
  }

  async usage(key: string): Promise<ResourceUsage[]> {
    const w = this.workloads.get(key);
    if (!w) return [];
    const samples = await Promise.all(
      w.instances.map(async (i) => {
        const pid = i.pid;
        const u = pid === undefined ? undefined : await sampleProcess(pid);
        return u ? { id: i.id, cpuSeconds: u.cpuSeconds, rssBytes: u.rssBytes } : undefined;
      }),
    );
    return samples.filter((s): s is ResourceUsage => s !== undefined);
  }

  async shutdown(): Promise<void> {
    this.closed = true;
    this.stopConfigWatch();
    await Promise.all([...this.workloads.values(), ...this.removing].map((w) => w.stopAll(false)));
  }
}
