// One instance: the processes of a pod's containers plus their probes, started, probed and stopped
// together, and restarted together with back-off when one dies on its own (Kubernetes restarts
// only the container that exited; a local instance restarts as a whole, since every start gets a
// fresh port). The instance id stays the same across restarts (like a pod whose containers
// restart); each start gets a fresh port, so a port stolen in the allocation window costs one
// restart, no more. An instance is ready when every container is: the serving container's
// readiness probe (Knative's TCP check by default) and each sidecar's own, if it has one.

import { spawn, type ChildProcess } from 'node:child_process';
import { clampDelay } from '../../timers.js';
import fs from 'node:fs';
import type { InstancePhase, InstanceStatus, WorkloadFailure } from '../runtime.js';
import { backoffDelay, crashFailure, describeExit, nextStreak, type BackoffOptions } from './backoff.js';
import { ConfigError } from './config-env.js';
import type { InstanceLog } from './logs.js';
import { isAlive, signalGroup, trackGroup, untrackGroup, type PidFiles } from './pids.js';
import type { LaunchTemplate, PreparedContainer } from './pod.js';
import { allocatePort, releasePort } from './ports.js';
import { ProbeLoop } from './probe.js';
import type { InstanceFiles } from './volume-files.js';

export interface Clock {
  now(): number;
}

export interface InstanceDeps {
  host: string;
  clock: Clock;
  graceMs: number;
  backoff: BackoffOptions;
  pids: PidFiles;
  /** One log per container, by container name. */
  logs: ReadonlyMap<string, InstanceLog>;
  files: InstanceFiles;
  /** Phase or readiness changed. */
  changed(): void;
  /** The process failed (crash, failed start, liveness kill, missing configuration). */
  failed(f: WorkloadFailure): void;
  /** Became ready (clears the workload's failure). */
  becameReady(): void;
}

/** One container's process in a start. */
interface Proc {
  name: string;
  serving: boolean;
  child?: ChildProcess;
  pid?: number;
  ended: boolean;
  ready: boolean;
  readiness?: ProbeLoop;
  liveness?: ProbeLoop;
}

/** State of one start of the instance. */
interface Run {
  port: number;
  procs: Proc[];
  ended: boolean;
  exited: Promise<void>;
  markExited(): void;
  killTimer?: NodeJS.Timeout;
  /** Set when Sluice killed it because liveness failed. */
  livenessFailure?: string;
  /** The first container that ended by itself, and how. */
  firstExit?: { name: string; code: number | null; signal: NodeJS.Signals | null; startError?: string };
}

const FAILURE_LOG_LINES = 5;
/** How long to wait for stdout/stderr to close after the process exited. */
const STDIO_GRACE_MS = 1000;
/** When one container ended, how long the others get after SIGTERM before the restart kills them. */
const SIBLING_GRACE_MS = 2000;

export class Instance {
  phase: InstancePhase = 'starting';
  ready = false;
  restarts = 0;
  startedAt: number;
  readyAt?: number;
  readonly createdAt: number;
  private run?: Run;
  private terminating = false;
  private stopping?: Promise<void>;
  private endDrainEarly?: () => void;
  private streak = 0;
  private readySince?: number;
  private restartTimer?: NodeJS.Timeout;
  /** Waiting for a ConfigMap or Secret (CreateContainerConfigError / FailedMount). */
  private waitingForConfig = false;

  constructor(
    readonly id: string,
    private readonly tpl: LaunchTemplate,
    private readonly deps: InstanceDeps,
  ) {
    this.createdAt = this.startedAt = deps.clock.now();
  }

  /** The logs of the instance's containers, in pod spec order. */
  get logs(): InstanceLog[] {
    return [...this.deps.logs.values()];
  }

  get files(): InstanceFiles {
    return this.deps.files;
  }

  /** The serving container's process (what usage() samples). */
  get pid(): number | undefined {
    const p = this.run && !this.run.ended ? this.run.procs.find((x) => x.serving) : undefined;
    return p && !p.ended ? p.pid : undefined;
  }

  get isTerminating(): boolean {
    return this.terminating;
  }

  status(): InstanceStatus {
    return {
      id: this.id,
      host: this.deps.host,
      port: this.run?.port ?? 0,
      phase: this.phase,
      ready: this.ready,
      restarts: this.restarts,
      ...(this.pid !== undefined ? { pid: this.pid } : {}),
      startedAt: this.startedAt,
      ...(this.readyAt !== undefined ? { readyAt: this.readyAt } : {}),
    };
  }

  start(): void {
    void this.launch();
  }

  /**
   * A ConfigMap or Secret the spec reads changed: an instance waiting for it starts now; a running
   * one gets its volumes' new content (env stays as it was, as in Kubernetes).
   */
  configChanged(): void {
    if (this.terminating) return;
    if (this.waitingForConfig) {
      clearTimeout(this.restartTimer);
      this.restartTimer = undefined;
      void this.launch();
      return;
    }
    if (!this.run || this.run.ended) return;
    try {
      this.deps.files.writeVolumes(this.tpl.volumes(this.id));
    } catch (err) {
      // Deleted or broken (or the disk refused): the kubelet keeps the last content it wrote, and
      // says so in the pod's events; so do we, in the instance's log.
      const serving = this.tpl.containers.find((c) => c.serving)?.name ?? '';
      this.deps.logs.get(serving)?.note(`sluice: volumes not updated: ${(err as Error).message}`);
    }
  }

  private setPhase(phase: InstancePhase, ready: boolean): void {
    if (this.phase === phase && this.ready === ready) return;
    this.phase = phase;
    this.ready = ready;
    this.deps.changed();
  }

  private async launch(): Promise<void> {
    this.startedAt = this.deps.clock.now();
    this.readyAt = undefined;
    this.waitingForConfig = false;
    this.setPhase('starting', false);
    // Configuration first (synchronously, so a spec that names a missing ConfigMap fails at once).
    let resolved;
    try {
      resolved = this.tpl.resolve(this.id);
    } catch (err) {
      if (err instanceof ConfigError) this.configFailed(err);
      else this.crashed(`cannot read the instance's configuration: ${(err as Error).message}`, 'StartError');
      return;
    }
    let port: number;
    try {
      port = await allocatePort(this.deps.host);
    } catch (err) {
      this.crashed(`could not allocate a port: ${(err as Error).message}`, 'StartError');
      return;
    }
    if (this.terminating) {
      releasePort(port);
      return;
    }
    let prepared: PreparedContainer[];
    try {
      prepared = this.tpl.prepare(resolved, port, this.deps.files);
    } catch (err) {
      releasePort(port);
      if (err instanceof ConfigError) this.configFailed(err);
      else this.crashed(`cannot prepare the instance's files: ${(err as Error).message}`, 'StartError');
      return;
    }
    let markExited!: () => void;
    const exited = new Promise<void>((r) => (markExited = r));
    const run: Run = {
      port,
      procs: prepared.map((p) => ({ name: p.name, serving: p.serving, ended: false, ready: !p.readiness })),
      ended: false,
      exited,
      markExited,
    };
    this.run = run;
    for (const [i, p] of prepared.entries()) {
      if (run.ended || run.firstExit) break;
      this.spawnContainer(run, run.procs[i], p);
    }
    if (!run.ended) this.deps.changed(); // pids and port are known now
  }

  private logOf(name: string): InstanceLog {
    return this.deps.logs.get(name)!;
  }

  private pidRecordId(proc: Proc): string {
    return proc.serving ? this.id : `${this.id}.${proc.name}`;
  }

  private spawnContainer(run: Run, proc: Proc, p: PreparedContainer): void {
    const log = this.logOf(p.name);
    // Node reports a missing cwd as "spawn <program> ENOENT", which points at the wrong thing.
    if (!fs.statSync(p.cwd, { throwIfNoEntry: false })?.isDirectory()) {
      this.procEnded(run, proc, null, null, `working directory ${p.cwd} does not exist`);
      return;
    }
    let child: ChildProcess;
    try {
      child = spawn(p.argv[0], p.argv.slice(1), {
        cwd: p.cwd,
        env: p.env,
        detached: true, // own process group; see pids.ts
        stdio: ['ignore', 'pipe', 'pipe'],
        windowsHide: true,
      });
    } catch (err) {
      this.procEnded(run, proc, null, null, `cannot start ${JSON.stringify(p.argv[0])}: ${(err as Error).message}`);
      return;
    }
    proc.child = child;
    proc.pid = child.pid;
    child.stdout?.on('data', (c: Buffer) => log.write('stdout', c));
    child.stderr?.on('data', (c: Buffer) => log.write('stderr', c));
    child.on('error', (err: NodeJS.ErrnoException) => {
      // Spawn failures (ENOENT, EACCES) arrive here with no pid and no exit event.
      if (child.pid === undefined) {
        const why = err.code === 'ENOENT' ? `command not found: ${p.argv[0]} (is it installed and on PATH?)` : err.message;
        this.procEnded(run, proc, null, null, `cannot start ${JSON.stringify(p.argv[0])}: ${why}`);
      }
    });
    child.once('exit', (code, signal) => {
      // Anything the app forked dies with it, as in a container; that also closes the pipes.
      if (proc.pid !== undefined) signalGroup(proc.pid, 'SIGKILL');
      // Wait for the pipes so the last lines (often the reason for a crash) are in the log.
      const fallback = setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
        this.procEnded(run, proc, code, signal);
      }, STDIO_GRACE_MS);
      child.once('close', () => {
        clearTimeout(fallback);
        this.procEnded(run, proc, code, signal);
      });
    });
    if (proc.pid === undefined) return; // the 'error' event follows
    trackGroup(proc.pid);
    this.deps.pids.record({
      pid: proc.pid,
      argv: p.argv,
      instanceId: this.pidRecordId(proc),
      key: this.tpl.key,
      startedAt: this.startedAt,
    });

    const target = { host: this.deps.host, port: run.port, cwd: p.cwd, env: p.env };
    if (p.readiness) {
      proc.readiness = new ProbeLoop(p.readiness, target, { initiallyPassing: false, fastUntilFirstPass: true }, (ok) => {
        proc.ready = ok;
        this.readinessChanged(run);
      });
      proc.readiness.start();
    } else this.readinessChanged(run);
    if (p.liveness) {
      const cfg = p.liveness;
      proc.liveness = new ProbeLoop(cfg, target, { initiallyPassing: true, fastUntilFirstPass: false }, (ok) => {
        if (ok || this.terminating || run.ended) return;
        const who = run.procs.length > 1 ? `container "${proc.name}": ` : '';
        run.livenessFailure = `${who}liveness probe failed ${cfg.failureThreshold} times in a row (${proc.liveness?.lastFailure}); the container was killed`;
        this.readySince = undefined;
        this.setPhase('unready', false);
        this.kill(run, this.deps.graceMs);
      });
      proc.liveness.start();
    }
  }

  private readinessChanged(run: Run): void {
    if (this.terminating || run.ended || run !== this.run || run.livenessFailure || run.firstExit) return;
    if (run.procs.every((p) => p.ready && p.pid !== undefined)) {
      const now = this.deps.clock.now();
      this.readyAt ??= now;
      this.readySince = now;
      this.deps.becameReady(); // before the change is announced, so listeners see no stale failure
      this.setPhase('ready', true);
    } else if (this.phase !== 'starting') {
      this.readySince = undefined;
      this.setPhase('unready', false);
    }
  }

  /** SIGTERM to every container's process group, SIGKILL once `graceMs` has passed. */
  private kill(run: Run, graceMs: number): void {
    if (run.ended) return;
    for (const p of run.procs) if (!p.ended && p.pid !== undefined && !signalGroup(p.pid, 'SIGTERM')) p.child?.kill('SIGTERM');
    clearTimeout(run.killTimer);
    run.killTimer = setTimeout(() => {
      for (const p of run.procs) if (!p.ended && p.pid !== undefined && !signalGroup(p.pid, 'SIGKILL')) p.child?.kill('SIGKILL');
    }, clampDelay(graceMs));
  }

  /** One container's process is gone (or never started, when startError is given). */
  private procEnded(run: Run, proc: Proc, code: number | null, signal: NodeJS.Signals | null, startError?: string): void {
    if (proc.ended) return;
    proc.ended = true;
    proc.ready = false;
    proc.readiness?.stop();
    proc.liveness?.stop();
    if (proc.pid !== undefined) {
      untrackGroup(proc.pid);
      this.deps.pids.clear(this.pidRecordId(proc));
    }
    this.logOf(proc.name).flush();
    if (!this.terminating && !run.firstExit && !run.livenessFailure) {
      run.firstExit = { name: proc.name, code, signal, ...(startError ? { startError } : {}) };
      // The pod restarts as a whole: its other containers go too.
      if (run.procs.some((p) => !p.ended)) {
        this.readySince = undefined;
        this.setPhase('unready', false);
        this.kill(run, Math.min(SIBLING_GRACE_MS, this.deps.graceMs));
      }
    }
    if (run.procs.every((p) => p.ended || (p.pid === undefined && !p.child))) this.runEnded(run);
  }

  /** Every process of `run` is gone. */
  private runEnded(run: Run): void {
    if (run.ended) return;
    run.ended = true;
    clearTimeout(run.killTimer);
    releasePort(run.port);
    run.markExited();
    if (this.terminating) return; // stop() finishes the bookkeeping
    const who = run.procs.length > 1 && run.firstExit ? run.firstExit.name : undefined;
    const lines = run.firstExit ? this.logOf(run.firstExit.name) : this.logOf(run.procs[0].name);
    const named = (cause: string) => (who ? cause.replace(/^container /, `container "${who}" `) : cause);
    const f = run.firstExit;
    if (run.livenessFailure) this.crashed(run.livenessFailure, 'ProbeFailed', lines);
    else if (f?.startError) this.crashed(who ? `container "${who}": ${f.startError}` : f.startError, 'StartError', lines);
    else {
      const { exitCode, cause } = describeExit(f?.code ?? null, f?.signal ?? null);
      this.crashed(named(cause), `ExitCode${exitCode}`, lines);
    }
  }

  private crashed(cause: string, firstReason: string, log?: InstanceLog): void {
    const now = this.deps.clock.now();
    this.streak = nextStreak(this.streak, this.readySince, now, this.deps.backoff);
    this.readySince = undefined;
    const delayMs = backoffDelay(this.streak, this.deps.backoff);
    const lastLines = (log ?? this.logs[0]).lastLines(FAILURE_LOG_LINES);
    this.deps.failed(crashFailure({ cause, firstReason, streak: this.streak, delayMs, lastLines }));
    this.setPhase('backoff', false);
    this.scheduleLaunch(delayMs, true);
  }

  /**
   * A ConfigMap or Secret is missing: nothing was started. Retried with the back-off (and at once
   * when a referenced object changes); the reason stays the kubelet's, not CrashLoopBackOff.
   */
  private configFailed(err: ConfigError): void {
    this.streak = nextStreak(this.streak, undefined, this.deps.clock.now(), this.deps.backoff);
    this.waitingForConfig = true;
    this.deps.failed({ reason: err.reason, message: err.message });
    this.setPhase('backoff', false);
    this.scheduleLaunch(backoffDelay(this.streak, this.deps.backoff), false);
  }

  private scheduleLaunch(delayMs: number, isRestart: boolean): void {
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.terminating) return;
      if (isRestart) this.restarts++;
      void this.launch();
    }, clampDelay(delayMs));
  }

  /**
   * Stops the instance for good: not ready (and listeners told) first, then the drain hook (bounded
   * by the grace period), then SIGTERM, then SIGKILL when the grace period is over. The grace
   * period covers drain and SIGTERM together, as terminationGracePeriodSeconds does, but the app
   * always gets at least a short window after SIGTERM.
   */
  stop(drain?: () => Promise<void>): Promise<void> {
    if (this.stopping) {
      if (!drain) this.endDrainEarly?.();
      return this.stopping;
    }
    this.terminating = true;
    this.readySince = undefined;
    clearTimeout(this.restartTimer);
    const run = this.run;
    for (const p of run?.procs ?? []) {
      p.readiness?.stop();
      p.liveness?.stop();
    }
    this.setPhase('terminating', false);
    this.stopping = (async () => {
      if (!run || run.ended) return;
      const grace = this.deps.graceMs;
      const deadline = performance.now() + grace; // timers run on real time, whatever the clock says
      if (drain) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          // A drainer that throws (even synchronously) must not keep the instance from stopping.
          Promise.resolve()
            .then(drain)
            .catch(() => undefined),
          new Promise<void>((r) => {
            this.endDrainEarly = r;
            timer = setTimeout(r, clampDelay(grace));
          }),
          run.exited,
        ]);
        clearTimeout(timer);
        this.endDrainEarly = undefined;
      }
      if (run.ended) return;
      const left = Math.max(deadline - performance.now(), Math.min(2000, grace));
      this.kill(run, left);
      await run.exited;
    })();
    return this.stopping;
  }

  /** For tests and diagnostics: is the current process (if any) still alive? */
  isRunning(): boolean {
    const pid = this.pid;
    return pid !== undefined && isAlive(pid);
  }
}
