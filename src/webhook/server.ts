// The admission webhook server: one HTTPS listener with /defaulting (mutating) and /validation
// (validating) for kube-apiserver's AdmissionReviews, /healthz, and /readyz (which `sluice
// controller` makes report the leader only, so its Services send to the leader's pod). It makes its own serving
// certificate (a self-signed CA for the names the API server will dial) and puts that CA into its
// Mutating/ValidatingWebhookConfigurations, as knative.dev/pkg's webhook does.

import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { RevisionLookup } from '../api/admission.js';
import { generateSelfSignedCert, type ServingCert } from '../apiserver/certs.js';
import type { KubeClient } from '../kube/client.js';
import { T } from '../kube/resources.js';
import { webhookConfigurations, type WebhookTarget } from './configurations.js';
import { mutate, validate } from './review.js';

const MAX_BODY = 8 * 1024 * 1024;

export interface WebhookServer {
  readonly cert: ServingCert;
  listen(port: number, host?: string): Promise<number>;
  close(): Promise<void>;
}

export interface WebhookServerOptions {
  /** DNS names and IPs the certificate must cover (the Service's names, or the URL's host). */
  hosts: string[];
  lookupRevision: RevisionLookup;
  /** What /readyz reports (default always ready); /healthz is always 200. */
  ready?: () => boolean;
  log?: (msg: string) => void;
}

export async function createWebhookServer(o: WebhookServerOptions): Promise<WebhookServer> {
  const cert = await generateSelfSignedCert({ hosts: o.hosts, commonName: 'sluice-webhook' });
  const server: Server = createServer({ cert: cert.cert, key: cert.key }, (req, res) => {
    const send = (code: number, body: unknown) => {
      const text = JSON.stringify(body);
      res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
      res.end(text);
    };
    const path = (req.url ?? '').split('?')[0];
    if (req.method === 'GET' && path === '/healthz') return send(200, { status: 'ok' });
    if (req.method === 'GET' && path === '/readyz') {
      return (o.ready ?? (() => true))() ? send(200, { status: 'ok' }) : send(503, { status: 'not leading' });
    }
    if (req.method !== 'POST' || (path !== '/defaulting' && path !== '/validation'))
      return send(404, { message: `no handler for ${req.method} ${path}` });
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) req.destroy();
      else chunks.push(c);
    });
    req.on('end', () => {
      void (async () => {
        let body: unknown;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          return send(400, { message: 'the request body is not JSON' });
        }
        try {
          send(200, path === '/defaulting' ? mutate(body) : await validate(body, o.lookupRevision));
        } catch (e) {
          o.log?.(`webhook: ${path} failed: ${(e as Error).stack ?? String(e)}`);
          send(400, { message: (e as Error).message });
        }
      })();
    });
  });
  return {
    cert,
    listen: (port, host = '0.0.0.0') =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
      }),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Writes the two webhook configurations with this server's CA (server-side apply, forced). */
export async function registerWebhooks(client: KubeClient, target: WebhookTarget, caBundle: string): Promise<void> {
  const { mutating, validating } = webhookConfigurations(target, caBundle);
  await client.apply(T.mutatingWebhooks, mutating, { force: true });
  await client.apply(T.validatingWebhooks, validating, { force: true });
}
