// Making sure instances never outlive Sluice.
//
// Each instance is spawned as the leader of its own process group (detached), for two reasons:
// one signal to the group stops everything the app forked (as stopping a container would), and a
// Ctrl-C in Sluice's terminal reaches Sluice only, so Sluice can drain and stop instances in order.
// The price is that the kernel will not take the children down with Sluice, so:
//   1. while Sluice runs, every live group is remembered and SIGKILLed from a process 'exit'
//      hook (covers process.exit() and uncaught errors without a clean shutdown());
//   2. every instance's pid and argv are written to dataDir/pids/{instanceId}.json while it runs.
//      If Sluice is killed outright (SIGKILL, power loss of the terminal), the next LocalRuntime on
//      the same dataDir kills leftovers whose command line still matches the recorded argv (so a
//      recycled pid that now belongs to something else is left alone), then deletes the records.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export interface PidRecord {
  pid: number;
  argv: string[];
  instanceId: string;
  key: string;
  startedAt: number;
}

const liveGroups = new Set<number>();
let hookInstalled = false;

function installExitHook(): void {
  if (hookInstalled) return;
  hookInstalled = true;
  process.on('exit', () => {
    for (const pid of liveGroups) signalGroup(pid, 'SIGKILL');
  });
}

export function trackGroup(pid: number): void {
  installExitHook();
  liveGroups.add(pid);
}

export function untrackGroup(pid: number): void {
  liveGroups.delete(pid);
}

/**
 * Signals the process group led by `pid` (just the process on Windows, which has no groups).
 * There is deliberately no fallback to the bare pid on POSIX: after the leader is reaped its pid
 * may belong to an unrelated process, while a group id stays taken until the group is empty.
 */
export function signalGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(process.platform === 'win32' ? pid : -pid, signal);
    return true;
  } catch {
    return false;
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The argv of a running process, or undefined when it cannot be read. */
function commandLineOf(pid: number): string[] | undefined {
  if (process.platform === 'linux') {
    try {
      const raw = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      return raw.split('\0').slice(0, raw.endsWith('\0') ? -1 : undefined);
    } catch {
      return undefined;
    }
  }
  if (process.platform === 'win32') return undefined;
  try {
    // ps joins arguments with spaces, so compare the joined form.
    const out = execFileSync('ps', ['-o', 'args=', '-p', String(pid)], { encoding: 'utf8', timeout: 2000 }).trim();
    return out ? [out] : undefined;
  } catch {
    return undefined;
  }
}

function sameCommand(actual: string[], recorded: string[]): boolean {
  if (actual.length === 1 && recorded.length > 1) return actual[0] === recorded.join(' ');
  return actual.length === recorded.length && actual.every((a, i) => a === recorded[i]);
}

export class PidFiles {
  constructor(private readonly dir: string) {
    fs.mkdirSync(dir, { recursive: true });
  }

  private file(instanceId: string): string {
    return path.join(this.dir, `${instanceId.replace(/[^A-Za-z0-9._-]/g, '_')}.json`);
  }

  record(rec: PidRecord): void {
    try {
      fs.writeFileSync(this.file(rec.instanceId), JSON.stringify(rec));
    } catch {
      // Best effort: losing a record only weakens leftover cleanup after a hard crash.
    }
  }

  clear(instanceId: string): void {
    fs.rmSync(this.file(instanceId), { force: true });
  }

  /** Kills processes left behind by a previous Sluice on this dataDir; returns what it killed. */
  killLeftovers(): PidRecord[] {
    const killed: PidRecord[] = [];
    let names: string[];
    try {
      names = fs.readdirSync(this.dir).filter((n) => n.endsWith('.json'));
    } catch {
      return killed;
    }
    for (const name of names) {
      const file = path.join(this.dir, name);
      try {
        const rec = JSON.parse(fs.readFileSync(file, 'utf8')) as PidRecord;
        if (Number.isInteger(rec.pid) && rec.pid > 1 && Array.isArray(rec.argv) && !liveGroups.has(rec.pid)) {
          const actual = commandLineOf(rec.pid);
          if (actual && sameCommand(actual, rec.argv)) {
            signalGroup(rec.pid, 'SIGKILL');
            killed.push(rec);
          }
        }
      } catch {
        // An unreadable record cannot be verified, so nothing is killed for it.
      }
      fs.rmSync(file, { force: true });
    }
    return killed;
  }
}
