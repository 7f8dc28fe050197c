// The pure parts of running a Knative pod spec locally: env from ConfigMaps, Secrets and the
// downward API (the kubelet's order and wording), the volume plan (items, modes, optional,
// projected sources), mounts, mount path rewriting, the ConfigMaps and Secrets a spec reads, and
// which container serves, and the atomic writing of volume files.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { Container, RevisionSpec } from '../../src/api/types.js';
import { localRuntimeLimits } from '../../src/api/runtime-limits.js';
import { configDataOf, configRefs, type ConfigKind, type ConfigLookup } from '../../src/runtime/config-refs.js';
import { ConfigError, resolveContainerEnv, resourceValue, type PodFacts } from '../../src/runtime/local/config-env.js';
import { servingIndex } from '../../src/runtime/local/pod.js';
import { writeAtomic } from '../../src/runtime/local/volume-files.js';
import { planMounts, planVolumes, rewritePaths } from '../../src/runtime/local/volumes.js';

const data = (o: Record<string, string>) => new Map(Object.entries(o).map(([k, v]) => [k, Buffer.from(v)]));
const objects: Record<string, Map<string, Buffer>> = {
  'ConfigMap/app': data({ greeting: 'hello', color: 'blue', 'bad=key': 'x' }),
  'Secret/creds': data({ password: 's3cret', 'tls.key': 'KEY' }),
};
const lookup: ConfigLookup = {
  get: (kind: ConfigKind, ns: string, name: string) => (ns === 'ns' ? objects[`${kind}/${name}`] : undefined),
};
const pod: PodFacts = {
  namespace: 'ns',
  name: 'rev-00001-abcde',
  uid: 'u-1',
  labels: { app: 'a', 'serving.knative.dev/revision': 'rev-00001' },
  annotations: { note: 'n' },
  nodeName: 'host1',
  serviceAccountName: 'default',
  podIP: '127.0.0.1',
  hostIP: '127.0.0.1',
};

const configError = (reason: string, message: string) => (e: unknown) =>
  e instanceof ConfigError && e.reason === reason && e.message === message;

test('env: envFrom first (prefix, bad keys skipped), then env in order; references resolved, values not expanded', () => {
  const c: Container = {
    envFrom: [{ configMapRef: { name: 'app' }, prefix: 'CM_' }, { secretRef: { name: 'gone', optional: true } }],
    env: [
      { name: 'A', value: 'x-$(CM_color)' },
      { name: 'PW', valueFrom: { secretKeyRef: { name: 'creds', key: 'password' } } },
      { name: 'G', valueFrom: { configMapKeyRef: { name: 'app', key: 'greeting' } } },
      { name: 'OPT', valueFrom: { configMapKeyRef: { name: 'app', key: 'absent', optional: true } } },
      { name: 'OPT2', valueFrom: { secretKeyRef: { name: 'nothing', key: 'k', optional: true } } },
      { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'LBL', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
    ],
  };
  assert.deepEqual(resolveContainerEnv(c, 'ns', lookup, pod), [
    { name: 'CM_greeting', value: 'hello', expand: false },
    { name: 'CM_color', value: 'blue', expand: false },
    { name: 'A', value: 'x-$(CM_color)', expand: true },
    { name: 'PW', value: 's3cret', expand: false },
    { name: 'G', value: 'hello', expand: false },
    { name: 'POD', value: 'rev-00001-abcde', expand: false },
    { name: 'LBL', value: 'a', expand: false },
  ]);
});

test('env: a missing ConfigMap, Secret or key is CreateContainerConfigError in the kubelet wording', () => {
  const cases: [Container, string][] = [
    [{ env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'nope', key: 'k' } } }] }, 'configmap "nope" not found'],
    [{ env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'nope', key: 'k' } } }] }, 'secret "nope" not found'],
    [
      { env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'app', key: 'absent' } } }] },
      "couldn't find key absent in ConfigMap ns/app",
    ],
    [
      { env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'creds', key: 'absent' } } }] },
      "couldn't find key absent in Secret ns/creds",
    ],
    [{ envFrom: [{ secretRef: { name: 'nope' } }] }, 'secret "nope" not found'],
  ];
  for (const [c, message] of cases)
    assert.throws(() => resolveContainerEnv(c, 'ns', lookup, pod), configError('CreateContainerConfigError', message));
});

test('resourceFieldRef: limits, requests falling back to limits, divisors rounded up', () => {
  const c: Container = { resources: { limits: { cpu: '1500m', memory: '256Mi' }, requests: { memory: '64Mi' } } };
  assert.equal(resourceValue({ resource: 'limits.cpu' }, c), '2');
  assert.equal(resourceValue({ resource: 'limits.cpu', divisor: '1m' }, c), '1500');
  assert.equal(resourceValue({ resource: 'requests.cpu', divisor: '1m' }, c), '1500');
  assert.equal(resourceValue({ resource: 'requests.memory', divisor: '1Mi' }, c), '64');
});

test('volumes: every key or the items asked for, with defaultMode and item modes; optional; emptyDir', () => {
  const spec: RevisionSpec = {
    containers: [{ name: 'app' }],
    volumes: [
      { name: 'all', configMap: { name: 'app', defaultMode: 0o400 } },
      { name: 'some', secret: { secretName: 'creds', items: [{ key: 'tls.key', path: 'tls/key.pem', mode: 0o600 }] } },
      { name: 'opt', configMap: { name: 'none', optional: true } },
      { name: 'scratch', emptyDir: {} },
      {
        name: 'proj',
        projected: {
          sources: [
            { configMap: { name: 'app', items: [{ key: 'color', path: 'color' }] } },
            { secret: { name: 'creds', items: [{ key: 'password', path: 'pw' }] } },
            { downwardAPI: { items: [{ path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }] } },
          ],
        },
      },
    ],
  };
  const plan = planVolumes(spec, 'ns', lookup, pod);
  const files = (name: string) => {
    const v = plan.get(name)!;
    return v.kind === 'files' ? v.files.map((f) => [f.path, f.data.toString(), f.mode.toString(8)]) : v.kind;
  };
  assert.deepEqual(files('all'), [
    ['greeting', 'hello', '400'],
    ['color', 'blue', '400'],
    ['bad=key', 'x', '400'],
  ]);
  assert.deepEqual(files('some'), [['tls/key.pem', 'KEY', '600']]);
  assert.deepEqual(files('opt'), []);
  assert.equal(files('scratch'), 'emptyDir');
  assert.deepEqual(files('proj'), [
    ['color', 'blue', '644'],
    ['pw', 's3cret', '644'],
    ['labels', 'app="a"\nserving.knative.dev/revision="rev-00001"', '644'],
  ]);
});

test('volumes: a missing object or key is FailedMount in the kubelet wording', () => {
  const vol = (v: Record<string, unknown>): RevisionSpec => ({ containers: [{}], volumes: [{ name: 'v', ...v }] });
  const cases: [RevisionSpec, string][] = [
    [vol({ configMap: { name: 'nope' } }), 'MountVolume.SetUp failed for volume "v" : configmap "nope" not found'],
    [vol({ secret: { secretName: 'nope' } }), 'MountVolume.SetUp failed for volume "v" : secret "nope" not found'],
    [
      vol({ configMap: { name: 'app', items: [{ key: 'absent', path: 'a' }] } }),
      'MountVolume.SetUp failed for volume "v" : configmap references non-existent config key: absent',
    ],
    [
      vol({ secret: { secretName: 'creds', items: [{ key: 'absent', path: 'a' }] } }),
      'MountVolume.SetUp failed for volume "v" : references non-existent secret key: absent',
    ],
    [
      vol({ configMap: { name: 'app', items: [{ key: 'color', path: '../escape' }] } }),
      'MountVolume.SetUp failed for volume "v" : invalid path "../escape"',
    ],
  ];
  for (const [spec, message] of cases) assert.throws(() => planVolumes(spec, 'ns', lookup, pod), configError('FailedMount', message));
});

test('mounts and mount path rewriting: flags, lists, longest mount first, nothing else touched', () => {
  assert.deepEqual(planMounts({ volumeMounts: [{ name: 'c', mountPath: '/etc/config/', readOnly: true, subPath: 'app.yaml' }] }), [
    { mountPath: '/etc/config', volume: 'c', subPath: 'app.yaml', readOnly: true },
  ]);
  const mounts = [
    { mountPath: '/etc/config', localPath: '/d/m/etc/config' },
    { mountPath: '/etc/config/extra', localPath: '/d/x' },
  ];
  const table: [string, string][] = [
    ['/etc/config', '/d/m/etc/config'],
    ['/etc/config/app.yaml', '/d/m/etc/config/app.yaml'],
    ['--config=/etc/config/app.yaml', '--config=/d/m/etc/config/app.yaml'],
    ['/bin:/etc/config', '/bin:/d/m/etc/config'],
    ['/etc/config/extra/a', '/d/x/a'],
    ['/etc/configuration', '/etc/configuration'],
    ['see /etc/config', 'see /etc/config'],
    ['/srv/etc/config', '/srv/etc/config'],
  ];
  for (const [input, want] of table) assert.equal(rewritePaths(input, mounts), want, input);
});

test('the ConfigMaps and Secrets a spec reads, each once; stored data decoded', () => {
  const spec: RevisionSpec = {
    containers: [
      {
        envFrom: [{ configMapRef: { name: 'a' } }, { secretRef: { name: 's' } }],
        env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'a', key: 'k' } } }],
      },
    ],
    volumes: [
      { name: 'v1', secret: { secretName: 't' } },
      { name: 'v2', projected: { sources: [{ configMap: { name: 'b' } }, { secret: { name: 's' } }] } },
    ],
  };
  assert.deepEqual(configRefs(spec), [
    { kind: 'ConfigMap', name: 'a' },
    { kind: 'Secret', name: 's' },
    { kind: 'Secret', name: 't' },
    { kind: 'ConfigMap', name: 'b' },
  ]);
  assert.equal(
    configDataOf('Secret', { data: { k: Buffer.from('v').toString('base64') } })
      .get('k')
      ?.toString(),
    'v',
  );
  const cm = configDataOf('ConfigMap', { data: { a: 'x' }, binaryData: { b: Buffer.from([1, 2]).toString('base64') } });
  assert.equal(cm.get('a')?.toString(), 'x');
  assert.deepEqual([...cm.get('b')!], [1, 2]);
});

test('the serving container is the one with the port; admission still refuses what nothing backs', () => {
  assert.equal(servingIndex([{ name: 'side' }, { name: 'app', ports: [{ containerPort: 8080 }] }]), 1);
  assert.equal(servingIndex([{ name: 'only' }]), 0);
  assert.deepEqual(
    localRuntimeLimits({
      containers: [{}, {}],
      volumes: [
        { name: 'c', configMap: { name: 'x' } },
        { name: 'e', emptyDir: {} },
      ],
    }),
    [],
  );
  const refused = localRuntimeLimits({
    containers: [{}],
    initContainers: [{}],
    volumes: [
      { name: 'p', persistentVolumeClaim: { claimName: 'c' } },
      { name: 't', projected: { sources: [{ serviceAccountToken: { path: 'token' } }] } },
    ],
  }).map((e) => e.paths.join(','));
  assert.deepEqual(refused, ['initContainers', 'volumes[0].persistentVolumeClaim', 'volumes[1].projected.sources[0].serviceAccountToken']);
});

test('volume files are switched atomically through ..data; old generations and dropped keys go', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-vol-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = (p: string, text: string, mode = 0o644) => ({ path: p, data: Buffer.from(text), mode });
  writeAtomic(dir, [file('a', '1'), file('sub/b', '2', 0o600)]);
  assert.equal(fs.readFileSync(path.join(dir, 'a'), 'utf8'), '1');
  assert.equal(fs.readFileSync(path.join(dir, 'sub', 'b'), 'utf8'), '2');
  assert.equal(fs.statSync(path.join(dir, 'sub', 'b')).mode & 0o777, 0o600);
  assert.equal(fs.readlinkSync(path.join(dir, 'a')), path.join('..data', 'a'));
  const firstGeneration = fs.readlinkSync(path.join(dir, '..data'));
  writeAtomic(dir, [file('a', 'changed')]);
  assert.equal(fs.readFileSync(path.join(dir, 'a'), 'utf8'), 'changed');
  assert.notEqual(fs.readlinkSync(path.join(dir, '..data')), firstGeneration);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['..data', fs.readlinkSync(path.join(dir, '..data')), 'a'].sort());
});
