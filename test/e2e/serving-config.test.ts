// The knative-serving ConfigMaps admission reads (config-features, config-defaults), through the
// stock kubectl: written with Knative's defaults, a bad edit refused with Knative's message, a good
// edit in force for the next admission, a deleted one written back.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../support/poll.js';
import { exampleService, kubectl, startTestSluice } from '../support/sluice.js';

const NS = ['-n', 'knative-serving'];

test('config-features and config-defaults: defaults, refused and accepted edits, recreated when deleted', async (t) => {
  const s = await startTestSluice(t);
  const kc = s.kubeconfigPath;
  const patch = (cm: string, data: Record<string, string>) =>
    kubectl(kc, ['patch', 'cm', cm, ...NS, '--type=merge', '-p', JSON.stringify({ data })]);
  const get = (cm: string, key: string) => kubectl(kc, ['get', 'cm', cm, ...NS, '-o', `jsonpath={.data.${key.replace(/\./g, '\\.')}}`]);

  assert.equal((await get('config-features', 'multi-container')).stdout, 'enabled');
  assert.equal((await get('config-features', 'tag-header-based-routing')).stdout, 'disabled');
  assert.equal((await get('config-defaults', 'revision-timeout-seconds')).stdout, '300');

  const bad = await patch('config-defaults', { 'revision-timeout-seconds': '900' });
  assert.notEqual(bad.code, 0);
  assert.match(
    bad.stderr,
    /admission webhook "config\.webhook\.serving\.knative\.dev" denied the request: validation failed: revision-timeout-seconds \(900\) cannot be greater than max-revision-timeout-seconds \(600\)/,
  );
  assert.equal((await get('config-defaults', 'revision-timeout-seconds')).stdout, '300');

  const good = await patch('config-defaults', { 'revision-timeout-seconds': '120' });
  assert.equal(good.code, 0, good.stderr);
  await waitFor('config-defaults in force', () => s.servingConfig.current().defaults.revisionTimeoutSeconds === 120);
  const applied = await kubectl(kc, ['apply', '-f', '-'], exampleService('timed', { revision: null }));
  assert.equal(applied.code, 0, applied.stderr);
  assert.equal((await kubectl(kc, ['get', 'ksvc', 'timed', '-o', 'jsonpath={.spec.template.spec.timeoutSeconds}'])).stdout, '120');

  const patched = await patch('config-features', { 'tag-header-based-routing': 'Enabled' });
  assert.equal(patched.code, 0, patched.stderr);
  await waitFor('tag-header-based-routing enabled', () => s.servingConfig.current().features['tag-header-based-routing'] === 'Enabled');

  assert.equal((await kubectl(kc, ['delete', 'cm', 'config-features', ...NS])).code, 0);
  await waitFor('config-features written back', async () => (await get('config-features', 'multi-container')).stdout === 'enabled');
});

test('kubectl: a field Knative disallows is refused with its message; a gated one is accepted once config-features enables it', async (t) => {
  const s = await startTestSluice(t);
  const kc = s.kubeconfigPath;
  const withSpec = (name: string, extra: Record<string, unknown>, ctrExtra: Record<string, unknown> = {}) => {
    const doc = JSON.parse(exampleService(name, { revision: null }));
    Object.assign(doc.spec.template.spec, extra);
    Object.assign(doc.spec.template.spec.containers[0], ctrExtra);
    return JSON.stringify(doc);
  };
  const stdin = await kubectl(kc, ['apply', '-f', '-'], withSpec('tty', {}, { stdin: true }));
  assert.notEqual(stdin.code, 0);
  assert.match(stdin.stderr, /validation failed: must not set the field\(s\): spec\.template\.spec\.containers\[0\]\.stdin/);

  const gated = withSpec('pinned', { nodeSelector: { disk: 'ssd' } });
  const before = await kubectl(kc, ['apply', '-f', '-'], gated);
  assert.notEqual(before.code, 0);
  assert.match(before.stderr, /must not set the field\(s\): spec\.template\.spec\.nodeSelector/);
  const on = await kubectl(kc, [
    'patch',
    'cm',
    'config-features',
    ...NS,
    '--type=merge',
    '-p',
    '{"data":{"kubernetes.podspec-nodeselector":"enabled"}}',
  ]);
  assert.equal(on.code, 0, on.stderr);
  await waitFor('podspec-nodeselector enabled', () => s.servingConfig.current().features['kubernetes.podspec-nodeselector'] === 'Enabled');
  const after = await kubectl(kc, ['apply', '-f', '-'], gated);
  assert.equal(after.code, 0, after.stderr);

  const image = await kubectl(kc, ['apply', '-f', '-'], withSpec('badimage', {}, { image: 'foo:bar:baz' }));
  assert.match(
    image.stderr,
    /Failed to parse image reference: spec\.template\.spec\.containers\[0\]\.image\nimage: "foo:bar:baz", error: could not parse reference: foo:bar:baz/,
  );
});
