// A self-signed serving certificate for the API server. kubectl only sends a bearer token over
// TLS (client-go ignores the kubeconfig's credentials for http:// servers), so Sluice serves
// HTTPS with a certificate it makes itself and puts in the kubeconfig as the trusted CA. Node can
// sign but not build certificates, hence the small DER encoder below (ECDSA P-256, SHA-256).

import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';

// ---- DER ----

function len(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let x = n; x > 0; x >>= 8) bytes.unshift(x & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
const tlv = (tag: number, content: Buffer) => Buffer.concat([Buffer.from([tag]), len(content.length), content]);
const seq = (...items: Buffer[]) => tlv(0x30, Buffer.concat(items));
const set = (...items: Buffer[]) => tlv(0x31, Buffer.concat(items));
const explicit = (n: number, inner: Buffer) => tlv(0xa0 + n, inner);
const octets = (b: Buffer) => tlv(0x04, b);
const bits = (b: Buffer, unused = 0) => tlv(0x03, Buffer.concat([Buffer.from([unused]), b]));
const utf8 = (s: string) => tlv(0x0c, Buffer.from(s, 'utf8'));
const bool = (v: boolean) => tlv(0x01, Buffer.from([v ? 0xff : 0]));

function integer(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  let v = b.subarray(i);
  if (v[0] & 0x80) v = Buffer.concat([Buffer.from([0]), v]);
  return tlv(0x02, v);
}

function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map(Number);
  const out = [40 * parts[0] + parts[1]];
  for (const p of parts.slice(2)) {
    const chunk: number[] = [p & 0x7f];
    for (let x = p >> 7; x > 0; x >>= 7) chunk.unshift(0x80 | (x & 0x7f));
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

function time(d: Date): Buffer {
  const iso = d.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z'; // YYYYMMDDHHMMSSZ
  return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(iso.slice(2))) : tlv(0x18, Buffer.from(iso));
}

function ipBytes(ip: string): Buffer {
  if (isIP(ip) === 4) return Buffer.from(ip.split('.').map(Number));
  // IPv6: expand "::" and write eight 16-bit groups.
  const [head, tail] = ip.includes('::') ? ip.split('::') : [ip, undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail !== undefined ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g || '0', 16), i * 2));
  return out;
}

const ext = (id: string, critical: boolean, value: Buffer) => seq(oid(id), ...(critical ? [bool(true)] : []), octets(value));

export interface ServingCert {
  /** PEM certificate; also the CA a client must trust. */
  cert: string;
  /** PEM PKCS#8 private key. */
  key: string;
}

/** Makes a self-signed certificate for the given DNS names and IP addresses. */
export function generateSelfSignedCert(
  opts: { hosts?: string[]; commonName?: string; days?: number; now?: Date } = {},
): ServingCert {
  const hosts = opts.hosts ?? ['localhost', '127.0.0.1', '::1'];
  const now = opts.now ?? new Date();
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const name = seq(set(seq(oid('2.5.4.3'), utf8(opts.commonName ?? 'sluice-apiserver'))));
  const ecdsaSha256 = seq(oid('1.2.840.10045.4.3.2'));
  // The key's identifier is the SHA-1 of its bit string, as RFC 5280 suggests.
  const keyId = createHash('sha1').update(spki.subarray(spki.length - 65)).digest();
  const san = seq(
    ...hosts.map((h) => (isIP(h) ? tlv(0x87, ipBytes(h)) : tlv(0x82, Buffer.from(h, 'ascii')))),
  );
  const serial = randomBytes(16);
  serial[0] &= 0x7f;
  const tbs = seq(
    explicit(0, integer(Buffer.from([2]))),
    integer(serial),
    ecdsaSha256,
    name,
    seq(time(new Date(now.getTime() - 60 * 60 * 1000)), time(new Date(now.getTime() + (opts.days ?? 3650) * 86400000))),
    name,
    spki,
    explicit(
      3,
      seq(
        ext('2.5.29.19', true, seq(bool(true))), // basicConstraints: CA, so clients can trust it as a root
        ext('2.5.29.15', true, bits(Buffer.from([0x84]), 2)), // keyUsage: digitalSignature, keyCertSign
        ext('2.5.29.37', false, seq(oid('1.3.6.1.5.5.7.3.1'))), // extKeyUsage: serverAuth
        ext('2.5.29.14', false, octets(keyId)), // subjectKeyIdentifier
        ext('2.5.29.17', false, san), // subjectAltName
      ),
    ),
  );
  const signature = sign('sha256', tbs, privateKey);
  const der = seq(tbs, ecdsaSha256, bits(signature));
  const cert = `-----BEGIN CERTIFICATE-----\n${der.toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`;
  return { cert, key: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
}

/**
 * Loads the serving certificate kept in `dir` (apiserver.crt / apiserver.key), making a new one
 * when it is missing, unreadable or expires within a day — so kubeconfigs stay valid across restarts.
 */
export function loadOrCreateServingCert(dir: string, hosts?: string[]): ServingCert {
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
  const made = generateSelfSignedCert({ hosts });
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
