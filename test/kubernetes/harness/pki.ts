// The certificates and keys a test control plane needs, made with the openssl command line (as
// kubeadm's "certs" phase would): a cluster CA with the apiserver's serving certificate and client
// certificates (admin in system:masters, the apiserver's kubelet client), a front-proxy CA and client
// for the aggregation layer (metrics-server), the node's serving certificate, and the service-account
// signing key pair. ECDSA P-256 throughout; everything lives in one directory of the run.

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

async function openssl(args: string[]): Promise<void> {
  try {
    await run('openssl', args, { encoding: 'utf8' });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`openssl ${args[0]} failed: ${(e.stderr ?? e.message).trim()}`);
  }
}

async function ecKey(file: string): Promise<void> {
  await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file]);
}

async function makeCa(dir: string, name: string, cn: string): Promise<void> {
  await ecKey(join(dir, `${name}.key`));
  await openssl([
    'req', '-x509', '-new', '-key', join(dir, `${name}.key`), '-out', join(dir, `${name}.crt`),
    '-days', '3650', '-subj', `/CN=${cn}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
  ]); // prettier-ignore
}

interface LeafSpec {
  name: string;
  ca: string;
  subject: string;
  /** serverAuth and/or clientAuth */
  usage: string;
  /** DNS names and IPs for a serving certificate */
  sans?: string[];
}

async function makeLeaf(dir: string, spec: LeafSpec): Promise<void> {
  const key = join(dir, `${spec.name}.key`);
  const csr = join(dir, `${spec.name}.csr`);
  const ext = join(dir, `${spec.name}.ext`);
  await ecKey(key);
  await openssl(['req', '-new', '-key', key, '-out', csr, '-subj', spec.subject]);
  const lines = [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    `extendedKeyUsage=${spec.usage}`,
  ];
  if (spec.sans?.length) {
    lines.push(`subjectAltName=${spec.sans.map((s) => (/^[\d.]+$/.test(s) ? `IP:${s}` : `DNS:${s}`)).join(',')}`);
  }
  writeFileSync(ext, `${lines.join('\n')}\n`);
  await openssl([
    'x509', '-req', '-in', csr, '-CA', join(dir, `${spec.ca}.crt`), '-CAkey', join(dir, `${spec.ca}.key`),
    '-set_serial', `0x${randomBytes(8).toString('hex')}`, '-out', join(dir, `${spec.name}.crt`), '-days', '3650', '-extfile', ext,
  ]); // prettier-ignore
}

export interface Pki {
  dir: string;
  /** path of `<name>.crt` / `<name>.key` in the directory */
  crt(name: string): string;
  key(name: string): string;
}

/** Makes every certificate of a run. `serverIps` go into the apiserver's and the node's certificates. */
export async function makePki(dir: string, opts: { serverIps: string[]; nodeName: string; serviceIp: string }): Promise<Pki> {
  mkdirSync(dir, { recursive: true });
  await Promise.all([makeCa(dir, 'ca', 'sluice-test-ca'), makeCa(dir, 'front-proxy-ca', 'sluice-test-front-proxy-ca')]);
  const apiserverSans = [
    'localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local',
    '127.0.0.1', opts.serviceIp, ...opts.serverIps,
  ]; // prettier-ignore
  await Promise.all([
    makeLeaf(dir, { name: 'apiserver', ca: 'ca', subject: '/CN=kube-apiserver', usage: 'serverAuth', sans: apiserverSans }),
    makeLeaf(dir, { name: 'admin', ca: 'ca', subject: '/O=system:masters/CN=sluice-test-admin', usage: 'clientAuth' }),
    makeLeaf(dir, {
      name: 'apiserver-kubelet-client',
      ca: 'ca',
      subject: '/O=system:masters/CN=kube-apiserver-kubelet-client',
      usage: 'clientAuth',
    }),
    makeLeaf(dir, {
      name: 'node',
      ca: 'ca',
      subject: `/O=system:nodes/CN=system:node:${opts.nodeName}`,
      usage: 'serverAuth,clientAuth',
      sans: [opts.nodeName, 'localhost', '127.0.0.1', ...opts.serverIps],
    }),
    makeLeaf(dir, {
      name: 'metrics-server',
      ca: 'ca',
      subject: '/CN=metrics-server',
      usage: 'serverAuth',
      sans: ['metrics-server.kube-system.svc', 'localhost', '127.0.0.1', ...opts.serverIps],
    }),
    makeLeaf(dir, { name: 'front-proxy-client', ca: 'front-proxy-ca', subject: '/CN=front-proxy-client', usage: 'clientAuth' }),
    ecKey(join(dir, 'sa.key')),
  ]);
  await openssl(['pkey', '-in', join(dir, 'sa.key'), '-pubout', '-out', join(dir, 'sa.pub')]);
  return { dir, crt: (n) => join(dir, `${n}.crt`), key: (n) => join(dir, `${n}.key`) };
}
