// One instance: a child process plus its probes, restarted with back-off when it dies on its own.
// The instance id stays the same across restarts (like a pod whose container restarts); each
// start gets a fresh port, so a port stolen in the allocation window costs one restart, no more.

import { spawn, type ChildProcess } from 'node:child_process';
import { clampDelay } from '../../timers.js';
import fs from 'node:fs';
import type { InstancePhase, InstanceStatus, WorkloadFailure } from '../runtime.js';
import { backoffDelay, crashFailure, describeExit, nextStreak, type BackoffOptions } from './backoff.js';
import { expandVars } from './env.js';
import type { InstanceLog } from './logs.js';
import { isAlive, signalGroup, trackGroup, untrackGroup, type PidFiles } from './pids.js';
import { allocatePort, releasePort } from './ports.js';
import { ProbeLoop, type ProbeConfig } from './probe.js';

export interface Clock {
  now(): number;
}

/** Everything needed to start the instance's process, worked out once per workload. */
export interface LaunchTemplate {
  key: string;
  /** argv before $(VAR) expansion. */
  command: string[];
  cwd: string;
  /** The full environment for a given port. */
  envFor(port: number): Record<string, string>;
  readiness: ProbeConfig;
  liveness?: ProbeConfig;
}

export interface InstanceDeps {
  host: string;
  clock: Clock;
  graceMs: number;
  backoff: BackoffOptions;
  pids: PidFiles;
  log: InstanceLog;
  /** Phase or readiness changed. */
  changed(): void;
  /** The process failed (crash, failed start, liveness kill). */
  failed(f: WorkloadFailure): void;
  /** Became ready (clears the workload's failure). */
  becameReady(): void;
}

/** State of one started process. */
interface Run {
  child?: ChildProcess;
  pid?: number;
  port: number;
  ended: boolean;
  exited: Promise<void>;
  markExited(): void;
  readiness?: ProbeLoop;
  liveness?: ProbeLoop;
  killTimer?: NodeJS.Timeout;
  /** Set when Sluice killed it because liveness failed. */
  livenessFailure?: string;
}

const FAILURE_LOG_LINES = 5;
/** How long to wait for stdout/stderr to close after the process exited. */
const STDIO_GRACE_MS = 1000;

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

  constructor(
    readonly id: string,
    private readonly tpl: LaunchTemplate,
    private readonly deps: InstanceDeps,
  ) {
    this.createdAt = this.startedAt = deps.clock.now();
  }

  get log(): InstanceLog {
    return this.deps.log;
  }

  get pid(): number | undefined {
    return this.run && !this.run.ended ? this.run.pid : undefined;
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

  private setPhase(phase: InstancePhase, ready: boolean): void {
    if (this.phase === phase && this.ready === ready) return;
    this.phase = phase;
    this.ready = ready;
    this.deps.changed();
  }

  private async launch(): Promise<void> {
    this.startedAt = this.deps.clock.now();
    this.readyAt = undefined;
    this.setPhase('starting', false);
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
    const env = this.tpl.envFor(port);
    const argv = this.tpl.command.map((a) => expandVars(a, env));
    let run: Run;
    {
      let markExited!: () => void;
      const exited = new Promise<void>((r) => (markExited = r));
      run = { port, ended: false, exited, markExited };
    }
    this.run = run;

    // Node reports a missing cwd as "spawn <program> ENOENT", which points at the wrong thing.
    if (!fs.statSync(this.tpl.cwd, { throwIfNoEntry: false })?.isDirectory()) {
      this.ended(run, null, null, `working directory ${this.tpl.cwd} does not exist`);
      return;
    }

    let child: ChildProcess;
    try {
      child = spawn(argv[0], argv.slice(1), {
        cwd: this.tpl.cwd,
        env,
        detached: true, // own process group; see pids.ts
        stdio: ['ignore', 'pipe', 'pipe'],
        windowsHide: true,
      });
    } catch (err) {
      this.ended(run, null, null, `cannot start ${JSON.stringify(argv[0])}: ${(err as Error).message}`);
      return;
    }
    run.child = child;
    run.pid = child.pid;
    child.stdout?.on('data', (c: Buffer) => this.deps.log.write('stdout', c));
    child.stderr?.on('data', (c: Buffer) => this.deps.log.write('stderr', c));

    child.on('error', (err: NodeJS.ErrnoException) => {
      // Spawn failures (ENOENT, EACCES) arrive here with no pid and no exit event.
      if (child.pid === undefined) {
        const why = err.code === 'ENOENT' ? `command not found: ${argv[0]} (is it installed and on PATH?)` : err.message;
        this.ended(run, null, null, `cannot start ${JSON.stringify(argv[0])}: ${why}`);
      }
    });
    child.once('exit', (code, signal) => {
      // Anything the app forked dies with it, as in a container; that also closes the pipes.
      if (run.pid !== undefined) signalGroup(run.pid, 'SIGKILL');
      // Wait for the pipes so the last lines (often the reason for a crash) are in the log.
      const fallback = setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
        this.ended(run, code, signal);
      }, STDIO_GRACE_MS);
      child.once('close', () => {
        clearTimeout(fallback);
        this.ended(run, code, signal);
      });
    });

    if (run.pid === undefined) return; // the 'error' event follows
    trackGroup(run.pid);
    this.deps.pids.record({ pid: run.pid, argv, instanceId: this.id, key: this.tpl.key, startedAt: this.startedAt });
    this.deps.changed(); // pid and port are known now

    const target = { host: this.deps.host, port, cwd: this.tpl.cwd, env };
    run.readiness = new ProbeLoop(this.tpl.readiness, target, { initiallyPassing: false, fastUntilFirstPass: true }, (ok) =>
      this.readinessChanged(run, ok),
    );
    run.readiness.start();
    if (this.tpl.liveness) {
      const cfg = this.tpl.liveness;
      run.liveness = new ProbeLoop(cfg, target, { initiallyPassing: true, fastUntilFirstPass: false }, (ok) => {
        if (ok || this.terminating || run.ended) return;
        run.livenessFailure = `liveness probe failed ${cfg.failureThreshold} times in a row (${run.liveness?.lastFailure}); the container was killed`;
        this.readySince = undefined;
        this.setPhase('unready', false);
        this.kill(run, this.deps.graceMs);
      });
      run.liveness.start();
    }
  }

  private readinessChanged(run: Run, ok: boolean): void {
    if (this.terminating || run.ended || run !== this.run || run.livenessFailure) return;
    if (ok) {
      const now = this.deps.clock.now();
      this.readyAt ??= now;
      this.readySince = now;
      this.deps.becameReady(); // before the change is announced, so listeners see no stale failure
      this.setPhase('ready', true);
    } else {
      this.readySince = undefined;
      this.setPhase('unready', false);
    }
  }

  /** SIGTERM to the process group, SIGKILL once `graceMs` has passed. */
  private kill(run: Run, graceMs: number): void {
    if (run.ended || run.pid === undefined) return;
    if (!signalGroup(run.pid, 'SIGTERM')) run.child?.kill('SIGTERM');
    clearTimeout(run.killTimer);
    run.killTimer = setTimeout(() => {
      if (!run.ended && run.pid !== undefined && !signalGroup(run.pid, 'SIGKILL')) run.child?.kill('SIGKILL');
    }, clampDelay(graceMs));
  }

  /** The process of `run` is gone (or never started, when startError is given). */
  private ended(run: Run, code: number | null, signal: NodeJS.Signals | null, startError?: string): void {
    if (run.ended) return;
    run.ended = true;
    clearTimeout(run.killTimer);
    run.readiness?.stop();
    run.liveness?.stop();
    if (run.pid !== undefined) {
      untrackGroup(run.pid);
      this.deps.pids.clear(this.id);
    }
    releasePort(run.port);
    this.deps.log.flush();
    run.markExited();
    if (this.terminating) return; // stop() finishes the bookkeeping
    if (startError) this.crashed(startError, 'StartError');
    else if (run.livenessFailure) this.crashed(run.livenessFailure, 'ProbeFailed');
    else {
      const { exitCode, cause } = describeExit(code, signal);
      this.crashed(cause, `ExitCode${exitCode}`);
    }
  }

  private crashed(cause: string, firstReason: string): void {
    const now = this.deps.clock.now();
    this.streak = nextStreak(this.streak, this.readySince, now, this.deps.backoff);
    this.readySince = undefined;
    const delayMs = backoffDelay(this.streak, this.deps.backoff);
    this.deps.failed(
      crashFailure({ cause, firstReason, streak: this.streak, delayMs, lastLines: this.deps.log.lastLines(FAILURE_LOG_LINES) }),
    );
    this.setPhase('backoff', false);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.terminating) return;
      this.restarts++;
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
    run?.readiness?.stop();
    run?.liveness?.stop();
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
