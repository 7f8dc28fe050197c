// config-features, config-defaults and resource quantities: parsed with Knative's defaults and
// messages, and refused at admission when Knative's configmap webhook would refuse them.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { admit } from '../../src/api/admission.js';
import { DEFAULTS, parseDefaultsConfig } from '../../src/api/config-defaults.js';
import { DEFAULT_FEATURES, defaultFeaturesConfigData, parseFeatures } from '../../src/api/features.js';
import { parseQuantity } from '../../src/api/quantity.js';
import { findKind } from '../../src/api/registry.js';

test('config-features: Knative defaults, case-insensitive flags, junk keeps the default', () => {
  assert.equal(DEFAULT_FEATURES['multi-container'], 'Enabled');
  assert.equal(DEFAULT_FEATURES['kubernetes.podspec-volumes-emptydir'], 'Enabled');
  assert.equal(DEFAULT_FEATURES['tag-header-based-routing'], 'Disabled');
  assert.equal(DEFAULT_FEATURES['kubernetes.podspec-fieldref'], 'Disabled');
  const cases: [Record<string, string>, string, string][] = [
    [{ 'tag-header-based-routing': 'enabled' }, 'tag-header-based-routing', 'Enabled'],
    [{ 'tag-header-based-routing': 'ENABLED' }, 'tag-header-based-routing', 'Enabled'],
    [{ 'kubernetes.podspec-fieldref': 'Allowed' }, 'kubernetes.podspec-fieldref', 'Allowed'],
    [{ 'kubernetes.podspec-fieldref': 'yes please' }, 'kubernetes.podspec-fieldref', 'Disabled'],
    [{ 'multi-container': 'disabled' }, 'multi-container', 'Disabled'],
    // secure-pod-defaults knows AllowRootBounded but not Allowed.
    [{ 'secure-pod-defaults': 'allowrootbounded' }, 'secure-pod-defaults', 'AllowRootBounded'],
    [{ 'secure-pod-defaults': 'allowed' }, 'secure-pod-defaults', 'Disabled'],
    [{ 'kubernetes.podspec-affinity': 'AllowRootBounded' }, 'kubernetes.podspec-affinity', 'Disabled'],
  ];
  for (const [data, key, want] of cases)
    assert.equal(parseFeatures(data)[key as keyof typeof DEFAULT_FEATURES], want, JSON.stringify(data));
  // The written defaults parse back to the defaults.
  assert.deepEqual(parseFeatures(defaultFeaturesConfigData()), DEFAULT_FEATURES);
});

test('config-defaults: Knative defaults and its refusals', () => {
  assert.deepEqual(parseDefaultsConfig({}), DEFAULTS);
  assert.equal(parseDefaultsConfig({ 'revision-timeout-seconds': '120' }).revisionResponseStartTimeoutSeconds, 120);
  assert.equal(
    parseDefaultsConfig({ 'revision-timeout-seconds': '120', 'revision-response-start-timeout-seconds': '60' })
      .revisionResponseStartTimeoutSeconds,
    60,
  );
  assert.deepEqual(parseDefaultsConfig({ 'revision-cpu-request': '250m' }).resourceRequests, { cpu: '250m' });
  const refused: [Record<string, string>, string][] = [
    [{ 'revision-timeout-seconds': 'abc' }, 'failed to parse "revision-timeout-seconds": strconv.ParseInt: parsing "abc": invalid syntax'],
    [{ 'revision-timeout-seconds': '700' }, 'revision-timeout-seconds (700) cannot be greater than max-revision-timeout-seconds (600)'],
    [
      { 'revision-response-start-timeout-seconds': '400' },
      'revision-response-start-timeout-seconds (400) cannot be greater than revision-timeout-seconds (300)',
    ],
    [
      { 'revision-idle-timeout-seconds': '301' },
      'revision-idle-timeout-seconds (301) cannot be greater than revision-timeout-seconds (300)',
    ],
    [{ 'container-concurrency-max-limit': '0' }, 'expected 1 <= 0 <= 2147483647: container-concurrency-max-limit'],
    [{ 'container-concurrency': '1001' }, 'expected 0 <= 1001 <= 1000: container-concurrency'],
    [
      { 'allow-container-concurrency-zero': 'maybe' },
      'failed to parse "allow-container-concurrency-zero": strconv.ParseBool: parsing "maybe": invalid syntax',
    ],
    [{ 'revision-memory-limit': '1kk' }, 'failed to parse "revision-memory-limit": unable to parse quantity\'s suffix'],
  ];
  for (const [data, msg] of refused) assert.throws(() => parseDefaultsConfig(data), { message: msg });
});

test('resource quantities parse as apimachinery does', () => {
  const ok: [string, number][] = [
    ['500m', 0.5],
    ['1', 1],
    ['128Mi', 128 * 2 ** 20],
    ['1.5G', 1.5e9],
    ['1e3', 1000],
    ['.5', 0.5],
  ];
  for (const [s, v] of ok) assert.deepEqual(parseQuantity(s), { ok: true, value: v }, s);
  for (const bad of ['', 'abc', '1.2.3', ' 1', '1 Mi']) assert.equal(parseQuantity(bad).ok, false, bad);
  assert.deepEqual(parseQuantity('5mm'), { ok: false, error: "unable to parse quantity's suffix" });
});

test('admission refuses a knative-serving ConfigMap its parser refuses, and leaves other ConfigMaps alone', () => {
  const cm = findKind('configmap')!;
  const obj = (namespace: string, name: string, data: Record<string, string>) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace },
    data,
  });
  assert.throws(() => admit(cm, obj('knative-serving', 'config-defaults', { 'revision-timeout-seconds': '700' }), undefined), {
    message:
      'admission webhook "config.webhook.serving.knative.dev" denied the request: validation failed: revision-timeout-seconds (700) cannot be greater than max-revision-timeout-seconds (600)',
  });
  assert.doesNotThrow(() => admit(cm, obj('default', 'config-defaults', { 'revision-timeout-seconds': '700' }), undefined));
  assert.doesNotThrow(() => admit(cm, obj('knative-serving', 'config-features', { 'multi-container': 'whatever' }), undefined));
});

test('config-defaults drives admission defaults: timeouts, container name template, resources', () => {
  const ksvc = findKind('ksvc')!;
  const defaults = parseDefaultsConfig({
    'revision-timeout-seconds': '120',
    'revision-response-start-timeout-seconds': '30',
    'revision-idle-timeout-seconds': '60',
    'container-name-template': '{{.Name}}',
    'revision-memory-limit': '256Mi',
  });
  const out = admit(
    ksvc,
    {
      apiVersion: 'serving.knative.dev/v1',
      kind: 'Service',
      metadata: { name: 'hello', namespace: 'default' },
      spec: { template: { spec: { containers: [{ image: 'img' }] } } },
    },
    undefined,
    { features: DEFAULT_FEATURES, defaults },
  );
  const spec = out.spec.template.spec;
  assert.equal(spec.timeoutSeconds, 120);
  assert.equal(spec.responseStartTimeoutSeconds, 30);
  assert.equal(spec.idleTimeoutSeconds, 60);
  assert.equal(spec.containers[0].name, 'hello');
  assert.deepEqual(spec.containers[0].resources, { limits: { memory: '256Mi' } });
});
