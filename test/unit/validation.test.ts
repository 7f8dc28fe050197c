import { test } from 'node:test';
import assert from 'node:assert/strict';
import { admit } from '../../src/api/admission.js';
import { findKind } from '../../src/api/registry.js';
import type { KObject } from '../../src/api/types.js';

const ksvc = findKind('ksvc')!;
const route = findKind('route')!;

function service(traffic?: unknown, templateName = 'stock-v2'): KObject {
  return {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: { name: 'stock', namespace: 'default' },
    spec: {
      template: { metadata: { name: templateName }, spec: { containers: [{ image: 'img', env: [{ name: 'RESOURCE', value: 'v2' }] }] } },
      ...(traffic === undefined ? {} : { traffic }),
    },
  };
}

const messageOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  return '(accepted)';
};

test('defaults: timeout, concurrency, container name, TCP readiness probe, 100% to latest', () => {
  const out = admit(ksvc, service(), undefined);
  const spec = out.spec.template.spec;
  assert.equal(spec.timeoutSeconds, 300);
  assert.equal(spec.containerConcurrency, 0);
  assert.equal(spec.containers[0].name, 'user-container');
  assert.deepEqual(spec.containers[0].readinessProbe, { tcpSocket: { port: 0 }, successThreshold: 1 });
  assert.deepEqual(out.spec.traffic, [{ latestRevision: true, percent: 100 }]);
  // Targets naming a revision are pinned (latestRevision false), as the article's status shows.
  const pinned = admit(ksvc, service([{ revisionName: 'stock-v1', percent: 100 }]), undefined);
  assert.equal(pinned.spec.traffic[0].latestRevision, false);
});

test('traffic validation uses Knative messages', () => {
  assert.equal(
    messageOf(() =>
      admit(
        ksvc,
        service([
          { revisionName: 'stock-v1', percent: 50 },
          { latestRevision: true, percent: 40 },
        ]),
        undefined,
      ),
    ),
    'Traffic targets sum to 90, want 100: spec.traffic',
  );
  assert.equal(
    messageOf(() =>
      admit(
        ksvc,
        service([
          { tag: 'a', revisionName: 'stock-v1', percent: 50 },
          { tag: 'a', latestRevision: true, percent: 50 },
        ]),
        undefined,
      ),
    ),
    'Multiple definitions for "a": spec.traffic[0].tag, spec.traffic[1].tag',
  );
  assert.equal(
    messageOf(() => admit(ksvc, service([{ revisionName: 'stock-v1', percent: 101 }]), undefined)),
    'Traffic targets sum to 101, want 100: spec.traffic\nexpected 0 <= 101 <= 100: spec.traffic[0].percent',
  );
  assert.equal(
    messageOf(() => admit(ksvc, service([{ revisionName: 'stock-v1', latestRevision: true, percent: 100 }]), undefined)),
    'may not set revisionName "stock-v1" when latestRevision is true: spec.traffic[0].latestRevision',
  );
  assert.equal(
    messageOf(() =>
      admit(
        ksvc,
        service([
          { revisionName: 'stock-v1', percent: 12.5 },
          { latestRevision: true, percent: 87.5 },
        ]),
        undefined,
      ),
    ),
    'Traffic targets sum to 0, want 100: spec.traffic\nexpected 0 <= 12.5 <= 100: spec.traffic[0].percent\nexpected 0 <= 87.5 <= 100: spec.traffic[1].percent',
  );
  assert.match(
    messageOf(() =>
      admit(
        route,
        { apiVersion: 'serving.knative.dev/v1', kind: 'Route', metadata: { name: 'r' }, spec: { traffic: [{ percent: 100 }] } },
        undefined,
      ),
    ),
    /expected exactly one, got neither: spec.traffic\[0\].configurationName, spec.traffic\[0\].revisionName/,
  );
});

test('BYO revision names: prefix required, and a template change must change the name', () => {
  assert.equal(
    messageOf(() => admit(ksvc, service(undefined, 'other-v1'), undefined)),
    'invalid value: "other-v1" must have prefix "stock-": spec.template.metadata.name',
  );
  const v2 = admit(ksvc, service(), undefined);
  const changed = service();
  changed.spec.template.spec.containers[0].env[0].value = 'v3';
  const msg = messageOf(() => admit(ksvc, changed, v2));
  assert.match(msg, /^Saw the following changes without a name change \(-old \+new\): spec.template.metadata.name\n/);
  assert.match(msg, /-: "v2"\n\t\+: "v3"/);
  // Re-applying the same template (only traffic changes) is fine.
  assert.doesNotThrow(() => admit(ksvc, service([{ revisionName: 'stock-v2', percent: 100 }]), v2));
});

test('wrong types and missing fields are refused with a field path, never a crash', () => {
  const bad = service();
  bad.spec.template.spec.containers = 5;
  assert.equal(
    messageOf(() => admit(ksvc, bad, undefined)),
    'missing field(s): spec.template.spec.containers',
  );
  const noImage = service();
  delete noImage.spec.template.spec.containers[0].image;
  assert.equal(
    messageOf(() => admit(ksvc, noImage, undefined)),
    'missing field(s): spec.template.spec.containers[0].image',
  );
  const cc = service();
  cc.spec.template.spec.containerConcurrency = -1;
  assert.equal(
    messageOf(() => admit(ksvc, cc, undefined)),
    'expected 0 <= -1 <= 1000: spec.template.spec.containerConcurrency',
  );
  const traffic = service('everything');
  assert.equal(
    messageOf(() => admit(ksvc, traffic, undefined)),
    'invalid value: must be a list: spec.traffic',
  );
});
