// CPU and memory of a process. On Linux we read /proc directly (cheap, no child processes);
// elsewhere we ask pidusage. Only the instance's main process is counted, not processes it forks.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';

export interface ProcessUsage {
  cpuSeconds: number;
  rssBytes: number;
}

let clockTicks: number | undefined;
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 2000 }).trim()) || 100;
    } catch {
      clockTicks = 100; // the value on practically every Linux system
    }
  }
  return clockTicks;
}

async function fromProc(pid: number): Promise<ProcessUsage> {
  const [stat, status] = await Promise.all([fs.readFile(`/proc/${pid}/stat`, 'utf8'), fs.readFile(`/proc/${pid}/status`, 'utf8')]);
  // The command name (field 2) may contain spaces and parentheses; fields after the last ')' are fixed.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]); // field 14 overall
  const stime = Number(fields[12]); // field 15 overall
  const rssKb = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1] ?? 0);
  return { cpuSeconds: (utime + stime) / ticksPerSecond(), rssBytes: rssKb * 1024 };
}

type PidUsage = (pid: number) => Promise<{ ctime: number; memory: number }>;
let pidusage: PidUsage | undefined;

async function fromPidusage(pid: number): Promise<ProcessUsage> {
  if (!pidusage) {
    // pidusage ships no types; we only use ctime (ms of CPU) and memory (bytes).
    const mod: { default: PidUsage } = await import('pidusage' as string);
    pidusage = mod.default;
  }
  const s = await pidusage(pid);
  return { cpuSeconds: s.ctime / 1000, rssBytes: s.memory };
}

/** Usage of a running process, or undefined when it is gone. */
export async function sampleProcess(pid: number): Promise<ProcessUsage | undefined> {
  try {
    return process.platform === 'linux' ? await fromProc(pid) : await fromPidusage(pid);
  } catch {
    return undefined;
  }
}
