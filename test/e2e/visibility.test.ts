// Cluster-local visibility end to end: a Service labelled networking.knative.dev/visibility:
// cluster-local shows Knative's cluster-local URLs, is unknown to the public gateway listener, and
// is reached from another service's instance through the internal listener named by
// SLUICE_LOCAL_GATEWAY; removing the label makes it public again.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { waitFor } from '../support/poll.js';
import { applyDoc, EXAMPLE_IMAGE, gatewayGet, kubectl, startTestSluice } from '../support/sluice.js';

/** An app that forwards GET /?host=H to $SLUICE_LOCAL_GATEWAY with Host H and answers with what came back. */
const CALLER = `
const http = require('node:http');
http.createServer((req, res) => {
  const host = new URL(req.url, 'http://x').searchParams.get('host');
  const gw = new URL(process.env.SLUICE_LOCAL_GATEWAY);
  http.get({ hostname: gw.hostname, port: gw.port, path: '/', headers: { host } }, (up) => {
    let body = '';
    up.on('data', (c) => (body += c));
    up.on('end', () => res.end(up.statusCode + ' ' + body));
  }).on('error', (e) => res.end('error ' + e.message));
}).listen(Number(process.env.PORT), process.env.HOST);
`;

const service = (name: string, labels: Record<string, string>, container: Record<string, unknown>, traffic?: unknown[]) =>
  JSON.stringify({
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: { name, namespace: 'default', labels },
    spec: { template: { spec: { containers: [container] } }, ...(traffic ? { traffic } : {}) },
  });

const ready = (o: any) => o?.status?.conditions?.find((c: any) => c.type === 'Ready')?.status === 'True';

test('a cluster-local Service: cluster-local URLs, unknown to the public listener, reached from an instance', async (t) => {
  const s = await startTestSluice(t);
  const kc = s.kubeconfigPath;
  const get = async (kind: string, name: string) => parse((await kubectl(kc, ['get', kind, name, '-o', 'yaml'])).stdout);
  await applyDoc(
    s,
    service(
      'private',
      { 'networking.knative.dev/visibility': 'cluster-local' },
      { image: EXAMPLE_IMAGE, env: [{ name: 'RESOURCE', value: 'private' }] },
      [{ tag: 'current', latestRevision: true, percent: 100 }],
    ),
  );
  const ksvc = await waitFor('private ready', async () => {
    const o = await get('ksvc', 'private');
    return ready(o) ? o : undefined;
  });
  assert.equal(ksvc.status.url, 'http://private.default.svc.cluster.local');
  assert.equal(ksvc.status.address.url, 'http://private.default.svc.cluster.local');
  assert.equal(
    ksvc.status.traffic[0].url,
    'http://current-private.default.svc.cluster.local',
    'a tag of a cluster-local route is cluster-local',
  );
  const route = await get('route', 'private');
  assert.equal(route.metadata.labels['networking.knative.dev/visibility'], 'cluster-local', 'the label is on the Route');
  assert.equal(route.status.url, 'http://private.default.svc.cluster.local');

  // The public listener knows none of its names.
  for (const host of [
    'private.default.example.com',
    'private.default.svc.cluster.local',
    'private.default',
    'current-private.default.svc.cluster.local',
  ]) {
    const r = await gatewayGet(s.gatewayPort, host);
    assert.equal(r.status, 404, `${host} on the public listener`);
    assert.match(r.body, /no service is routed at host/);
  }
  // The internal listener answers every form Knative programs for it.
  const internalPort = Number(new URL(s.internalGatewayUrl).port);
  for (const host of [
    'private.default.svc.cluster.local',
    'private.default.svc',
    'private.default',
    'current-private.default.svc.cluster.local',
  ]) {
    const r = await gatewayGet(internalPort, host);
    assert.deepEqual([r.status, r.body], [200, 'Welcome to the private app! \n'], `${host} on the internal listener`);
  }

  // A public Service's instance reaches it through the address in its environment.
  await applyDoc(s, service('caller', {}, { image: EXAMPLE_IMAGE, command: [process.execPath, '-e', CALLER] }));
  const caller = await waitFor('caller ready', async () => {
    const o = await get('ksvc', 'caller');
    return ready(o) ? o : undefined;
  });
  assert.equal(caller.status.url, 'http://caller.default.example.com');
  assert.equal(caller.status.address.url, 'http://caller.default.svc.cluster.local', 'address is cluster-local for a public Service too');
  const viaInstance = await gatewayGet(s.gatewayPort, 'caller.default.example.com', '/?host=private.default.svc.cluster.local');
  assert.equal(viaInstance.body, '200 Welcome to the private app! \n');
  assert.equal((await gatewayGet(internalPort, 'caller.default.svc.cluster.local', '/?host=current-private.default')).status, 200);

  // Without the label it is public again.
  const r = await kubectl(kc, ['label', 'ksvc', 'private', 'networking.knative.dev/visibility-']);
  assert.equal(r.code, 0, r.stderr);
  await waitFor('private public', async () => (await get('ksvc', 'private')).status?.url === 'http://private.default.example.com');
  await waitFor('public listener serves it', async () => (await gatewayGet(s.gatewayPort, 'private.default.example.com')).status === 200);
  assert.equal((await get('ksvc', 'private')).status.address.url, 'http://private.default.svc.cluster.local');
  assert.equal((await gatewayGet(s.gatewayPort, 'private.default.svc.cluster.local')).status, 404, 'the cluster-local name stays internal');
});
