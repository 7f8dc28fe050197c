import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { loadKubeconfig, parseKubeconfig, resolveKubeconfigPath } from '../../src/cli/kubeconfig.js';
import { CliError } from '../../src/cli/errors.js';

const home = '/home/u';

test('kubeconfig path: --kubeconfig, then SLUICE_KUBECONFIG, then KUBECONFIG, then ~/.sluice', () => {
  const env = { SLUICE_KUBECONFIG: '/s.yaml', KUBECONFIG: '/k.yaml' };
  assert.equal(resolveKubeconfigPath({ flag: '/f.yaml', env, home }), '/f.yaml');
  assert.equal(resolveKubeconfigPath({ env, home }), '/s.yaml');
  assert.equal(resolveKubeconfigPath({ env: { KUBECONFIG: '/k.yaml' }, home }), '/k.yaml');
  assert.equal(resolveKubeconfigPath({ env: { KUBECONFIG: `${delimiter}/a.yaml${delimiter}/b.yaml` }, home }), '/a.yaml');
  assert.equal(resolveKubeconfigPath({ env: { SLUICE_KUBECONFIG: '', KUBECONFIG: '' }, home }), join(home, '.sluice', 'kubeconfig.yaml'));
});

const config = `
apiVersion: v1
kind: Config
current-context: sluice
clusters:
  - name: other
    cluster: { server: "http://10.0.0.1:1" }
  - name: sluice
    cluster:
      server: http://127.0.0.1:8001/
users:
  - name: admin
    user:
      token: s3cret
contexts:
  - name: other
    context: { cluster: other, user: admin }
  - name: sluice
    context:
      cluster: sluice
      user: admin
      namespace: team-a
`;

test('parses the current context: server (trailing slash dropped), token, namespace', () => {
  assert.deepEqual(parseKubeconfig(config, 'k.yaml'), {
    server: 'http://127.0.0.1:8001',
    token: 's3cret',
    namespace: 'team-a',
    path: 'k.yaml',
  });
  const noNs = config.replace('      namespace: team-a\n', '');
  assert.equal(parseKubeconfig(noNs, 'k.yaml').namespace, 'default');
  const other = config.replace('current-context: sluice', 'current-context: other');
  assert.equal(parseKubeconfig(other, 'k.yaml').server, 'http://10.0.0.1:1');
});

test('broken kubeconfigs give one clear message', () => {
  const err = (text: string, re: RegExp) =>
    assert.throws(
      () => parseKubeconfig(text, 'k.yaml'),
      (e: unknown) => e instanceof CliError && re.test(e.message),
    );
  err('a: [1', /k.yaml is not valid YAML/);
  err('', /k.yaml is empty/);
  err(config.replace('current-context: sluice', 'current-context: nope'), /context "nope" not found/);
  err(config.replace('http://127.0.0.1:8001/', '""'), /cluster "sluice" has no server/);
});

test('loadKubeconfig reads the resolved file and explains a missing one', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-kc-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'kubeconfig.yaml');
  writeFileSync(file, config);
  assert.equal(loadKubeconfig({ env: { SLUICE_KUBECONFIG: file }, home: '/nowhere' }).token, 's3cret');
  assert.throws(
    () => loadKubeconfig({ env: {}, home: dir }),
    (e: unknown) =>
      e instanceof CliError && e.message.includes(join(dir, '.sluice', 'kubeconfig.yaml')) && e.message.includes('sluice server'),
  );
});
