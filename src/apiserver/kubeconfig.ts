// Writes a kubeconfig that points stock kubectl at a Sluice API server with a bearer token (and
// the self-signed CA to trust, since kubectl sends tokens only over https).
// The file holds a credential, so it is created private (0600).

import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { stringify } from 'yaml';

export interface KubeconfigOptions {
  /** e.g. http://127.0.0.1:6443 */
  server: string;
  token: string;
  /** Default namespace of the context (default: "default"). */
  namespace?: string;
  /**
   * PEM certificate the client must trust for an https server (the serving certificate from
   * certs.ts). kubectl only sends the token over TLS.
   */
  certificateAuthority?: string;
  /** Name used for the cluster, user and context entries (default: "sluice"). */
  name?: string;
}

export function kubeconfigYaml(o: KubeconfigOptions): string {
  const name = o.name ?? 'sluice';
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name,
        cluster: {
          server: o.server,
          ...(o.certificateAuthority ? { 'certificate-authority-data': Buffer.from(o.certificateAuthority).toString('base64') } : {}),
        },
      },
    ],
    users: [{ name, user: { token: o.token } }],
    contexts: [{ name, context: { cluster: name, user: name, namespace: o.namespace ?? 'default' } }],
    'current-context': name,
    preferences: {},
  });
}

export function writeKubeconfig(path: string, o: KubeconfigOptions): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, kubeconfigYaml(o), { mode: 0o600 });
  chmodSync(path, 0o600); // writeFileSync keeps the mode of an existing file
}
