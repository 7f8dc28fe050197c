import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Service } from '../../src/api/types.js';
import { applyEdits, newService, parseKeyValues, revisionName } from '../../src/cli/service-edit.js';
import { changed, mergeForUpdate, parseManifests } from '../../src/cli/manifests.js';
import { CliError } from '../../src/cli/errors.js';

const isCliError = (re: RegExp) => (e: unknown) => e instanceof CliError && re.test(e.message);

test('service create flags build a v1 Service', () => {
  const { service } = applyEdits(newService('stock', 'default'), {
    image: 'registry.cn-hangzhou.aliyuncs.com/knative-sample/rest-api-go:v1',
    env: ['RESOURCE=v1', 'EMPTY='],
    revisionName: 'v1',
    port: '8080',
    concurrencyLimit: '10',
    scaleMin: '1',
    scaleMax: '3',
    annotation: ['team=a', 'autoscaling.knative.dev/target=5'],
  });
  assert.deepEqual(service, {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: { name: 'stock', namespace: 'default', annotations: { team: 'a' } },
    spec: {
      template: {
        metadata: {
          name: 'stock-v1',
          annotations: {
            'autoscaling.knative.dev/min-scale': '1',
            'autoscaling.knative.dev/max-scale': '3',
            team: 'a',
            'autoscaling.knative.dev/target': '5',
          },
        },
        spec: {
          containerConcurrency: 10,
          containers: [
            {
              image: 'registry.cn-hangzhou.aliyuncs.com/knative-sample/rest-api-go:v1',
              ports: [{ containerPort: 8080 }],
              env: [
                { name: 'RESOURCE', value: 'v1' },
                { name: 'EMPTY', value: '' },
              ],
            },
          ],
        },
      },
    },
  });
  const cmd = applyEdits(newService('app', 'ns'), { cmd: ['/usr/bin/node'], arg: ['server.js', '--x'], port: 'h2c:9000' }).service;
  assert.deepEqual(cmd.spec!.template.spec.containers[0], {
    command: ['/usr/bin/node'],
    args: ['server.js', '--x'],
    ports: [{ name: 'h2c', containerPort: 9000 }],
  });
});

const existing = (): Service => ({
  apiVersion: 'serving.knative.dev/v1',
  kind: 'Service',
  metadata: { name: 'stock', namespace: 'default', generation: 2, resourceVersion: '7' },
  spec: {
    template: {
      metadata: { name: 'stock-v2' },
      spec: {
        containers: [
          {
            image: 'img',
            env: [
              { name: 'RESOURCE', value: 'v2' },
              { name: 'DROP', value: 'x' },
            ],
          },
        ],
      },
    },
    traffic: [{ latestRevision: true, percent: 100 }],
  },
});

test('update: env set/remove; a changed template without --revision-name loses the old name', () => {
  const { service, templateChanged } = applyEdits(existing(), { env: ['RESOURCE=v3', 'DROP-', 'NEW=1'] });
  assert.equal(templateChanged, true);
  assert.deepEqual(service.spec!.template.spec.containers[0].env, [
    { name: 'RESOURCE', value: 'v3' },
    { name: 'NEW', value: '1' },
  ]);
  assert.equal(service.spec!.template.metadata!.name, undefined);
  assert.equal(service.metadata.resourceVersion, '7');
});

test('update without template flags leaves the template untouched (no new revision)', () => {
  const before = existing();
  const { service, templateChanged } = applyEdits(before, {});
  assert.equal(templateChanged, false);
  assert.deepEqual(service, before);
  // Setting a value to what it already is is no change either, and keeps the name.
  const same = applyEdits(before, { env: ['RESOURCE=v2'], image: 'img' });
  assert.equal(same.templateChanged, false);
  assert.equal(same.service.spec!.template.metadata!.name, 'stock-v2');
});

test('--revision-name: kn prefixing and template placeholders', () => {
  assert.equal(revisionName('v1', 'stock', 1), 'stock-v1');
  assert.equal(revisionName('stock-v1', 'stock', 1), 'stock-v1');
  assert.equal(
    revisionName('{{.Service}}-{{.Random 3}}-{{.Generation}}', 'stock', 4, (n) => 'x'.repeat(n)),
    'stock-xxx-4',
  );
  assert.equal(revisionName('', 'stock', 1), '');
  assert.throws(() => revisionName('{{.Nope}}', 'stock', 1), isCliError(/unknown placeholder \{\{\.Nope\}\}/));
  const { service } = applyEdits(existing(), { revisionName: 'v3' });
  assert.equal(service.spec!.template.metadata!.name, 'stock-v3');
});

test('malformed flags are rejected with the flag named', () => {
  assert.throws(() => parseKeyValues(['NOVALUE'], 'env'), isCliError(/invalid --env "NOVALUE": expected NAME=VALUE/));
  assert.throws(() => parseKeyValues(['=x'], 'env'), isCliError(/invalid --env/));
  assert.throws(() => applyEdits(existing(), { concurrencyLimit: 'many' }), isCliError(/invalid --concurrency-limit "many"/));
  assert.throws(() => applyEdits(existing(), { port: 'http' }), isCliError(/invalid --port "http"/));
  assert.throws(() => applyEdits(existing(), { scaleMin: '-1' }), isCliError(/invalid --scale-min/));
});

const stockV1 = `
apiVersion: serving.knative.dev/v1alpha1
kind: Service
metadata:
  name: stock-service-example
  namespace: default
spec:
  template:
    metadata:
      name: stock-service-example-v1
    spec:
      containers:
        - image: registry.cn-hangzhou.aliyuncs.com/knative-sample/rest-api-go:v1
          env:
            - name: RESOURCE
              value: v1
`;

test('manifests: multi-document YAML, JSON and Lists; version kept; bad input explained', () => {
  const ms = parseManifests(
    `${stockV1}\n---\n---\n{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"serving.knative.dev/v1","kind":"Route","metadata":{"name":"r"}}]}`,
    'f.yaml',
  );
  assert.deepEqual(
    ms.map((m) => [m.kind.kind, m.version, m.obj.metadata.name]),
    [
      ['Service', 'v1alpha1', 'stock-service-example'],
      ['Route', 'v1', 'r'],
    ],
  );
  assert.throws(
    () => parseManifests('kind: Service\napiVersion: apps/v1\nmetadata: {name: x}', 'f.yaml'),
    isCliError(/f.yaml: no matches for kind "Service" in version "apps\/v1"/),
  );
  assert.throws(
    () => parseManifests('apiVersion: serving.knative.dev/v2\nkind: Service\nmetadata: {name: x}', 'f.yaml'),
    isCliError(/no matches/),
  );
  assert.throws(() => parseManifests('a: [', 'f.yaml'), isCliError(/f.yaml: document 1 is not valid YAML/));
  assert.throws(() => parseManifests('', 'f.yaml'), isCliError(/no objects found/));
  assert.throws(() => parseManifests('apiVersion: serving.knative.dev/v1\nkind: Service\n', 'f.yaml'), isCliError(/has no metadata.name/));
  assert.throws(() => parseManifests('- 1\n- 2', 'f.yaml'), isCliError(/expected an object/));
});

test('apply merges labels/annotations, replaces spec, drops status; change detection', () => {
  const current = {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: { name: 's', resourceVersion: '5', generation: 1, annotations: { 'serving.knative.dev/creator': 'admin' } },
    spec: { template: { spec: { containers: [{ image: 'a' }] } }, traffic: [{ latestRevision: true, percent: 100 }] },
    status: { url: 'x' },
  };
  const desired = {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: { name: 's', annotations: { team: 'a' } },
    spec: { template: { spec: { containers: [{ image: 'b' }] } } },
    status: { url: 'y' },
  };
  const body = mergeForUpdate(current, desired);
  assert.deepEqual(body.metadata, {
    name: 's',
    resourceVersion: '5',
    generation: 1,
    annotations: { 'serving.knative.dev/creator': 'admin', team: 'a' },
  });
  assert.deepEqual(body.spec, desired.spec);
  assert.equal(body.status, undefined);
  assert.equal(changed(current, { ...current, metadata: { ...current.metadata, resourceVersion: '6' } }), false);
  assert.equal(changed(current, { ...current, metadata: { ...current.metadata, generation: 2 } }), true);
  assert.equal(changed(current, { ...current, metadata: { ...current.metadata, labels: { a: 'b' } } }), true);
});
