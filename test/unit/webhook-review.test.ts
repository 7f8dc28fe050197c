// AdmissionReview handling: defaults come back as a JSON patch that kube-apiserver applies, and
// denials carry Knative's validation text (the API server adds the webhook's name in front).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import jsonPatch from 'fast-json-patch';
import type { KObject } from '../../src/api/types.js';
import { mutate, validate } from '../../src/webhook/review.js';

const service = (traffic?: unknown[]): KObject => ({
  apiVersion: 'serving.knative.dev/v1',
  kind: 'Service',
  metadata: { name: 'hello', namespace: 'default' },
  spec: {
    template: { metadata: { name: 'hello-v1' }, spec: { containers: [{ image: 'example/app:v1' }] } },
    ...(traffic ? { traffic } : {}),
  },
});

const review = (object: KObject, oldObject?: KObject, kind = 'Service') => ({
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  request: {
    uid: 'u-1',
    kind: { group: 'serving.knative.dev', version: 'v1', kind },
    operation: oldObject ? 'UPDATE' : 'CREATE',
    userInfo: { username: 'alice' },
    object,
    ...(oldObject ? { oldObject } : {}),
  },
});

const noLookup = async () => undefined;

test('mutation returns Knative defaults and the requesting user as creator, as a JSON patch', () => {
  const obj = service();
  const out = mutate(review(obj));
  assert.equal(out.response?.uid, 'u-1');
  assert.equal(out.response?.allowed, true);
  assert.equal(out.response?.patchType, 'JSONPatch');
  const ops = JSON.parse(Buffer.from(out.response!.patch!, 'base64').toString('utf8'));
  const patched = jsonPatch.applyPatch(structuredClone(obj), ops).newDocument as KObject;
  assert.equal(patched.metadata.annotations?.['serving.knative.dev/creator'], 'alice');
  assert.equal(patched.metadata.annotations?.['serving.knative.dev/lastModifier'], 'alice');
  assert.equal(patched.spec.template.spec.timeoutSeconds, 300);
  assert.equal(patched.spec.template.spec.containerConcurrency, 0);
  assert.deepEqual(patched.spec.traffic, [{ latestRevision: true, percent: 100 }]);
});

test('an already defaulted object needs no patch', () => {
  const first = mutate(review(service()));
  const ops = JSON.parse(Buffer.from(first.response!.patch!, 'base64').toString('utf8'));
  const defaulted = jsonPatch.applyPatch(service(), ops).newDocument as KObject;
  const again = mutate(review(defaulted));
  assert.equal(again.response?.patch, undefined);
});

test('validation denies with Knative messages and allows valid objects', async () => {
  const ok = await validate(review(service([{ latestRevision: true, percent: 100 }])), noLookup);
  assert.equal(ok.response?.allowed, true);
  // Knative's warnings ride along; kube-apiserver turns them into Warning headers.
  assert.equal(ok.response?.warnings?.length, 1);
  assert.match(
    ok.response?.warnings?.[0] ?? '',
    /^Kubernetes default value is insecure, .*: spec\.template\.spec\.containers\[0\]\.securityContext\.allowPrivilegeEscalation, /,
  );

  const bad = await validate(review(service([{ revisionName: 'hello-v1', percent: 90 }])), noLookup);
  assert.equal(bad.response?.allowed, false);
  assert.equal(bad.response?.status?.message, 'validation failed: Traffic targets sum to 90, want 100: spec.traffic');

  const dup = await validate(
    review(
      service([
        { tag: 'a', revisionName: 'hello-v1', percent: 50 },
        { tag: 'a', revisionName: 'hello-v1', percent: 50 },
      ]),
    ),
    noLookup,
  );
  assert.match(dup.response?.status?.message ?? '', /Multiple definitions for "a": spec.traffic\[0\].tag, spec.traffic\[1\].tag/);
});

test('a template change that keeps the revision name is refused on update, with the diff', async () => {
  const old = service();
  const changed = structuredClone(old);
  changed.spec.template.spec.containers[0].image = 'example/app:v2';
  const out = await validate(review(changed, old), noLookup);
  assert.equal(out.response?.allowed, false);
  assert.match(out.response?.status?.message ?? '', /^validation failed: /);
  assert.match(out.response?.status?.message ?? '', /spec\.template\.metadata\.name/);
});

test('a BYO name that already names a different revision is refused through the lookup', async () => {
  const existing: KObject = {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Revision',
    metadata: { name: 'hello-v1', namespace: 'default' },
    spec: { containers: [{ image: 'example/other:v9' }] },
  };
  const out = await validate(review(service()), async (ns, name) => (ns === 'default' && name === 'hello-v1' ? existing : undefined));
  assert.equal(out.response?.allowed, false);
  assert.match(out.response?.status?.message ?? '', /Revision "hello-v1" already exists with a different template/);
});

test('a review without a request is a clear error, not a crash', () => {
  assert.throws(() => mutate({ kind: 'AdmissionReview' }), /expected an admission.k8s.io\/v1 AdmissionReview/);
});
