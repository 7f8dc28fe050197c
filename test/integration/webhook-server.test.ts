// The admission webhook server over real HTTPS with its own certificate: kube-apiserver's
// AdmissionReview in, Knative's defaults and denials out; its configurations carry its CA.

import assert from 'node:assert/strict';
import { request } from 'node:https';
import { after, before, test } from 'node:test';
import { webhookConfigurations } from '../../src/webhook/configurations.js';
import { createWebhookServer, type WebhookServer } from '../../src/webhook/server.js';

let server: WebhookServer;
let port: number;

before(async () => {
  server = await createWebhookServer({ hosts: ['127.0.0.1'], lookupRevision: async () => undefined });
  port = await server.listen(0, '127.0.0.1');
});
after(() => server.close());

function post(path: string, body: unknown): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const text = JSON.stringify(body);
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        ca: server.cert.cert,
        headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
      },
    );
    req.on('error', reject);
    req.end(text);
  });
}

const review = (traffic: unknown[]) => ({
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  request: {
    uid: 'abc',
    kind: { group: 'serving.knative.dev', version: 'v1', kind: 'Service' },
    operation: 'CREATE',
    userInfo: { username: 'kubernetes-admin' },
    object: {
      apiVersion: 'serving.knative.dev/v1',
      kind: 'Service',
      metadata: { name: 's', namespace: 'default' },
      spec: { template: { spec: { containers: [{ image: 'x' }] } }, traffic },
    },
  },
});

test('the certificate verifies for the address it was made for, and both paths answer AdmissionReviews', async () => {
  const denied = await post('/validation', review([{ latestRevision: true, percent: 80 }]));
  assert.equal(denied.status, 200);
  assert.equal(denied.json.kind, 'AdmissionReview');
  assert.equal(denied.json.response.uid, 'abc');
  assert.equal(denied.json.response.allowed, false);
  assert.equal(denied.json.response.status.message, 'validation failed: Traffic targets sum to 80, want 100: spec.traffic');

  const mutated = await post('/defaulting', review([{ latestRevision: true, percent: 100 }]));
  assert.equal(mutated.json.response.allowed, true);
  const ops = JSON.parse(Buffer.from(mutated.json.response.patch, 'base64').toString('utf8'));
  assert.ok(
    ops.some((op: any) => op.path === '/metadata/annotations' && op.value['serving.knative.dev/creator'] === 'kubernetes-admin'),
    JSON.stringify(ops),
  );
});

test('anything that is not a review is a 400 with a reason, not a crash', async () => {
  const r = await post('/validation', { hello: 1 });
  assert.equal(r.status, 400);
  assert.match(r.json.message, /AdmissionReview/);
});

test('the configurations name the webhooks as Knative does and carry the CA', () => {
  const { mutating, validating } = webhookConfigurations({ url: `https://127.0.0.1:${port}` }, server.cert.cert);
  const v = (validating.webhooks as any[])[0];
  assert.equal(v.name, 'validation.webhook.serving.knative.dev');
  assert.equal(v.clientConfig.url, `https://127.0.0.1:${port}/validation`);
  assert.equal(Buffer.from(v.clientConfig.caBundle, 'base64').toString('utf8'), server.cert.cert);
  assert.equal((mutating.webhooks as any[])[0].name, 'webhook.serving.knative.dev');
});
