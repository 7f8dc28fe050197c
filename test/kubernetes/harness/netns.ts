// Network namespaces for a Kubernetes test run. Each run gets its own namespace `sluice-k8s-<pid>-<n>`
// with a bridge (10.244.0.1/16) on which the control plane, the test node and the pods talk; each pod
// gets a child namespace `sluice-k8s-<pid>-<n>-p<k>` joined to that bridge by a veth pair. Private
// addresses exist only inside these namespaces, never on the host's own network.
//
// The owner's pid is part of every name, so a run that finds namespaces of a pid that no longer runs
// knows they are left over from a crash, and removes them (after killing the processes still inside
// them, which that run started) without touching the namespaces of a run that is still going.

import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { promisify } from 'node:util';
import { alive } from '../../support/process.js';

const run = promisify(execFile);

export const NETNS_PREFIX = 'sluice-k8s-';
export const BRIDGE = 'br0';
export const BRIDGE_IP = '10.244.0.1';
export const POD_PREFIX_LENGTH = 16;

let counter = 0;

/** A fresh, unused namespace name owned by this process. */
export function newRunName(): string {
  return `${NETNS_PREFIX}${process.pid}-${++counter}`;
}

export async function ip(args: string[], netns?: string): Promise<string> {
  const argv = netns ? ['-n', netns, ...args] : args;
  try {
    const { stdout } = await run('ip', argv, { encoding: 'utf8' });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`ip ${argv.join(' ')} failed: ${(e.stderr ?? e.message).trim()}`);
  }
}

export function listNetns(): string[] {
  if (!existsSync('/run/netns')) return [];
  return readdirSync('/run/netns');
}

/** The pids of processes inside a namespace (empty when it is gone). */
export function netnsPids(name: string): number[] {
  try {
    return execFileSync('ip', ['netns', 'pids', name], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Kills the processes inside a namespace by pid and deletes it. Synchronous so an exit hook can call it. */
export function destroyNetnsSync(name: string): void {
  for (const pid of netnsPids(name)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  try {
    execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
  } catch {
    // already gone
  }
}

/** Which pid owns a namespace name made by newRunName(), or undefined when it is not one of ours. */
export function ownerOf(name: string): number | undefined {
  const m = /^sluice-k8s-(\d+)-\d+(?:-p\d+)?$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** Removes namespaces left behind by runs whose process has died; returns their names. */
export function removeStaleNamespaces(): string[] {
  const stale = listNetns().filter((n) => {
    const owner = ownerOf(n);
    return owner !== undefined && owner !== process.pid && !alive(owner);
  });
  // Pod namespaces first, then the run namespaces their veths hang off.
  stale.sort((a, b) => b.length - a.length);
  for (const n of stale) destroyNetnsSync(n);
  return stale;
}

/** Creates the run namespace: loopback up, a bridge with BRIDGE_IP/16. */
export async function createRunNetns(name: string): Promise<void> {
  await ip(['netns', 'add', name]);
  await ip(['link', 'set', 'lo', 'up'], name);
  await ip(['link', 'add', BRIDGE, 'type', 'bridge'], name);
  await ip(['addr', 'add', `${BRIDGE_IP}/${POD_PREFIX_LENGTH}`, 'dev', BRIDGE], name);
  await ip(['link', 'set', BRIDGE, 'up'], name);
}

/**
 * Creates a pod namespace joined to the run's bridge: eth0 with `podIp`/16, default route via the
 * bridge. `index` names the host-side veth (`vp<index>`, unique within the run namespace).
 */
export async function createPodNetns(runNetns: string, podNetns: string, index: number, podIp: string): Promise<void> {
  const hostSide = `vp${index}`;
  await ip(['netns', 'add', podNetns]);
  try {
    await ip(['link', 'add', hostSide, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', podNetns], runNetns);
    await ip(['link', 'set', hostSide, 'master', BRIDGE], runNetns);
    await ip(['link', 'set', hostSide, 'up'], runNetns);
    await ip(['link', 'set', 'lo', 'up'], podNetns);
    await ip(['addr', 'add', `${podIp}/${POD_PREFIX_LENGTH}`, 'dev', 'eth0'], podNetns);
    await ip(['link', 'set', 'eth0', 'up'], podNetns);
    await ip(['route', 'add', 'default', 'via', BRIDGE_IP], podNetns);
  } catch (err) {
    destroyNetnsSync(podNetns);
    throw err;
  }
}

/**
 * argv that runs a program inside a namespace. nsenter switches the network namespace only and execs
 * the program (so the pid is the program's). `ip netns exec` would also give it a mount namespace of
 * its own, in which the namespaces the test node creates for pods would be invisible to everyone else.
 */
export function inNetns(netns: string, argv: string[]): string[] {
  return ['nsenter', `--net=/run/netns/${netns}`, '--', ...argv];
}
