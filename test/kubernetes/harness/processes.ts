// The processes a harness starts: each runs inside the run's network namespace (nsenter, which
// execs the program so the pid is the program's own), writes stdout and stderr to a log file of its
// own, and is stopped by pid: SIGTERM, then SIGKILL after a grace period.

import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { inNetns } from './netns.js';

export interface Started {
  name: string;
  child: ChildProcess;
  pid: number;
  log: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** true once the process has exited */
  readonly done: boolean;
}

export function lastLines(file: string, n = 20): string {
  if (!existsSync(file)) return '';
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-n).join('\n');
}

/** Starts argv inside `netns` (or in the test's own namespace when netns is undefined). */
export function startProcess(
  name: string,
  argv: string[],
  opts: { netns?: string; log: string; env?: NodeJS.ProcessEnv; cwd?: string },
): Started {
  const fd = openSync(opts.log, 'a');
  const full = opts.netns ? inNetns(opts.netns, argv) : argv;
  const child = spawn(full[0], full.slice(1), { stdio: ['ignore', fd, fd], env: opts.env ?? process.env, cwd: opts.cwd });
  closeSync(fd);
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      done = true;
      resolve({ code, signal });
    });
    child.once('error', () => {
      done = true;
      resolve({ code: 127, signal: null });
    });
  });
  if (child.pid === undefined) throw new Error(`could not start ${name} (${full[0]})`);
  return {
    name,
    child,
    pid: child.pid,
    log: opts.log,
    exited,
    get done() {
      return done;
    },
  };
}

/** SIGTERM, then SIGKILL after graceMs; resolves when the process has exited. */
export async function stopProcess(p: Started, graceMs = 10_000): Promise<void> {
  if (p.done) return;
  try {
    process.kill(p.pid, 'SIGTERM');
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }, graceMs);
  await p.exited;
  clearTimeout(timer);
}
