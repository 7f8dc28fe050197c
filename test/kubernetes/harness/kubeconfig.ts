// Reads a kubeconfig's current context (server, CA, client certificate) into the harness's REST
// client, for running the suite against an existing cluster (SLUICE_TEST_KUBECONFIG). Client
// certificates only: that is what test clusters (kind, kubeadm, this harness) hand out.

import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import YAML from 'yaml';
import { KubeRest } from './kube-rest.js';

interface Named<T> {
  name: string;
  [k: string]: unknown;
  value?: T;
}

export function loadKubeRest(file: string): KubeRest {
  const doc = YAML.parse(readFileSync(file, 'utf8')) as Record<string, any>;
  const pick = <T>(list: Named<T>[] | undefined, name: string, key: string): any => list?.find((e) => e.name === name)?.[key];
  const context = pick(doc.contexts, doc['current-context'], 'context');
  if (!context) throw new Error(`${file}: no current context`);
  const cluster = pick(doc.clusters, context.cluster, 'cluster');
  const user = pick(doc.users, context.user, 'user') ?? {};
  const base = dirname(file);
  const data = (inline: string | undefined, path: string | undefined, what: string): string => {
    if (inline) return Buffer.from(inline, 'base64').toString('utf8');
    if (path) return readFileSync(resolve(base, path), 'utf8');
    throw new Error(`${file}: the current context has no ${what} (only client-certificate users are supported)`);
  };
  return new KubeRest({
    server: cluster.server,
    ca: data(cluster['certificate-authority-data'], cluster['certificate-authority'], 'certificate authority'),
    cert: data(user['client-certificate-data'], user['client-certificate'], 'client certificate'),
    key: data(user['client-key-data'], user['client-key'], 'client key'),
  });
}
