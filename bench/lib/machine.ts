// What machine the numbers came from, and the Debian tools the sections use (installed on demand).

import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  node: string;
  os: string;
  kernel: string;
}

export function machineInfo(): MachineInfo {
  let cpuModel = os.cpus()[0]?.model ?? 'unknown';
  try {
    const m = readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.+)$/m);
    if (m) cpuModel = m[1].trim();
  } catch {
    // Not Linux: os.cpus() is the best we have.
  }
  let osName = `${os.type()} ${os.release()}`;
  try {
    const m = readFileSync('/etc/os-release', 'utf8').match(/^PRETTY_NAME="?([^"\n]+)"?$/m);
    if (m) osName = m[1];
  } catch {
    // Keep the generic name.
  }
  return {
    cpuModel,
    cores: os.availableParallelism?.() ?? os.cpus().length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    os: osName,
    kernel: os.release(),
  };
}

function onPath(binary: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${binary}`], { stdio: 'ignore' }).status === 0;
}

function apt(args: string[]): boolean {
  const asRoot = process.getuid?.() === 0;
  const cmd = asRoot ? 'apt-get' : 'sudo';
  const full = asRoot ? args : ['-n', 'apt-get', ...args];
  const r = spawnSync(cmd, full, { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  return r.status === 0;
}

/**
 * Makes sure a Debian package's binary is on PATH: `apt-get install -y`, and if that fails,
 * `apt-get update` and once more. Throws with a clear message when it cannot.
 */
export function ensureDebianTool(pkg: string, binary: string, log: (m: string) => void): void {
  if (onPath(binary)) return;
  log(`${binary} not found; installing the Debian package ${pkg}`);
  if (!apt(['install', '-y', pkg])) {
    log(`apt-get install ${pkg} failed; running apt-get update and retrying`);
    apt(['update']);
    apt(['install', '-y', pkg]);
  }
  if (!onPath(binary)) {
    throw new Error(`${binary} is needed and could not be installed (apt-get install -y ${pkg} failed; run it as root and retry)`);
  }
}

/** The installed version of a Debian package, or undefined. */
export function debianVersion(pkg: string): string | undefined {
  try {
    const v = execFileSync('dpkg-query', ['-W', '-f=${Version}', pkg], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return v || undefined;
  } catch {
    return undefined;
  }
}
