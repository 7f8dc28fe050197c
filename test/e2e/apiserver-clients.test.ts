// What kubectl and other clients ask the API about itself: `kubectl auth can-i` and `whoami`,
// `kubectl explain`, /openapi/v2, and watch bookmarks.

import assert from 'node:assert/strict';
import { request } from 'node:https';
import { test } from 'node:test';
import { useHarness } from '../support/apiserver-harness.js';

const suite = useHarness();
const ok = suite.ok;

test('kubectl auth can-i answers for what Sluice serves, and whoami names the token user', async () => {
  assert.equal((await ok(['auth', 'can-i', 'create', 'ksvc'])).trim(), 'yes');
  assert.equal((await ok(['auth', 'can-i', 'delete', 'secrets', '-n', 'knative-serving'])).trim(), 'yes');
  assert.equal((await ok(['auth', 'can-i', 'get', 'revisions/log'])).trim(), 'yes');
  const pods = await suite.h.kubectl(['auth', 'can-i', 'get', 'pods']);
  assert.equal(pods.code, 1, 'no, and the exit code says so');
  assert.equal(pods.stdout.trim(), 'no - Sluice does not serve pods');
  const escalate = await suite.h.kubectl(['auth', 'can-i', 'escalate', 'ksvc']);
  assert.equal(escalate.stdout.trim(), 'no - services does not support the verb "escalate"');
  assert.equal((await ok(['auth', 'can-i', 'get', '/version'])).trim(), 'yes');
  assert.match(await ok(['auth', 'can-i', '--list']), /\*\.\*\s+\[\]\s+\[\]\s+\[\*\]/);

  const who = await ok(['auth', 'whoami']);
  assert.match(who, /Username\s+sluice-admin/);
  assert.match(who, /Groups\s+\[system:masters system:authenticated\]/);
});

test('kubectl explain reads the schemas of Knative and core kinds', async () => {
  const svc = await ok(['explain', 'ksvc.spec.template.spec.containerConcurrency']);
  assert.match(svc, /KIND:\s+Service/);
  assert.match(svc, /Maximum number of concurrent requests per container instance/);
  const secret = await ok(['explain', 'secret.stringData']);
  assert.match(secret, /Write-only plain-text values/);
});

test('/openapi/v2 serves Swagger 2.0 as JSON and as the protobuf kubectl asks for', async () => {
  const r = await suite.h.http('GET', '/openapi/v2', { accept: 'application/json' });
  assert.equal(r.status, 200);
  const doc = r.json();
  assert.equal(doc.swagger, '2.0');
  const svc = doc.definitions['dev.knative.serving.v1.Service'];
  assert.deepEqual(svc['x-kubernetes-group-version-kind'], [{ group: 'serving.knative.dev', version: 'v1', kind: 'Service' }]);
  assert.equal(svc.properties.metadata.$ref, '#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta');
  const patch = doc.paths['/apis/serving.knative.dev/v1/namespaces/{namespace}/services/{name}'].patch;
  assert.ok(patch.consumes.includes('application/apply-patch+yaml'));
  assert.equal((await suite.h.http('GET', '/openapi/v2', { accept: 'text/html' })).status, 406);

  // kubectl decodes the protobuf form for its v2 explain.
  const explained = await ok(['explain', 'ksvc.spec.template.spec', '--output', 'plaintext-openapiv2']);
  assert.match(explained, /KIND:\s+Service/);
  assert.match(explained, /containerConcurrency\s+<integer>/);
  assert.match(await ok(['explain', 'secret', '--output', 'plaintext-openapiv2']), /stringData\s+<map\[string\]string>/);
});

/** Reads watch lines until `done` says stop (or the server ends the stream). */
function readWatch(path: string, done: (events: any[]) => boolean): Promise<any[]> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: suite.h.port, path, headers: { Authorization: `Bearer ${suite.h.token}` }, ca: suite.h.ca },
      (res) => {
        let buf = '';
        const events: any[] = [];
        res.on('data', (c: Buffer) => {
          buf += c.toString();
          let i;
          while ((i = buf.indexOf('\n')) >= 0) {
            events.push(JSON.parse(buf.slice(0, i)));
            buf = buf.slice(i + 1);
          }
          if (done(events)) {
            req.destroy();
            resolve(events);
          }
        });
        res.on('end', () => resolve(events));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

test('watch bookmarks: the end of the initial events, and the resourceVersion to resume from before a timeout', async () => {
  await ok(['create', 'configmap', 'watched', '--from-literal=a=1']);
  const base = '/api/v1/namespaces/default/configmaps?watch=1&allowWatchBookmarks=true';
  const initial = await readWatch(`${base}&sendInitialEvents=true&resourceVersionMatch=NotOlderThan`, (ev) =>
    ev.some((e) => e.type === 'BOOKMARK'),
  );
  assert.equal(initial[0].type, 'ADDED');
  const mark = initial.find((e) => e.type === 'BOOKMARK');
  assert.equal(mark.object.kind, 'ConfigMap');
  assert.equal(mark.object.metadata.annotations['k8s.io/initial-events-end'], 'true');
  assert.ok(mark.object.metadata.resourceVersion);

  const rv = JSON.parse(await ok(['get', 'cm', 'watched', '-o', 'json'])).metadata.resourceVersion;
  const timedOut = await readWatch(`${base}&resourceVersion=${rv}&timeoutSeconds=1`, () => false);
  assert.deepEqual(
    timedOut.map((e) => e.type),
    ['BOOKMARK'],
  );
  assert.equal(timedOut[0].object.metadata.resourceVersion, rv);
});
