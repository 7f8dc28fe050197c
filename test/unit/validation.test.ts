import { test } from 'node:test';
import assert from 'node:assert/strict';
import { admit } from '../../src/api/admission.js';
import { findKind } from '../../src/api/registry.js';
import type { KObject } from '../../src/api/types.js';
import { messageOf } from '../support/refusal.js';

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
  const changed = { ...service(), metadata: v2.metadata };
  changed.spec.template.spec.containers[0].env[0].value = 'v3';
  const msg = messageOf(() => admit(ksvc, changed, v2));
  assert.match(msg, /^Saw the following changes without a name change \(-old \+new\): spec.template.metadata.name\n/);
  assert.match(msg, /-: "v2"\n\t\+: "v3"/);
  // Re-applying the same template (only traffic changes) is fine.
  assert.doesNotThrow(() => admit(ksvc, { ...service([{ revisionName: 'stock-v2', percent: 100 }]), metadata: v2.metadata }, v2));
});

test("creator and lastModifier: recorded by admission, a change by hand refused with Knative's messages", () => {
  const cfgKind = findKind('configuration')!;
  const created = admit(
    ksvc,
    { ...service(), metadata: { name: 'stock', namespace: 'default', annotations: { 'serving.knative.dev/creator': 'mallory' } } },
    undefined,
  );
  assert.equal(
    created.metadata.annotations?.['serving.knative.dev/creator'],
    'sluice-admin',
    'a create records the user, whatever was sent',
  );
  assert.equal(created.metadata.annotations?.['serving.knative.dev/lastModifier'], 'sluice-admin');
  const withAnnotations = (o: KObject, annotations: Record<string, string>): KObject => ({
    ...o,
    metadata: { ...o.metadata, annotations },
  });
  const cases: [string, KObject, string][] = [
    [
      'creator changed',
      withAnnotations(created, { 'serving.knative.dev/creator': 'mallory', 'serving.knative.dev/lastModifier': 'sluice-admin' }),
      'annotation value is immutable: metadata.annotations.serving.knative.dev/creator',
    ],
    [
      'lastModifier forged without a spec change',
      withAnnotations(created, { 'serving.knative.dev/creator': 'sluice-admin', 'serving.knative.dev/lastModifier': 'mallory' }),
      'invalid value: mallory: metadata.annotations.serving.knative.dev/lastModifier',
    ],
    [
      // What a client that replaces the object without them (kubectl replace of a bare manifest) gets.
      'both dropped',
      withAnnotations(created, {}),
      'annotation value is immutable: metadata.annotations.serving.knative.dev/creator\ninvalid value: : metadata.annotations.serving.knative.dev/lastModifier',
    ],
  ];
  for (const [name, obj, want] of cases)
    assert.equal(
      messageOf(() => admit(ksvc, obj, created)),
      want,
      name,
    );
  // A spec change with a forged lastModifier: admission writes the user over it.
  const edited = withAnnotations(created, { 'serving.knative.dev/creator': 'sluice-admin', 'serving.knative.dev/lastModifier': 'mallory' });
  edited.spec = structuredClone(created.spec);
  edited.spec.template.metadata.name = 'stock-v3';
  assert.equal(admit(ksvc, edited, created).metadata.annotations?.['serving.knative.dev/lastModifier'], 'sluice-admin');
  // A Configuration a Service owns is not checked (the Service's reconciler writes it).
  const owned: KObject = {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Configuration',
    metadata: {
      name: 'stock',
      namespace: 'default',
      labels: { 'serving.knative.dev/service': 'stock' },
      ownerReferences: [{ apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'stock', uid: 'u1', controller: true }],
      annotations: { 'serving.knative.dev/creator': 'sluice-admin' },
    },
    spec: { template: created.spec.template },
  };
  assert.doesNotThrow(() => admit(cfgKind, withAnnotations(owned, { 'serving.knative.dev/creator': 'someone' }), owned));
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

test('metadata rules: autoscaling annotations only on the template, networking and rollout annotations, reserved labels', () => {
  const cfg = findKind('configuration')!;
  const rev = findKind('revision')!;
  const withMeta = (meta: Record<string, unknown>, tplAnns?: Record<string, string>): KObject => {
    const s = service(undefined, 'stock-v9');
    s.metadata = { ...s.metadata, ...meta };
    if (tplAnns) s.spec.template.metadata.annotations = tplAnns;
    return s;
  };
  const cases: [string, KObject, string][] = [
    [
      'autoscaling annotation on the Service',
      withMeta({ annotations: { 'autoscaling.knative.dev/min-scale': '1' } }),
      'invalid key name "autoscaling.knative.dev/min-scale": metadata.annotations\nautoscaling annotations must be put under "spec.template.metadata.annotations" to work',
    ],
    [
      'visibility on the template',
      withMeta({}, { 'networking.knative.dev/visibility': 'cluster-local' }),
      'invalid key name "networking.knative.dev/visibility": spec.template.metadata.annotations',
    ],
    [
      'rollout-duration unparsable',
      withMeta({ annotations: { 'serving.knative.dev/rollout-duration': 'soon' } }),
      'invalid value: soon: metadata.annotations.serving.knative.dev/rollout-duration',
    ],
    [
      'rollout-duration below a second',
      withMeta({ annotations: { 'serving.knative.dev/rollout-duration': '1500ms' } }),
      'rollout-duration=1500ms is not at second precision: metadata.annotations.serving.knative.dev/rollout-duration',
    ],
    [
      'rollout-duration negative',
      withMeta({ annotations: { 'serving.knative.dev/rolloutDuration': '-5s' } }),
      'rollout-duration=-5s must be positive: metadata.annotations.serving.knative.dev/rolloutDuration',
    ],
    [
      'progress-deadline precision',
      withMeta({}, { 'serving.knative.dev/progress-deadline': '10.5s' }),
      'progress-deadline=10.5s is not at second precision: spec.template.metadata.annotations.serving.knative.dev/progress-deadline',
    ],
    [
      'queue-proxy resource annotation',
      withMeta({}, { 'queue.sidecar.serving.knative.dev/cpu-resource-request': 'lots' }),
      'invalid value: lots: spec.template.metadata.annotations.queue.sidecar.serving.knative.dev/cpu-resource-request',
    ],
    [
      'bad name',
      withMeta({ name: 'Stock' }),
      'invalid value: "stock-v9" must have prefix "Stock-": spec.template.metadata.name\n' +
        "not a DNS 1035 label: [a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')]: metadata.name",
    ],
  ];
  for (const [name, obj, want] of cases)
    assert.equal(
      messageOf(() => admit(ksvc, obj, undefined)),
      want,
      name,
    );
  assert.doesNotThrow(() => admit(ksvc, withMeta({ annotations: { 'serving.knative.dev/rollout-duration': '120s' } }), undefined));
  assert.doesNotThrow(() => admit(ksvc, withMeta({}, { 'networking.knative.dev/http-protocol': 'redirected' }), undefined));

  const config: KObject = {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Configuration',
    metadata: { name: 'stock', namespace: 'default', labels: { 'serving.knative.dev/service': 'stock' } },
    spec: { template: { spec: { containers: [{ image: 'img' }] } } },
  };
  assert.equal(
    messageOf(() => admit(cfg, config, undefined)),
    'missing field(s): metadata.labels.serving.knative.dev/service',
  );
  const owned = {
    ...config,
    metadata: { ...config.metadata, ownerReferences: [{ apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'stock', uid: 'u' }] },
  };
  assert.doesNotThrow(() => admit(cfg, owned, undefined));
  const revision: KObject = {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Revision',
    metadata: { name: 'stock-1', namespace: 'default', labels: { 'serving.knative.dev/configuration': 'stock' } },
    spec: { containers: [{ image: 'img' }] },
  };
  assert.equal(
    messageOf(() => admit(rev, revision, undefined)),
    'missing field(s): metadata.labels.serving.knative.dev/configuration',
  );

  assert.equal(
    messageOf(() =>
      admit(
        route,
        {
          apiVersion: 'serving.knative.dev/v1',
          kind: 'Route',
          metadata: { name: 'r', namespace: 'default' },
          spec: { traffic: [{ revisionName: 'b ar', percent: 100 }] },
        },
        undefined,
      ),
    ),
    "invalid key name \"b ar\": spec.traffic[0].revisionName\nname part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
  );
});
