// Core v1 ConfigMaps, Secrets and Events with the stock kubectl against a real Sluice API server:
// create, read back as YAML, watch, apply, delete; Secret data in base64 and never shown by
// describe; Events in both API groups, with kubectl's columns and field selectors.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { parse } from 'yaml';
import { StoreEventRecorder } from '../../src/events/recorder.js';
import { waitFor } from '../support/poll.js';
import { KUBECTL, useHarness } from '../support/apiserver-harness.js';

const suite = useHarness();
const ok = suite.ok;

test('ConfigMap: create from literals, -o yaml, apply, get columns, delete', async () => {
  assert.match(
    await ok(['create', 'configmap', 'app-config', '--from-literal=greeting=hello', '--from-literal=mode=fast']),
    /configmap\/app-config created/,
  );
  const cm = parse(await ok(['get', 'configmap', 'app-config', '-o', 'yaml']));
  assert.deepEqual(cm.data, { greeting: 'hello', mode: 'fast' });
  assert.ok(cm.metadata.uid && cm.metadata.resourceVersion);
  assert.match(await ok(['get', 'cm', 'app-config']), /^app-config\s+2\s+\d+s$/m);
  const applied = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app-config\ndata:\n  greeting: bonjour\n`;
  assert.match(await ok(['apply', '-f', '-'], applied), /configmap\/app-config (configured|serverside-applied)/);
  assert.equal(await ok(['get', 'cm', 'app-config', '-o', 'jsonpath={.data.greeting}']), 'bonjour');
  const bad = await suite.h.kubectl(['create', 'configmap', 'bad-keys', '--from-literal=a b=1']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /a valid config key must consist of alphanumeric characters|is not a valid key name/);
  assert.match(await ok(['delete', 'configmap', 'app-config']), /configmap "app-config" deleted/);
});

test('Secret: data is base64 as on Kubernetes, stringData merges in, describe shows only sizes', async () => {
  assert.match(await ok(['create', 'secret', 'generic', 'db', '--from-literal=password=s3cr3t-value']), /secret\/db created/);
  const s = parse(await ok(['get', 'secret', 'db', '-o', 'yaml']));
  assert.equal(s.type, 'Opaque');
  assert.equal(s.data.password, Buffer.from('s3cr3t-value').toString('base64'));
  assert.match(await ok(['get', 'secrets']), /^db\s+Opaque\s+1\s+\d+s$/m);

  const withString = `apiVersion: v1\nkind: Secret\nmetadata:\n  name: api\nstringData:\n  token: plain-token-text\n`;
  await ok(['apply', '-f', '-'], withString);
  const api = JSON.parse(await ok(['get', 'secret', 'api', '-o', 'json']));
  assert.equal(api.data.token, Buffer.from('plain-token-text').toString('base64'));
  assert.equal(api.stringData, undefined, 'stringData is write-only');

  const described = await ok(['describe', 'secret', 'db']);
  assert.match(described, /password:\s+12 bytes/);
  assert.doesNotMatch(described, /s3cr3t-value/);

  const r = await suite.h.http('POST', '/api/v1/namespaces/default/secrets', {
    body: JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'broken' }, data: { k: 'not base64!' } }),
    contentType: 'application/json',
  });
  assert.equal(r.status, 400);
  assert.match(r.json().message, /illegal base64 data at input byte 3/);
});

test('kubectl get secret --watch sees a change as it happens', async () => {
  const child = spawn(KUBECTL, ['get', 'secret', 'db', '--watch', '-o', 'jsonpath={.data.password}{"\\n"}'], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin',
      HOME: suite.h.dir,
      KUBECONFIG: suite.h.kubeconfig,
      KUBECACHEDIR: `${suite.h.dir}/kube-cache`,
    },
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  try {
    await waitFor('the first watch line', () => out.includes(Buffer.from('s3cr3t-value').toString('base64')));
    await ok(['patch', 'secret', 'db', '-p', JSON.stringify({ stringData: { password: 'rotated' } })]);
    await waitFor('the changed secret', () => out.includes(Buffer.from('rotated').toString('base64')));
  } finally {
    child.kill();
  }
});

test('Events: written by the recorder, aggregated, listed by kubectl in both API groups', async () => {
  const recorder = new StoreEventRecorder({ store: suite.h.store });
  const svc = { apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name: 'hello', namespace: 'default', uid: 'u-1' } };
  recorder.recordEvent(svc, 'Normal', 'RevisionReady', 'Revision "hello-00001" is ready');
  recorder.recordEvent(svc, 'Normal', 'RevisionReady', 'Revision "hello-00001" is ready');
  recorder.recordEvent(svc, 'Warning', 'ColdStartFailed', 'Revision "hello-00001" failed to start: ExitCode1: boom');
  await recorder.flush();

  const table = await ok(['get', 'events']);
  assert.match(table, /^LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE$/m);
  assert.match(table, /Normal\s+RevisionReady\s+service\/hello\s+Revision "hello-00001" is ready/);
  assert.match(table, /Warning\s+ColdStartFailed\s+service\/hello/);
  const list = JSON.parse(await ok(['get', 'events', '--field-selector', 'reason=RevisionReady', '-o', 'json']));
  assert.equal(list.items.length, 1, 'the repeat was aggregated');
  assert.equal(list.items[0].count, 2);

  const v1 = JSON.parse(await ok(['get', 'events.v1.events.k8s.io', '-o', 'json']));
  const ready = v1.items.find((e: any) => e.reason === 'RevisionReady');
  assert.equal(ready.apiVersion, 'events.k8s.io/v1');
  assert.equal(ready.note, 'Revision "hello-00001" is ready');
  assert.equal(ready.regarding.name, 'hello');
  assert.equal(ready.deprecatedCount, 2);

  const warnings = await ok(['get', 'events', '--field-selector', 'type=Warning,involvedObject.name=hello']);
  assert.match(warnings, /ColdStartFailed/);
  assert.doesNotMatch(warnings, /RevisionReady/);
});
