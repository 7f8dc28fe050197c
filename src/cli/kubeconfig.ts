// Finds and reads the kubeconfig that tells the CLI where the Sluice API is and which token to
// present. Only the parts of the kubeconfig format Sluice writes are read: the current context's
// cluster server, its user's bearer token and its namespace.

import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import YAML from 'yaml';
import { CliError } from './errors.js';

export interface KubeconfigSource {
  /** --kubeconfig */
  flag?: string;
  env: Record<string, string | undefined>;
  home: string;
}

export interface Connection {
  server: string;
  token?: string;
  /** PEM of the CA that signed an https server's certificate. */
  ca?: string;
  insecureSkipTlsVerify?: boolean;
  namespace: string;
  /** The file it came from, for error messages. */
  path: string;
}

/**
 * Which file to read, in order: --kubeconfig, SLUICE_KUBECONFIG, KUBECONFIG (its first entry,
 * since KUBECONFIG may be a path list), ~/.sluice/kubeconfig.yaml.
 */
export function resolveKubeconfigPath(src: KubeconfigSource): string {
  if (src.flag) return src.flag;
  const sluice = src.env.SLUICE_KUBECONFIG;
  if (sluice) return sluice;
  const kube = src.env.KUBECONFIG?.split(delimiter).find((p) => p !== '');
  if (kube) return kube;
  return join(src.home, '.sluice', 'kubeconfig.yaml');
}

/** kubeconfig lists are `[{name, <field>: {...}}]`; returns the named entry's <field>. */
function pick<T>(list: unknown, name: string | undefined, field: string): T | undefined {
  if (!Array.isArray(list) || name === undefined) return undefined;
  const entry = (list as Record<string, unknown>[]).find((e) => e && e.name === name);
  return entry ? (entry[field] as T) : undefined;
}

/** Parses kubeconfig text; `path` only labels error messages. */
export function parseKubeconfig(text: string, path: string): Connection {
  let doc: any;
  try {
    doc = YAML.parse(text);
  } catch (e) {
    throw new CliError(`kubeconfig ${path} is not valid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  if (!doc || typeof doc !== 'object') throw new CliError(`kubeconfig ${path} is empty`);
  const ctxName: string | undefined =
    doc['current-context'] ?? (Array.isArray(doc.contexts) && doc.contexts.length === 1 ? doc.contexts[0]?.name : undefined);
  if (!ctxName) throw new CliError(`kubeconfig ${path} has no current-context`);
  const ctx = pick<{ cluster?: string; user?: string; namespace?: string }>(doc.contexts, ctxName, 'context');
  if (!ctx) throw new CliError(`kubeconfig ${path}: context "${ctxName}" not found`);
  const cluster = pick<Record<string, any>>(doc.clusters, ctx.cluster, 'cluster');
  if (!cluster?.server) throw new CliError(`kubeconfig ${path}: cluster "${ctx.cluster ?? ''}" has no server`);
  const user = pick<{ token?: string }>(doc.users, ctx.user, 'user');
  let ca: string | undefined;
  if (cluster['certificate-authority-data']) ca = Buffer.from(String(cluster['certificate-authority-data']), 'base64').toString('utf8');
  else if (cluster['certificate-authority']) {
    try {
      ca = readFileSync(String(cluster['certificate-authority']), 'utf8');
    } catch (e) {
      throw new CliError(
        `kubeconfig ${path}: cannot read certificate-authority ${cluster['certificate-authority']}: ${(e as Error).message}`,
      );
    }
  }
  return {
    server: String(cluster.server).replace(/\/+$/, ''),
    token: user?.token ? String(user.token) : undefined,
    ...(ca ? { ca } : {}),
    ...(cluster['insecure-skip-tls-verify'] === true ? { insecureSkipTlsVerify: true } : {}),
    namespace: ctx.namespace ? String(ctx.namespace) : 'default',
    path,
  };
}

export function loadKubeconfig(src: KubeconfigSource): Connection {
  const path = resolveKubeconfigPath(src);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new CliError(
        `no kubeconfig at ${path} (start "sluice server", or point --kubeconfig / SLUICE_KUBECONFIG at its kubeconfig.yaml)`,
      );
    }
    throw new CliError(`cannot read kubeconfig ${path}: ${(e as Error).message}`);
  }
  return parseKubeconfig(text, path);
}

export function defaultSource(flag?: string): KubeconfigSource {
  return { flag, env: process.env, home: homedir() };
}
