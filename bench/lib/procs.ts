// Child processes for benchmarks: started in their own process group (so a server's own children,
// e.g. nginx's worker, go with it), remembered, and stopped at the end, even on error or Ctrl-C.
// Also per-process CPU time from /proc, which works the same for wrk, nginx and Node.

import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import net from 'node:net';

const OUTPUT_KEEP = 64 * 1024;

export interface Proc {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  /** Resolves with the exit code (or the signal name) once the process has exited. */
  readonly exited: Promise<number | string>;
  /** True once the process has exited. */
  hasExited(): boolean;
  /** The last 64 KiB of stdout+stderr, for error messages. */
  output(): string;
}

export interface StartOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export class ProcessGroup {
  private readonly live = new Set<Proc>();

  start(name: string, command: string, args: readonly string[], opts: StartOptions = {}): Proc {
    const child = spawn(command, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Own process group: stop() signals the whole group, so grandchildren cannot be left behind.
      detached: true,
    });
    let out = '';
    const keep = (chunk: Buffer): void => {
      out += chunk.toString('utf8');
      if (out.length > OUTPUT_KEEP * 2) out = out.slice(-OUTPUT_KEEP);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    let done = false;
    const exited = new Promise<number | string>((resolve) => {
      child.once('exit', (code, signal) => {
        done = true;
        resolve(code ?? signal ?? 'unknown');
      });
      child.once('error', (err) => {
        // Spawn failure (e.g. ENOENT): there is no process to wait for.
        out += `\n${name}: ${err.message}`;
        done = true;
        resolve('spawn-error');
      });
    });
    const proc: Proc = {
      name,
      child,
      pid: child.pid ?? -1,
      exited,
      hasExited: () => done,
      output: () => out.slice(-OUTPUT_KEEP),
    };
    this.live.add(proc);
    void exited.then(() => this.live.delete(proc));
    return proc;
  }

  /** SIGTERM to the process group, SIGKILL after graceMs; resolves once the leader has exited. */
  async stop(proc: Proc, graceMs = 3000): Promise<void> {
    if (proc.pid <= 0) return;
    if (!proc.hasExited()) {
      signalGroup(proc.pid, 'SIGTERM');
      const timer = new Promise<'late'>((r) => setTimeout(r, graceMs, 'late').unref());
      if ((await Promise.race([proc.exited, timer])) === 'late') {
        signalGroup(proc.pid, 'SIGKILL');
        await proc.exited;
      }
    }
    // Whatever is left in the group (a child the leader did not wait for) goes too.
    signalGroup(proc.pid, 'SIGKILL');
    this.live.delete(proc);
  }

  /** Stops everything still running, newest first. */
  async stopAll(): Promise<void> {
    for (const p of [...this.live].reverse()) await this.stop(p);
  }

  /** Last resort from a synchronous 'exit' handler: no waiting possible. */
  killAllNow(): void {
    for (const p of this.live) signalGroup(p.pid, 'SIGKILL');
    this.live.clear();
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

/** Waits until the process prints a line matching re; fails if it exits first or time runs out. */
export async function waitForOutput(proc: Proc, re: RegExp, timeoutMs = 10_000): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = proc.output().match(re);
    if (m) return m;
    if (proc.hasExited()) throw new Error(`${proc.name} exited before printing ${re}; its output:\n${proc.output().slice(-2000)}`);
    if (Date.now() > deadline)
      throw new Error(`${proc.name} did not print ${re} within ${timeoutMs} ms; its output:\n${proc.output().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A port that was free a moment ago, for programs that cannot listen on port 0 and report back. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Polls until something accepts TCP connections on 127.0.0.1:port. */
export async function waitForPort(port: number, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${what} did not accept connections on 127.0.0.1:${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

let clockTicks: number | undefined;

function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

export interface CpuTime {
  user: number;
  system: number;
}

/** User and system CPU seconds a process (all its threads) has used so far; NaN if it is gone. */
export function cpuTime(pid: number): CpuTime {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may contain spaces: count fields after the last ')'.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 of stat(5) (utime, stime) are at 11 and 12 once pid and comm are dropped.
    return { user: Number(f[11]) / ticksPerSecond(), system: Number(f[12]) / ticksPerSecond() };
  } catch {
    return { user: NaN, system: NaN };
  }
}

export interface SchedStat {
  /** Seconds on a CPU. */
  run: number;
  /** Seconds runnable but waiting for a CPU (run-queue wait). */
  wait: number;
  /** Times it was scheduled in. */
  slices: number;
}

/**
 * Scheduler statistics of a process's main thread (/proc/PID/schedstat): for a single-threaded
 * event loop, `wait` is time requests could have been served but the thread had no CPU.
 */
export function schedStat(pid: number): SchedStat {
  try {
    const [run, wait, slices] = readFileSync(`/proc/${pid}/schedstat`, 'utf8').trim().split(/\s+/).map(Number);
    return { run: run / 1e9, wait: wait / 1e9, slices };
  } catch {
    return { run: NaN, wait: NaN, slices: NaN };
  }
}

/** User+system CPU seconds a process has used so far; NaN if it is gone. */
export function cpuSeconds(pid: number): number {
  const t = cpuTime(pid);
  return t.user + t.system;
}

/**
 * CPU seconds of this process's children that have exited and been waited for (cutime+cstime of
 * /proc/self/stat): how a short-lived child like wrk is measured, as the difference around its run.
 */
export function reapedChildrenCpuSeconds(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 16 and 17 of stat(5).
  return (Number(f[13]) + Number(f[14])) / ticksPerSecond();
}

export interface MachineCpu {
  /** Everything but idle, iowait and steal. */
  busy: number;
  /** Time the hypervisor ran something else on our virtual cores. */
  steal: number;
}

/** Machine-wide CPU seconds so far, all cores, from /proc/stat. */
export function machineCpuSeconds(): MachineCpu {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
  // user nice system idle iowait irq softirq steal (guest time is already inside user)
  const v = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const t = ticksPerSecond();
  return {
    busy: (v[0] + v[1] + v[2] + v[5] + v[6]) / t,
    steal: v[7] / t,
  };
}

const PF_KTHREAD = 0x00200000;

/** CPU seconds so far of every user-space process that is not this one or its descendants. */
export type ForeignSnapshot = Map<number, { start: string; cpu: number }>;

/**
 * Snapshot for measuring interference: what other programs on the machine (a parallel build, a
 * test run) use. Kernel threads are left out: softirq work for our own loopback traffic can run
 * there. A process that exits between two snapshots is seen through its parent's reaped-children
 * time instead.
 */
export function foreignSnapshot(): ForeignSnapshot {
  const stats = new Map<number, { ppid: number; flags: number; start: string; cpu: number }>();
  const t = ticksPerSecond();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // stat(5) fields: 4 ppid, 9 flags, 14-17 utime stime cutime cstime, 22 starttime.
      stats.set(Number(entry), {
        ppid: Number(f[1]),
        flags: Number(f[6]),
        start: f[19],
        cpu: (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / t,
      });
    } catch {
      // Exited while we looked.
    }
  }
  const ours = (pid: number): boolean => {
    for (let p = pid, hops = 0; p > 1 && hops < 64; hops++) {
      if (p === process.pid) return true;
      p = stats.get(p)?.ppid ?? 0;
    }
    return false;
  };
  const out: ForeignSnapshot = new Map();
  for (const [pid, s] of stats) {
    if (s.flags & PF_KTHREAD || ours(pid)) continue;
    out.set(pid, { start: s.start, cpu: s.cpu });
  }
  return out;
}

/** CPU seconds other programs used between two snapshots. */
export function foreignCpuSeconds(before: ForeignSnapshot, after: ForeignSnapshot): number {
  let sum = 0;
  for (const [pid, a] of after) {
    const b = before.get(pid);
    sum += b && b.start === a.start ? a.cpu - b.cpu : a.cpu;
  }
  return sum;
}

/** Direct children of a process (e.g. nginx's workers under its master). */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // Exited while we looked.
    }
  }
  return out;
}
