// A self-signed serving certificate for the API server. kubectl sends a bearer token only over
// TLS (client-go ignores the kubeconfig's credentials for http:// servers), so Sluice serves HTTPS
// with a certificate it makes itself (the `selfsigned` package) and puts it in the kubeconfig as
// the trusted CA.

import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import selfsigned from 'selfsigned';

export interface ServingCert {
  /** PEM certificate; also the CA a client must trust. */
  cert: string;
  /** PEM PKCS#8 private key. */
  key: string;
}

/** Makes a self-signed certificate (ECDSA P-256, SHA-256) for the given DNS names and IP addresses. */
export async function generateSelfSignedCert(
  opts: { hosts?: string[]; commonName?: string; days?: number; now?: Date } = {},
): Promise<ServingCert> {
  const hosts = opts.hosts ?? ['localhost', '127.0.0.1', '::1'];
  const now = opts.now ?? new Date();
  const pems = await selfsigned.generate([{ name: 'commonName', value: opts.commonName ?? 'sluice-apiserver' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: new Date(now.getTime() - 60 * 60 * 1000),
    notAfterDate: new Date(now.getTime() + (opts.days ?? 3650) * 86400000),
    extensions: [
      // A CA, so clients can trust the certificate itself as their root.
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyCertSign: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: hosts.map((h) => (isIP(h) ? { type: 7, ip: h } : { type: 2, value: h })) },
    ],
  } as Parameters<typeof selfsigned.generate>[1]);
  return { cert: pems.cert, key: pems.private };
}

/**
 * Loads the serving certificate kept in `dir` (apiserver.crt / apiserver.key), making a new one
 * when it is missing, unreadable or expires within a day — so kubeconfigs stay valid across restarts.
 */
export async function loadOrCreateServingCert(dir: string, hosts?: string[]): Promise<ServingCert> {
  const certPath = join(dir, 'apiserver.crt');
  const keyPath = join(dir, 'apiserver.key');
  if (existsSync(certPath) && existsSync(keyPath)) {
    try {
      const cert = readFileSync(certPath, 'utf8');
      const key = readFileSync(keyPath, 'utf8');
      const x = new X509Certificate(cert);
      const fresh = Date.parse(x.validTo) > Date.now() + 86400000;
      const matches = x.checkPrivateKey(createPrivateKey(key));
      const covers = (hosts ?? []).every((h) => (isIP(h) ? x.checkIP(h) : x.checkHost(h)) !== undefined);
      if (fresh && matches && covers) return { cert, key };
    } catch {
      // fall through and replace it
    }
  }
  const made = await generateSelfSignedCert(hosts ? { hosts: ['localhost', '127.0.0.1', '::1', ...hosts] } : {});
  mkdirSync(dir, { recursive: true });
  writeFileSync(keyPath, made.key, { mode: 0o600 });
  writeFileSync(certPath, made.cert, { mode: 0o644 });
  return made;
}

/** True when `cert` is signed by its own key (used by tests and sanity checks). */
export function isSelfSigned(cert: string): boolean {
  const x = new X509Certificate(cert);
  return x.verify(createPublicKey(x.publicKey.export({ type: 'spki', format: 'pem' })));
}
