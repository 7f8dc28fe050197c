// The stock kubectl against a real Sluice API server: the article's workflow (apply v1alpha1
// YAML, then an update with traffic), discovery, server-side printing, selectors, patches, watch,
// and the errors kubectl users see.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { waitFor } from '../support/poll.js';
import { articleServiceYaml, KUBECTL, startHarness, type Harness } from '../support/apiserver-harness.js';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.stop();
});

const ok = async (args: string[], input?: string) => {
  const r = await h.kubectl(args, { input });
  assert.equal(r.code, 0, `kubectl ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
};

test('discovery: kubectl api-resources lists the Knative kinds with short names', async () => {
  const out = await ok(['api-resources']);
  assert.match(out, /^services\s+ksvc,kservice\s+serving\.knative\.dev\/v1\s+true\s+Service$/m);
  assert.match(out, /^revisions\s+rev\s+serving\.knative\.dev\/v1\s+true\s+Revision$/m);
  assert.match(out, /^podautoscalers\s+kpa,pa\s+autoscaling\.internal\.knative\.dev\/v1alpha1\s+true\s+PodAutoscaler$/m);
  assert.match(out, /^namespaces\s+ns\s+v1\s+false\s+Namespace$/m);
  const versions = await ok(['api-versions']);
  for (const v of ['serving.knative.dev/v1', 'serving.knative.dev/v1beta1', 'serving.knative.dev/v1alpha1', 'v1']) {
    assert.ok(versions.split('\n').includes(v), `api-versions lacks ${v}: ${versions}`);
  }
});

test("the article's workflow: apply v1alpha1 YAML, read it back, apply the traffic split", async () => {
  const file = join(h.dir, 'revision-v1.yaml');
  writeFileSync(file, articleServiceYaml());
  assert.match(await ok(['apply', '-f', file]), /service\.serving\.knative\.dev\/stock-service-example created/);

  const got = JSON.parse(await ok(['get', 'ksvc', 'stock-service-example', '--output', 'json']));
  assert.equal(got.apiVersion, 'serving.knative.dev/v1');
  assert.equal(got.spec.template.metadata.name, 'stock-service-example-v1');
  assert.equal(got.spec.template.spec.containers[0].env[0].value, 'v1');
  // Knative's defaults were applied by admission.
  assert.deepEqual(got.spec.traffic, [{ latestRevision: true, percent: 100 }]);
  assert.ok(got.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']);

  // Asking for the object at v1alpha1 answers in v1alpha1.
  const alpha = await ok(['get', 'services.v1alpha1.serving.knative.dev', 'stock-service-example', '-o', 'yaml']);
  assert.match(alpha, /^apiVersion: serving\.knative\.dev\/v1alpha1$/m);

  const file2 = join(h.dir, 'revision-v2.yaml');
  writeFileSync(file2, articleServiceYaml({ revision: 'v2', resource: 'v2', traffic: true }));
  assert.match(await ok(['apply', '-f', file2]), /stock-service-example configured/);
  const traffic = await ok(['get', 'ksvc', 'stock-service-example', '-o', "jsonpath={.spec.traffic[?(@.tag=='v2')].percent}"]);
  assert.equal(traffic, '50');
  const tmplName = await ok(['get', 'ksvc', 'stock-service-example', '-o', 'jsonpath={.spec.template.metadata.name}']);
  assert.equal(tmplName, 'stock-service-example-v2');
});

test('kubectl get prints the printer columns of the registry (server-side Table)', async () => {
  // Fill in the status the controllers would write, through the /status subresource.
  const cur = JSON.parse(await ok(['get', 'ksvc', 'stock-service-example', '-o', 'json']));
  const status = {
    url: 'http://stock-service-example.default.example.com',
    latestCreatedRevisionName: 'stock-service-example-v2',
    latestReadyRevisionName: 'stock-service-example-v1',
    conditions: [{ type: 'Ready', status: 'False', reason: 'RevisionMissing' }],
  };
  const r = await h.http('PUT', '/apis/serving.knative.dev/v1/namespaces/default/services/stock-service-example/status', {
    body: JSON.stringify({ ...cur, status }),
    contentType: 'application/json',
  });
  assert.equal(r.status, 200, r.body);

  const out = await ok(['get', 'ksvc']);
  const [header, row] = out.trim().split('\n');
  assert.deepEqual(header.split(/\s+/), ['NAME', 'URL', 'LATESTCREATED', 'LATESTREADY', 'READY', 'REASON']);
  assert.deepEqual(row.split(/\s+/), [
    'stock-service-example',
    'http://stock-service-example.default.example.com',
    'stock-service-example-v2',
    'stock-service-example-v1',
    'False',
    'RevisionMissing',
  ]);
  const ns = await ok(['get', 'namespaces']);
  assert.match(ns, /^NAME\s+STATUS\s+AGE$/m);
  assert.match(ns, /^default\s+Active\s+\S+$/m);
  assert.match(ns, /^knative-serving\s+Active\s+\S+$/m);
});

test('label selectors and kubectl patch --type=merge|json', async () => {
  await ok(['patch', 'ksvc', 'stock-service-example', '--type=merge', '-p', '{"metadata":{"labels":{"app":"stock","tier":"web"}}}']);
  await ok([
    'patch',
    'ksvc',
    'stock-service-example',
    '--type=json',
    '-p',
    '[{"op":"replace","path":"/metadata/labels/tier","value":"api"}]',
  ]);
  const other = join(h.dir, 'other.yaml');
  writeFileSync(other, articleServiceYaml({ name: 'other' }));
  await ok(['apply', '-f', other]);

  const names = async (sel: string) =>
    (await ok(['get', 'ksvc', '-l', sel, '-o', 'jsonpath={.items[*].metadata.name}'])).split(' ').filter(Boolean).sort();
  assert.deepEqual(await names('app=stock'), ['stock-service-example']);
  assert.deepEqual(await names('tier in (api,db)'), ['stock-service-example']);
  assert.deepEqual(await names('tier notin (api)'), ['other']);
  assert.deepEqual(await names('app!=stock'), ['other']);
  assert.deepEqual(await names('!app'), ['other']);
  assert.deepEqual(await names('app'), ['stock-service-example']);
  const byField = await ok(['get', 'ksvc', '--field-selector', 'metadata.name=other', '-o', 'name']);
  assert.equal(byField.trim(), 'service.serving.knative.dev/other');

  // A strategic merge patch is refused for custom resources, as Kubernetes does.
  const smp = await h.kubectl(['patch', 'ksvc', 'other', '-p', '{"metadata":{"labels":{"x":"y"}}}']);
  assert.notEqual(smp.code, 0);
  assert.match(smp.stderr, /application\/strategic-merge-patch\+json is not supported by serving\.knative\.dev\/v1, Kind=Service/);
});

test('errors kubectl users see: unknown fields, webhook denial, missing namespace', async () => {
  const bad = join(h.dir, 'bad.yaml');
  writeFileSync(bad, articleServiceYaml({ name: 'typo' }).replace('periodSeconds: 3', 'periodSeconds: 3\n            peroidSeconds: 3'));
  let r = await h.kubectl(['apply', '-f', bad]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /strict decoding error: unknown field "spec\.template\.spec\.containers\[0\]\.readinessProbe\.peroidSeconds"/);

  const sum = join(h.dir, 'sum.yaml');
  writeFileSync(sum, articleServiceYaml({ revision: 'v3', traffic: true }).replace('percent: 0', 'percent: 10'));
  r = await h.kubectl(['apply', '-f', sum]);
  assert.notEqual(r.code, 0);
  assert.match(
    r.stderr,
    /Error from server \(BadRequest\): error when applying patch:[\s\S]*admission webhook "validation\.webhook\.serving\.knative\.dev" denied the request: validation failed: Traffic targets sum to 110, want 100: spec\.traffic/,
  );

  const elsewhere = articleServiceYaml({ name: 'lost' }).replace('namespace: default', 'namespace: nowhere');
  r = await h.kubectl(['apply', '-f', '-'], { input: elsewhere });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /namespaces "nowhere" not found/);

  r = await h.kubectl(['get', 'ksvc', 'nope']);
  assert.match(r.stderr, /Error from server \(NotFound\): services\.serving\.knative\.dev "nope" not found/);
});

test('namespaces and configmaps through kubectl create (protobuf bodies)', async () => {
  await ok(['create', 'namespace', 'team-a']);
  await ok(['create', 'configmap', 'settings', '-n', 'team-a', '--from-literal=color=blue']);
  assert.equal(await ok(['get', 'configmap', 'settings', '-n', 'team-a', '-o', 'jsonpath={.data.color}']), 'blue');
  await ok(['label', 'namespace', 'team-a', 'owner=me']);
  assert.equal((await ok(['get', 'ns', '-l', 'owner=me', '-o', 'name'])).trim(), 'namespace/team-a');
  await ok(['apply', '-f', '-'], articleServiceYaml({ name: 'inner' }).replace('namespace: default', 'namespace: team-a'));
  assert.match(await ok(['delete', 'namespace', 'team-a']), /namespace "team-a" deleted/);
  const r = await h.kubectl(['get', 'ksvc', 'inner', '-n', 'team-a']);
  assert.match(r.stderr, /NotFound/);
});

test('kubectl get -w sees changes as they happen', async (t) => {
  const child = spawn(KUBECTL, ['get', 'ksvc', '-w', '--output-watch-events'], {
    env: { PATH: process.env.PATH, HOME: h.dir, KUBECONFIG: h.kubeconfig, KUBECACHEDIR: join(h.dir, 'kube-cache') },
  });
  t.after(() => child.kill());
  let out = '';
  child.stdout.on('data', (c) => (out += c));
  await waitFor('the initial list', () => /ADDED\s+stock-service-example/.test(out));
  await ok(['label', 'ksvc', 'other', 'watched=yes']);
  await waitFor('a MODIFIED event', () => /MODIFIED\s+other/.test(out));
  await ok(['delete', 'ksvc', 'other']);
  await waitFor('a DELETED event', () => /DELETED\s+other/.test(out));
});

test('kubectl delete removes the service', async () => {
  assert.match(await ok(['delete', 'ksvc', 'stock-service-example']), /service\.serving\.knative\.dev "stock-service-example" deleted/);
  const r = await h.kubectl(['get', 'ksvc', 'stock-service-example']);
  assert.match(r.stderr, /NotFound/);
});

test('a kubeconfig with the wrong token is refused with 401', async () => {
  const wrong = join(h.dir, 'wrong-kubeconfig');
  const { writeKubeconfig } = await import('../../src/apiserver/kubeconfig.js');
  writeKubeconfig(wrong, { server: `https://127.0.0.1:${h.port}`, token: 'not-the-token', certificateAuthority: h.ca });
  const r = await h.kubectl(['get', 'ksvc'], { kubeconfig: wrong });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /You must be logged in to the server|Unauthorized/);
});
