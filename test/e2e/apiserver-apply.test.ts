// Server-side apply with field ownership, driven by the stock `kubectl apply --server-side`:
// managedFields per manager, 409 conflicts with Kubernetes' message, --force-conflicts moving
// ownership, removal of a field its only applier stopped applying, and updates (kubectl patch,
// client-side apply) owning what they change.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { useHarness } from '../support/apiserver-harness.js';

const suite = useHarness();
const ok = suite.ok;

const cm = (data: Record<string, string>, labels?: Record<string, string>) =>
  JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', ...(labels ? { labels } : {}) }, data });

const applyAs = (manager: string, body: string, ...extra: string[]) =>
  suite.h.kubectl(['apply', '--server-side', `--field-manager=${manager}`, ...extra, '-f', '-'], { input: body });

const get = async () => JSON.parse(await ok(['get', 'configmap', 'settings', '-o', 'json', '--show-managed-fields']));
const managers = (o: any) =>
  Object.fromEntries((o.metadata.managedFields ?? []).map((e: any) => [`${e.manager}/${e.operation}`, e.fieldsV1]));

test('a second manager changing an owned field gets a 409 naming the conflict; --force-conflicts takes it over', async () => {
  let r = await applyAs('alice', cm({ a: '1', b: '2' }, { team: 'x' }));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /configmap\/settings serverside-applied/);
  let o = await get();
  assert.deepEqual(managers(o)['alice/Apply'], { 'f:data': { 'f:a': {}, 'f:b': {} }, 'f:metadata': { 'f:labels': { 'f:team': {} } } });

  r = await applyAs('bob', cm({ a: '9' }));
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /Apply failed with 1 conflict: conflict with "alice": \.data\.a/);
  assert.equal((await get()).data.a, '1', 'nothing changed');

  // Applying the same value is no conflict: both own it.
  r = await applyAs('bob', cm({ b: '2' }));
  assert.equal(r.code, 0, r.stderr);

  r = await applyAs('bob', cm({ a: '9', b: '2' }), '--force-conflicts');
  assert.equal(r.code, 0, r.stderr);
  o = await get();
  assert.equal(o.data.a, '9');
  assert.deepEqual(managers(o)['alice/Apply'], { 'f:data': { 'f:b': {} }, 'f:metadata': { 'f:labels': { 'f:team': {} } } });
  assert.deepEqual(managers(o)['bob/Apply'], { 'f:data': { 'f:a': {}, 'f:b': {} } });
});

test('a field dropped from an applied configuration is removed when no one else owns it', async () => {
  // alice stops applying a, b and the label: a and b are also bob's, the label only alice's.
  const r = await applyAs('alice', cm({ c: '3' }));
  assert.equal(r.code, 0, r.stderr);
  const o = await get();
  assert.deepEqual(o.data, { a: '9', b: '2', c: '3' });
  assert.equal(o.metadata.labels, undefined, 'the label only alice owned is gone');

  const r2 = await applyAs('bob', cm({ c: '3' }));
  assert.equal(r2.code, 0, r2.stderr);
  assert.deepEqual((await get()).data, { c: '3' });
});

test('updates own the fields they change: kubectl patch, then an apply that disagrees conflicts with it', async () => {
  await ok(['patch', 'configmap', 'settings', '--type=merge', '-p', '{"data":{"c":"patched"}}']);
  const o = await get();
  assert.deepEqual(managers(o)['kubectl-patch/Update'], { 'f:data': { 'f:c': {} } });
  assert.equal(managers(o)['alice/Apply'], undefined, 'alice lost c to the patch and owns nothing else');

  const r = await applyAs('bob', cm({ c: '3' }));
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /conflict with "kubectl-patch" using v1: \.data\.c/);
  assert.match(r.stderr, /--force-conflicts/, 'kubectl explains how to resolve it');
});

test('client-side apply records kubectl-client-side-apply; server-side apply of a Knative Service conflicts on its container list', async () => {
  const svc = (image: string) =>
    JSON.stringify({
      apiVersion: 'serving.knative.dev/v1',
      kind: 'Service',
      metadata: { name: 'ssa-svc' },
      spec: { template: { spec: { containers: [{ image }] } } },
    });
  await ok(['apply', '-f', '-'], svc('example.com/app:v1'));
  let o = JSON.parse(await ok(['get', 'ksvc', 'ssa-svc', '-o', 'json', '--show-managed-fields']));
  const csa = o.metadata.managedFields.find((e: any) => e.manager === 'kubectl-client-side-apply');
  assert.equal(csa.operation, 'Update');
  assert.ok(csa.fieldsV1['f:spec']['f:template']['f:spec']['f:containers'], JSON.stringify(csa.fieldsV1));

  const r = await suite.h.kubectl(['apply', '--server-side', '--field-manager=flux', '-f', '-'], { input: svc('example.com/app:v2') });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /conflict with "kubectl-client-side-apply" using serving\.knative\.dev\/v1: \.spec\.template\.spec\.containers/);

  const forced = await suite.h.kubectl(['apply', '--server-side', '--field-manager=flux', '--force-conflicts', '-f', '-'], {
    input: svc('example.com/app:v2'),
  });
  assert.equal(forced.code, 0, forced.stderr);
  o = JSON.parse(await ok(['get', 'ksvc', 'ssa-svc', '-o', 'json', '--show-managed-fields']));
  assert.equal(o.spec.template.spec.containers[0].image, 'example.com/app:v2');
  assert.ok(o.metadata.managedFields.some((e: any) => e.manager === 'flux' && e.operation === 'Apply'));
});

test('apply without a field manager, or with managedFields in the body, is refused as Kubernetes does', async () => {
  const path = '/api/v1/namespaces/default/configmaps/settings';
  let r = await suite.h.http('PATCH', path, { body: cm({ c: '3' }), contentType: 'application/apply-patch+yaml' });
  assert.equal(r.status, 422);
  assert.match(r.json().message, /fieldManager: Required value: is required for apply patch/);
  const withFields = JSON.stringify({ ...JSON.parse(cm({ c: '3' })), metadata: { name: 'settings', managedFields: [] } });
  r = await suite.h.http('PATCH', `${path}?fieldManager=x`, { body: withFields, contentType: 'application/apply-patch+yaml' });
  assert.equal(r.status, 400);
  assert.match(r.json().message, /metadata\.managedFields must be nil/);
});

test("a PUT that leaves managedFields out keeps them; one with an empty list clears them (Kubernetes' rule)", async () => {
  const path = '/api/v1/namespaces/default/configmaps/fields-kept';
  const body = (o: object) => JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', ...o });
  let r = await suite.h.http('POST', '/api/v1/namespaces/default/configmaps', {
    body: body({ metadata: { name: 'fields-kept' }, data: { a: '1' } }),
    contentType: 'application/json',
  });
  assert.equal(r.status, 201, r.body);
  const created = r.json();
  assert.equal(created.metadata.managedFields?.length, 1);
  const { managedFields: _, ...metadata } = created.metadata;
  r = await suite.h.http('PUT', path, { body: body({ metadata, data: { a: '1', b: '2' } }), contentType: 'application/json' });
  assert.equal(r.status, 200, r.body);
  const entries = r.json().metadata.managedFields;
  assert.equal(entries.length, 1, 'kept, and the change is owned by the same manager');
  assert.ok('f:a' in entries[0].fieldsV1['f:data'] && 'f:b' in entries[0].fieldsV1['f:data'], JSON.stringify(entries));
  const current = r.json();
  r = await suite.h.http('PUT', path, {
    body: body({ metadata: { ...current.metadata, managedFields: [] }, data: current.data }),
    contentType: 'application/json',
  });
  assert.equal(r.status, 200, r.body);
  assert.equal(r.json().metadata.managedFields, undefined);
  r = await suite.h.http('GET', path);
  assert.equal(r.json().metadata.managedFields, undefined, 'cleared in the store too');
});
