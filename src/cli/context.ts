// What every client command needs: an API client and the namespace to work in, from the global
// --kubeconfig / -n flags and the kubeconfig file.

import type { Command } from 'commander';
import { findKind, type ResourceKind } from '../api/registry.js';
import { SluiceClient } from './client.js';
import { CliError } from './errors.js';
import { defaultSource, loadKubeconfig } from './kubeconfig.js';
import { parseOutputFormat, type OutputFormat } from './output.js';

export interface GlobalOptions {
  kubeconfig?: string;
  namespace?: string;
}

export interface Context {
  client: SluiceClient;
  namespace: string;
  /** The clock describe/list use for ages; injectable for tests. */
  now: () => number;
  out: (s: string) => void;
  err: (s: string) => void;
}

export function contextFor(cmd: Command): Context {
  const g = cmd.optsWithGlobals<GlobalOptions>();
  const conn = loadKubeconfig(defaultSource(g.kubeconfig));
  return {
    client: new SluiceClient(conn.server, conn.token, { ca: conn.ca, insecureSkipTlsVerify: conn.insecureSkipTlsVerify }),
    namespace: g.namespace || conn.namespace,
    now: Date.now,
    out: (s) => process.stdout.write(s),
    err: (s) => process.stderr.write(s),
  };
}

/** Resolves a user-typed kind (ksvc, rev, routes, Service...) or fails like kubectl does. */
export function kindArg(name: string): ResourceKind {
  const k = findKind(name);
  if (!k) throw new CliError(`the server doesn't have a resource type "${name}"`);
  return k;
}

export function outputFormat(cmd: Command): OutputFormat {
  return parseOutputFormat(cmd.opts<{ output?: string }>().output);
}

/** Repeatable option collector for commander. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
