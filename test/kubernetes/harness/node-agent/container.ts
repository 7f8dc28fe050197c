// One container of a pod on the test node: a local process started inside the pod's network namespace,
// with the kubelet's lifecycle — readiness and liveness probes (Sluice's local-runtime probe loop),
// restarts under the pod's restartPolicy with the crash back-off, a log file per run
// (<pod dir>/<container>/<restartCount>.log, like /var/log/pods), and termination: preStop hook,
// SIGTERM, SIGKILL when the grace period is over.

import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants } from 'node:fs';
import http from 'node:http';
import { delimiter, join } from 'node:path';
import { exitCodeOf } from '../../../../src/runtime/local/backoff.js';
import { InstanceLog } from '../../../../src/runtime/local/logs.js';
import { signalGroup, trackGroup, untrackGroup } from '../../../../src/runtime/local/pids.js';
import { normalizeProbe, ProbeLoop, type ProbeConfig } from '../../../../src/runtime/local/probe.js';
import { inNetns } from '../netns.js';
import { nextBackoff, shouldRestart, type ContainerRecord, type CrashBackoff, type PodRecord } from './status.js';

export interface ContainerContext {
  podNetns: string;
  podIp: string;
  podDir: string;
  restartPolicy: PodRecord['restartPolicy'];
  backoff: CrashBackoff;
  /** the pod's terminationGracePeriodSeconds, for a liveness kill */
  graceMs: number;
  /** something changed that the pod's status shows */
  changed(): void;
  /** resolves command, cwd and env; throws a message for the waiting reason */
  prepare(): Promise<{ argv: string[]; cwd: string; env: Record<string, string> }>;
}

const LOG_MAX_BYTES = 5 * 1024 * 1024;

function onPath(program: string, pathVar: string | undefined): boolean {
  const candidates = program.includes('/') ? [program] : (pathVar ?? '').split(delimiter).map((d) => join(d, program));
  return candidates.some((c) => {
    try {
      accessSync(c, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** A probe's port: a number, a named container port, or the container's first port. */
function probePort(probe: any, spec: any): number {
  const raw = (probe?.httpGet ?? probe?.tcpSocket)?.port;
  if (typeof raw === 'number' && raw > 0) return raw;
  if (typeof raw === 'string' && /^\d+$/.test(raw)) return Number(raw);
  const named = (spec.ports ?? []).find((p: any) => p.name === raw);
  return named?.containerPort ?? spec.ports?.[0]?.containerPort ?? 8080;
}

export class ContainerRunner {
  readonly record: ContainerRecord;
  private child?: ChildProcess;
  private log?: InstanceLog;
  private readiness?: ProbeLoop;
  private liveness?: ProbeLoop;
  private restartTimer?: NodeJS.Timeout;
  private retryTimer?: NodeJS.Timeout;
  private backoffMs = 0;
  private startedAtMs = 0;
  private stopping = false;
  private exited?: Promise<void>;

  constructor(
    readonly spec: any,
    private readonly ctx: ContainerContext,
  ) {
    this.record = { name: spec.name, image: spec.image ?? '', state: { kind: 'waiting', reason: 'ContainerCreating' }, restartCount: 0 };
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** The log file of run `n` (default: the current one). */
  logFile(n = this.record.restartCount): string {
    return join(this.ctx.podDir, this.spec.name, `${n}.log`);
  }

  currentLog(): InstanceLog | undefined {
    return this.log;
  }

  async start(): Promise<void> {
    if (this.stopping) return;
    let prepared: Awaited<ReturnType<ContainerContext['prepare']>>;
    try {
      prepared = await this.ctx.prepare();
    } catch (err) {
      const message = (err as Error).message;
      const reason = /image/.test(message) ? 'ErrImagePull' : 'CreateContainerConfigError';
      this.record.state = { kind: 'waiting', reason, message };
      this.ctx.changed();
      // The kubelet retries: a ConfigMap or Secret may appear later.
      this.retryTimer = setTimeout(() => void this.start(), 2000);
      return;
    }
    if (this.stopping) return;
    const now = new Date().toISOString();
    this.log = new InstanceLog(this.spec.name, this.logFile(), LOG_MAX_BYTES);
    if (!onPath(prepared.argv[0], prepared.env.PATH)) {
      const message = `exec: "${prepared.argv[0]}": executable file not found in $PATH`;
      this.log.note(message);
      this.finish({ exitCode: 128, reason: 'StartError', message, startedAt: now });
      return;
    }
    const argv = inNetns(this.ctx.podNetns, prepared.argv);
    const child = spawn(argv[0], argv.slice(1), {
      cwd: prepared.cwd,
      env: prepared.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group: one signal stops all it forks, as stopping a container does
    });
    this.child = child;
    this.startedAtMs = Date.now();
    const log = this.log;
    child.stdout?.on('data', (c: Buffer) => log.write('stdout', c));
    child.stderr?.on('data', (c: Buffer) => log.write('stderr', c));
    if (child.pid) trackGroup(child.pid);
    this.record.containerId = `sluice://${randomBytes(16).toString('hex')}`;
    const hasReadiness = !!this.spec.readinessProbe;
    this.record.state = { kind: 'running', startedAt: now, ready: !hasReadiness };
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        if (child.pid) untrackGroup(child.pid);
        // Whatever the main process left in its group goes with it, as in a container.
        if (child.pid) signalGroup(child.pid, 'SIGKILL');
        const exitCode = exitCodeOf(code, signal);
        this.finish({ exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', startedAt: now });
        resolve();
      });
      child.once('error', (err) => {
        this.finish({ exitCode: 128, reason: 'StartError', message: err.message, startedAt: now });
        resolve();
      });
    });
    this.startProbes();
    this.ctx.changed();
  }

  private probeConfig(probe: any, which: string): ProbeConfig | undefined {
    const cfg = normalizeProbe(probe, this.spec.ports, which);
    if ('error' in cfg) {
      this.log?.note(`${which}: ${cfg.error}`);
      return undefined;
    }
    // exec probes run inside the pod's namespace, as they would run inside the container.
    if (cfg.action.kind === 'exec') cfg.action = { kind: 'exec', command: inNetns(this.ctx.podNetns, cfg.action.command) };
    return cfg;
  }

  private startProbes(): void {
    const target = (probe: any) => ({
      host: this.ctx.podIp,
      port: probePort(probe, this.spec),
      cwd: this.ctx.podDir,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    });
    if (this.spec.readinessProbe) {
      const cfg = this.probeConfig(this.spec.readinessProbe, 'readinessProbe');
      if (cfg) {
        this.readiness = new ProbeLoop(
          cfg,
          target(this.spec.readinessProbe),
          { initiallyPassing: false, fastUntilFirstPass: false },
          (ok) => {
            if (this.record.state.kind === 'running') this.record.state = { ...this.record.state, ready: ok };
            this.ctx.changed();
          },
        );
        this.readiness.start();
      }
    }
    if (this.spec.livenessProbe) {
      const cfg = this.probeConfig(this.spec.livenessProbe, 'livenessProbe');
      if (cfg) {
        this.liveness = new ProbeLoop(cfg, target(this.spec.livenessProbe), { initiallyPassing: true, fastUntilFirstPass: false }, (ok) => {
          if (ok || this.stopping) return;
          this.log?.note(`liveness probe failed: ${this.liveness?.lastFailure ?? ''}; killing the container`);
          void this.kill(this.ctx.graceMs);
        });
        this.liveness.start();
      }
    }
  }

  private stopProbes(): void {
    this.readiness?.stop();
    this.liveness?.stop();
    this.readiness = this.liveness = undefined;
  }

  private finish(t: { exitCode: number; reason: string; message?: string; startedAt: string }): void {
    this.stopProbes();
    this.child = undefined;
    this.log?.close();
    const terminated = { kind: 'terminated' as const, ...t, finishedAt: new Date().toISOString() };
    this.record.state = terminated;
    if (!this.stopping && shouldRestart(this.ctx.restartPolicy, t.exitCode)) {
      this.backoffMs = nextBackoff(this.backoffMs, Date.now() - this.startedAtMs, this.ctx.backoff);
      this.record.last = terminated;
      this.record.state = {
        kind: 'waiting',
        reason: 'CrashLoopBackOff',
        message: `back-off ${Math.round(this.backoffMs / 1000)}s restarting failed container=${this.spec.name}`,
      };
      this.restartTimer = setTimeout(() => {
        this.record.restartCount += 1;
        void this.start();
      }, this.backoffMs);
    }
    this.ctx.changed();
  }

  /** SIGTERM, then SIGKILL after graceMs; resolves when the process is gone. */
  private async kill(graceMs: number): Promise<void> {
    const child = this.child;
    if (!child?.pid) return;
    signalGroup(child.pid, 'SIGTERM');
    const timer = setTimeout(() => child.pid && signalGroup(child.pid, 'SIGKILL'), Math.max(0, graceMs));
    await this.exited;
    clearTimeout(timer);
  }

  private async preStop(deadline: number): Promise<void> {
    const hook = this.spec.lifecycle?.preStop;
    if (!hook || !this.child) return;
    const budget = Math.max(0, deadline - Date.now());
    const bounded = (p: Promise<unknown>) => Promise.race([p.catch(() => undefined), new Promise((r) => setTimeout(r, budget))]);
    if (hook.sleep) {
      await bounded(new Promise((r) => setTimeout(r, Number(hook.sleep.seconds) * 1000)));
    } else if (hook.exec?.command) {
      const argv = inNetns(this.ctx.podNetns, hook.exec.command);
      await bounded(
        new Promise<void>((resolve) => {
          const c = spawn(argv[0], argv.slice(1), { stdio: 'ignore' });
          c.once('exit', () => resolve());
          c.once('error', () => resolve());
        }),
      );
    } else if (hook.httpGet) {
      const port = probePort({ httpGet: hook.httpGet }, this.spec);
      await bounded(
        new Promise<void>((resolve) => {
          const req = http.get({ host: hook.httpGet.host || this.ctx.podIp, port, path: hook.httpGet.path ?? '/', agent: false }, (res) => {
            res.resume();
            res.on('end', () => resolve());
          });
          req.on('error', () => resolve());
        }),
      );
    }
  }

  /** The kubelet's termination: preStop, SIGTERM, SIGKILL at the deadline. No restart afterwards. */
  async terminate(deadline: number): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    clearTimeout(this.retryTimer);
    if (this.record.state.kind === 'waiting') {
      this.ctx.changed();
      return;
    }
    await this.preStop(deadline);
    await this.kill(deadline - Date.now());
  }

  /** Immediate stop (the pod was force-deleted or the node shuts down). */
  async killNow(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    clearTimeout(this.retryTimer);
    this.stopProbes();
    if (this.child?.pid) signalGroup(this.child.pid, 'SIGKILL');
    await this.exited;
  }
}
