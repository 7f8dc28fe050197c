// Pure pieces of the API server: selectors, JSONPath, tables, schema checks, patches, path
// matching, content negotiation, protobuf decoding and certificates.

import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { ApiError } from '../../src/api/errors.js';
import { findKind } from '../../src/api/registry.js';
import type { KObject } from '../../src/api/types.js';
import { decodeBody } from '../../src/apiserver/body.js';
import { generateSelfSignedCert, isSelfSigned, loadOrCreateServingCert } from '../../src/apiserver/certs.js';
import { evaluate } from '../../src/apiserver/jsonpath.js';
import { kubeconfigYaml } from '../../src/apiserver/kubeconfig.js';
import { negotiate } from '../../src/apiserver/negotiate.js';
import { decodeObject, runAdmission } from '../../src/apiserver/objects.js';
import { applyConfiguration, applyPatch } from '../../src/apiserver/patch.js';
import { matchPath } from '../../src/apiserver/paths.js';
import { decodeProtobuf } from '../../src/apiserver/protobuf.js';
import { checkAgainstSchema, schemaFor } from '../../src/apiserver/schema.js';
import { parseLabelSelector, selectorMatcher } from '../../src/apiserver/selectors.js';
import { strategicMergePatch } from '../../src/apiserver/strategic.js';
import { humanDuration, toTable } from '../../src/apiserver/table.js';

const ksvc = findKind('ksvc')!;
const rev = findKind('revision')!;

const obj = (name: string, labels?: Record<string, string>, namespace = 'default'): KObject => ({
  apiVersion: 'serving.knative.dev/v1',
  kind: 'Service',
  metadata: { name, namespace, labels },
});

test('label selectors: every operator, and parse errors', () => {
  const m = (sel: string, labels?: Record<string, string>) => selectorMatcher(sel, null)(obj('a', labels));
  assert.equal(m('app=web', { app: 'web' }), true);
  assert.equal(m('app==web', { app: 'db' }), false);
  assert.equal(m('app!=web', {}), true);
  assert.equal(m('app in (web, db)', { app: 'db' }), true);
  assert.equal(m('app notin (web,db)', { app: 'db' }), false);
  assert.equal(m('app', { app: '' }), true);
  assert.equal(m('!app', { app: 'x' }), false);
  assert.equal(m('serving.knative.dev/service=s,tier', { 'serving.knative.dev/service': 's', tier: '1' }), true);
  assert.equal(m('', undefined), true);
  for (const bad of ['app in (', '=x', 'a b', 'app=in valid', ',']) {
    assert.throws(
      () => parseLabelSelector(bad),
      (e: ApiError) => e.code === 400,
      bad,
    );
  }
  const f = selectorMatcher(null, 'metadata.name=a,metadata.namespace!=other');
  assert.equal(f(obj('a')), true);
  assert.equal(f(obj('a', undefined, 'other')), false);
  assert.throws(() => selectorMatcher(null, 'spec.x=1'), /field label not supported/);
});

test('JSONPath: keys, escaped dots, indexes, wildcards and filters', () => {
  const o = {
    metadata: { labels: { 'serving.knative.dev/configuration': 'cfg' } },
    status: {
      conditions: [
        { type: 'Ready', status: 'True', reason: 'Up' },
        { type: 'Other', status: 'False' },
      ],
      traffic: [{ percent: 50 }, { percent: 50 }],
    },
  };
  assert.deepEqual(evaluate(".metadata.labels['serving\\.knative\\.dev/configuration']", o), ['cfg']);
  assert.deepEqual(evaluate('.metadata.labels.serving\\.knative\\.dev/configuration', o), ['cfg']);
  assert.deepEqual(evaluate(".status.conditions[?(@.type=='Ready')].status", o), ['True']);
  assert.deepEqual(evaluate('.status.conditions[?(@.status!="True")].type', o), ['Other']);
  assert.deepEqual(evaluate('.status.traffic[*].percent', o), [50, 50]);
  assert.deepEqual(evaluate('.status.conditions[-1].type', o), ['Other']);
  assert.deepEqual(evaluate('{.status.missing.deeper}', o), []);
  assert.throws(() => evaluate('.a[?(bad)]', o));
});

test('Table rows follow the printer columns; ages read like kubectl', () => {
  assert.equal(humanDuration(5_000), '5s');
  assert.equal(humanDuration(150_000), '2m30s');
  assert.equal(humanDuration(3 * 3600_000), '3h');
  assert.equal(humanDuration(50 * 3600_000), '2d2h');
  assert.equal(humanDuration(400 * 86400_000), '400d');
  const r: KObject = {
    ...obj('r1'),
    kind: 'Revision',
    metadata: { name: 'r1', labels: { 'serving.knative.dev/configuration': 'cfg', 'serving.knative.dev/configurationGeneration': '2' } },
    status: { conditions: [{ type: 'Ready', status: 'Unknown', reason: 'Deploying' }], actualReplicas: 1 },
  };
  const t = toTable(rev, [r], { includeObject: 'None', resourceVersion: '7' });
  assert.deepEqual(
    t.columnDefinitions!.map((c) => c.name),
    ['Name', 'Config Name', 'Generation', 'Ready', 'Reason', 'Actual Replicas', 'Desired Replicas'],
  );
  assert.deepEqual(t.rows[0].cells, ['r1', 'cfg', '2', 'Unknown', 'Deploying', 1, null]);
  assert.equal(t.rows[0].object, undefined);
  assert.equal(t.metadata.resourceVersion, '7');
  const ns = findKind('namespace')!;
  const created = new Date(Date.UTC(2024, 0, 1)).toISOString();
  const nt = toTable(
    ns,
    [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x', creationTimestamp: created }, status: { phase: 'Active' } }],
    {
      includeObject: 'Metadata',
      now: () => Date.parse(created) + 90_000,
    },
  );
  assert.deepEqual(nt.rows[0].cells, ['x', 'Active', '90s']);
  assert.equal((nt.rows[0].object as any).kind, 'PartialObjectMetadata');
});

test('schema check: unknown fields by path, wrong types, nulls dropped, status free-form', () => {
  const r = checkAgainstSchema(
    {
      apiVersion: 'serving.knative.dev/v1',
      kind: 'Service',
      metadata: { name: 'x', labels: { a: 1 }, creationTimestamp: null },
      spec: {
        template: {
          metadata: { annotations: { k: 'v' } },
          spec: { containers: [{ image: 'i', foo: 1, ports: [{ containerPort: '80' }] }] },
        },
        traffic: [{ percent: 100, latestRevision: true, bar: {} }],
      },
      status: { anything: { goes: [1] } },
      extra: true,
    },
    schemaFor(ksvc),
  );
  assert.deepEqual(r.unknownFields.sort(), ['extra', 'spec.template.spec.containers[0].foo', 'spec.traffic[0].bar']);
  assert.deepEqual(
    r.typeErrors.map((e) => `${e.field}:${e.expected}:${e.got}`),
    ['metadata.labels[a]:string:integer', 'spec.template.spec.containers[0].ports[0].containerPort:integer:string'],
  );
  assert.equal('creationTimestamp' in r.value.metadata, false);
  assert.equal(r.value.extra, undefined);
  assert.deepEqual(r.value.status, { anything: { goes: [1] } });
  // int-or-string ports accept both.
  const probe = checkAgainstSchema(
    { spec: { containers: [{ readinessProbe: { httpGet: { port: 'http' }, tcpSocket: { port: 8080 } } }] } },
    schemaFor(rev),
  );
  assert.deepEqual(probe.typeErrors, []);
});

test('hostile bodies: "__proto__" keys stay data, deep nesting is refused', () => {
  const raw = JSON.parse(
    '{"metadata":{"name":"a","__proto__":{"polluted":1},"labels":{"__proto__":"v","constructor":"c"}},"spec":{"constructor":1}}',
  );
  const r = checkAgainstSchema(raw, schemaFor(ksvc));
  assert.deepEqual(r.unknownFields.sort(), ['metadata.__proto__', 'spec.constructor']);
  assert.equal(Object.getPrototypeOf(r.value.metadata.labels), Object.prototype);
  assert.deepEqual(Object.entries(r.value.metadata.labels), [
    ['__proto__', 'v'],
    ['constructor', 'c'],
  ]);
  assert.equal(({} as any).polluted, undefined);
  assert.deepEqual(evaluate('.metadata.constructor', { metadata: {} }), []);
  const deep = '['.repeat(150) + ']'.repeat(150);
  assert.throws(
    () => decodeBody(Buffer.from(deep), 'application/json'),
    (e: ApiError) => e.code === 400 && /deeper than 100/.test(e.message),
  );
  assert.deepEqual(decodeBody(Buffer.from('{"a":[{"b":1}]}'), 'application/json; charset=utf-8'), { a: [{ b: 1 }] });
});

test('decodeObject: field validation modes and the Kubernetes messages', () => {
  const body = { apiVersion: 'serving.knative.dev/v1alpha1', kind: 'Service', metadata: { name: 'a' }, spec: { foo: 1 } };
  assert.throws(
    () => decodeObject(ksvc, 'v1alpha1', body, 'Strict'),
    (e: ApiError) =>
      e.code === 400 &&
      e.message === 'Service in version "v1alpha1" cannot be handled as a Service: strict decoding error: unknown field "spec.foo"',
  );
  const warned = decodeObject(ksvc, 'v1alpha1', body, 'Warn');
  assert.deepEqual(warned.warnings, ['unknown field "spec.foo"']);
  assert.deepEqual(warned.obj.spec, {});
  assert.deepEqual(decodeObject(ksvc, 'v1alpha1', body, 'Ignore').warnings, []);
  // A field already stored is carried along by a patch without complaint.
  assert.deepEqual(decodeObject(ksvc, 'v1alpha1', body, 'Strict', new Set(['spec.foo'])).warnings, []);
  assert.throws(() => decodeObject(ksvc, 'v1alpha1', { ...body, kind: 'Route' }, 'Ignore'), /kind in the data \(Route\)/);
  assert.throws(() => decodeObject(ksvc, 'v1', body, 'Ignore'), /API version in the data \(serving\.knative\.dev\/v1alpha1\)/);
  const filled = decodeObject(ksvc, 'v1', { metadata: { name: 'a' } }, 'Strict').obj;
  assert.equal(filled.apiVersion, 'serving.knative.dev/v1');
  assert.equal(filled.kind, 'Service');
});

test('runAdmission relays a 422 the way the Knative webhook denial reads', async () => {
  const deny = () => {
    throw new ApiError(422, 'Invalid', 'missing field(s): spec.template');
  };
  await assert.rejects(
    runAdmission(deny, ksvc, obj('a'), undefined),
    (e: ApiError) =>
      e.code === 400 &&
      e.reason === 'BadRequest' &&
      e.message ===
        'admission webhook "validation.webhook.serving.knative.dev" denied the request: validation failed: missing field(s): spec.template',
  );
  const cm = findKind('configmap')!;
  await assert.rejects(runAdmission(deny, cm, obj('a'), undefined), (e: ApiError) => e.code === 422);
});

test('patches: merge, JSON patch errors, simplified server-side apply', () => {
  const cur = { metadata: { name: 'a', labels: { x: '1', y: '2' } }, spec: { list: [1, 2] } };
  assert.deepEqual(applyPatch('merge', cur, { metadata: { labels: { x: null, z: '3' } }, spec: { list: [3] } }), {
    metadata: { name: 'a', labels: { y: '2', z: '3' } },
    spec: { list: [3] },
  });
  assert.deepEqual(cur.metadata.labels, { x: '1', y: '2' }, 'the input is not mutated');
  assert.throws(
    () => applyPatch('merge', cur, [1]),
    (e: ApiError) => e.code === 400,
  );
  assert.throws(
    () => applyPatch('json', cur, { op: 'add' }),
    (e: ApiError) => e.code === 400,
  );
  assert.throws(
    () => applyPatch('json', cur, [{ op: 'bogus', path: '/a' }]),
    (e: ApiError) => e.code === 400,
  );
  assert.throws(
    () => applyPatch('json', cur, [{ op: 'remove', path: '/nope/deeper' }]),
    (e: ApiError) => e.code === 422,
  );
  assert.deepEqual(applyConfiguration({ a: { b: 1, c: 2 }, l: [1] }, { a: { b: 3 }, l: [2] }), { a: { b: 3, c: 2 }, l: [2] });
});

test('strategic merge patch for built-in kinds: directives and merge lists', () => {
  const cur = {
    metadata: { name: 'n', finalizers: ['a'], ownerReferences: [{ uid: '1', name: 'x' }], labels: { k: 'v' } },
    data: { a: '1', b: '2' },
  };
  const out = strategicMergePatch(cur, {
    $setElementOrder: ['ignored'],
    metadata: {
      finalizers: ['b'],
      ownerReferences: [
        { uid: '1', $patch: 'delete' },
        { uid: '2', name: 'y' },
      ],
      labels: { k: null },
    },
    data: { $retainKeys: ['b', 'c'], c: '3' },
    '$setElementOrder/data': [],
  }) as any;
  assert.deepEqual(out.metadata.finalizers, ['a', 'b']);
  assert.deepEqual(out.metadata.ownerReferences, [{ uid: '2', name: 'y' }]);
  assert.deepEqual(out.metadata.labels, {});
  assert.deepEqual(out.data, { b: '2', c: '3' });
  assert.deepEqual((strategicMergePatch(cur, { data: { $patch: 'replace', z: '9' } }) as any).data, { z: '9' });
  assert.equal((strategicMergePatch(cur, { data: { $patch: 'delete' } }) as any).data, undefined);
});

test('paths: namespaced, cluster-scoped, all-namespace, watch and subresources', () => {
  const m = (p: string) => {
    const r = matchPath(p);
    return r.type === 'resource' ? { ...r.path, kind: r.path.kind.kind } : r;
  };
  assert.deepEqual(m('/apis/serving.knative.dev/v1alpha1/namespaces/ns/services/a/status'), {
    kind: 'Service',
    group: 'serving.knative.dev',
    version: 'v1alpha1',
    namespace: 'ns',
    name: 'a',
    subresource: 'status',
    watchPrefix: false,
  });
  assert.deepEqual(m('/api/v1/namespaces/ns'), {
    kind: 'Namespace',
    group: '',
    version: 'v1',
    name: 'ns',
    subresource: undefined,
    watchPrefix: false,
  });
  assert.deepEqual(m('/api/v1/namespaces/ns/configmaps'), {
    kind: 'ConfigMap',
    group: '',
    version: 'v1',
    namespace: 'ns',
    name: undefined,
    subresource: undefined,
    watchPrefix: false,
  });
  assert.equal((m('/apis/serving.knative.dev/v1/watch/routes') as any).watchPrefix, true);
  assert.deepEqual(m('/apis/serving.knative.dev/v1'), { type: 'groupVersion', group: 'serving.knative.dev', version: 'v1' });
  assert.deepEqual(m('/apis/autoscaling.internal.knative.dev/v1/podautoscalers'), { type: 'none' });
  assert.deepEqual(m('/apis/serving.knative.dev/v1/services/a'), { type: 'none' }, 'namespaced kinds need a namespace for items');
  assert.deepEqual(m('/apis/serving.knative.dev/v1/namespaces/ns/services/a/b/c'), { type: 'none' });
  assert.deepEqual(m('/api/v1/namespaces/%zz'), { type: 'none' });
});

test('content negotiation: Table, aggregated discovery, and 406', () => {
  assert.equal(negotiate('application/json;as=Table;v=v1;g=meta.k8s.io,application/json', { table: true }), 'table');
  assert.equal(negotiate('application/json;as=Table;v=v1;g=meta.k8s.io,application/json', {}), 'object');
  assert.equal(negotiate('application/vnd.kubernetes.protobuf,application/json', { table: true }), 'object');
  assert.equal(negotiate(undefined, {}), 'object');
  assert.equal(negotiate('*/*', {}), 'object');
  assert.equal(
    negotiate('application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json', { discovery: true }),
    'object',
  );
  assert.equal(negotiate('application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList', { discovery: true }), 'discovery-v2');
  assert.throws(
    () => negotiate('text/html', {}),
    (e: ApiError) => e.code === 406,
  );
});

test('protobuf: a Namespace in the Kubernetes envelope decodes to its JSON form', () => {
  const varint = (n: number) => {
    const out: number[] = [];
    while (n > 0x7f) {
      out.push((n & 0x7f) | 0x80);
      n >>>= 7;
    }
    out.push(n);
    return Buffer.from(out);
  };
  const field = (num: number, payload: Buffer) => Buffer.concat([varint((num << 3) | 2), varint(payload.length), payload]);
  const str = (num: number, s: string) => field(num, Buffer.from(s));
  const label = field(11, Buffer.concat([str(1, 'team'), str(2, 'a')]));
  const meta = Buffer.concat([str(1, 'ns1'), str(2, ''), label]);
  const ns = Buffer.concat([field(1, meta), field(2, str(1, 'kubernetes')), field(3, Buffer.alloc(0))]);
  const envelope = Buffer.concat([field(1, Buffer.concat([str(1, 'v1'), str(2, 'Namespace')])), field(2, ns)]);
  const decoded = decodeProtobuf(Buffer.concat([Buffer.from('k8s\0', 'latin1'), envelope]), 'Namespace');
  assert.deepEqual(decoded, {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: 'ns1', labels: { team: 'a' } },
    spec: { finalizers: ['kubernetes'] },
    status: {},
  });
  assert.throws(
    () => decodeProtobuf(Buffer.from('nope'), 'Namespace'),
    (e: ApiError) => e.code === 400,
  );
  assert.throws(
    () => decodeProtobuf(Buffer.concat([Buffer.from('k8s\0', 'latin1'), Buffer.from([0x0a, 0x7f])]), 'Namespace'),
    (e: ApiError) => e.code === 400,
  );
});

test('certificates: self-signed, valid for loopback, reused across restarts', async () => {
  const c = await generateSelfSignedCert({ hosts: ['localhost', '127.0.0.1', '::1', 'sluice.internal'] });
  const x = new X509Certificate(c.cert);
  assert.ok(isSelfSigned(c.cert));
  assert.equal(x.ca, true);
  assert.equal(x.checkIP('127.0.0.1'), '127.0.0.1');
  assert.equal(x.checkIP('::1'), '::1');
  assert.equal(x.checkHost('sluice.internal'), 'sluice.internal');
  assert.equal(x.checkHost('example.com'), undefined);
  const dir = mkdtempSync(join(tmpdir(), 'sluice-certs-'));
  try {
    const a = await loadOrCreateServingCert(dir);
    const b = await loadOrCreateServingCert(dir);
    assert.equal(a.cert, b.cert);
    assert.equal(statSync(join(dir, 'apiserver.key')).mode & 0o777, 0o600);
    const c2 = await loadOrCreateServingCert(dir, ['10.1.2.3']);
    assert.notEqual(c2.cert, a.cert, 'a certificate that does not cover a requested host is replaced');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('kubeconfig: server, token, CA and namespace', () => {
  const k = parseYaml(kubeconfigYaml({ server: 'https://127.0.0.1:1', token: 't', certificateAuthority: 'PEM', namespace: 'ns' }));
  assert.equal(k['current-context'], 'sluice');
  assert.equal(k.clusters[0].cluster.server, 'https://127.0.0.1:1');
  assert.equal(Buffer.from(k.clusters[0].cluster['certificate-authority-data'], 'base64').toString(), 'PEM');
  assert.equal(k.users[0].user.token, 't');
  assert.equal(k.contexts[0].context.namespace, 'ns');
});
