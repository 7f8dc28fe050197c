// Knative pod specs the local runtime runs, through the stock kubectl: a sidecar next to the
// serving container (reached on localhost, sharing an emptyDir, logs per container), a revision
// reading a ConfigMap and a Secret by env, envFrom and volumes (a ConfigMap change reaching the
// mounted files of a running instance), and a missing ConfigMap failing the revision with the
// kubelet's reason until it is created.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { waitFor } from '../support/poll.js';
import { freePort } from '../support/ports.js';
import { gatewayGet, kubectl, startTestSluice } from '../support/sluice.js';

const APP = [process.execPath, fileURLToPath(new URL('../../examples/pod-info/server.js', import.meta.url))];
const cond = (o: any, type: string) => o?.status?.conditions?.find((c: any) => c.type === type);
const env = (vars: Record<string, string>) => Object.entries(vars).map(([name, value]) => ({ name, value }));

function service(name: string, spec: Record<string, unknown>): string {
  return JSON.stringify({
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: { name, namespace: 'default' },
    spec: { template: { spec } },
  });
}

async function getJson(port: number, host: string, accept: (body: any) => boolean) {
  return waitFor(`an answer from ${host}`, async () => {
    const r = await gatewayGet(port, host);
    if (r.status !== 200) return undefined;
    const body = JSON.parse(r.body);
    return accept(body) ? body : undefined;
  });
}

test('a sidecar runs next to the serving container: localhost, a shared emptyDir, its own env and logs', async (t) => {
  const s = await startTestSluice(t);
  const kc = s.kubeconfigPath;
  const sidePort = await freePort();
  const doc = service('withsidecar', {
    containers: [
      {
        name: 'app',
        image: 'example.com/pod-info',
        command: APP,
        ports: [{ containerPort: 8080 }],
        env: env({ SIDECAR_URL: `http://127.0.0.1:${sidePort}/`, SHOW_ENV: 'K_REVISION', SHOW_FILES: '/shared/note' }),
        volumeMounts: [{ name: 'shared', mountPath: '/shared', readOnly: true }],
      },
      {
        name: 'side',
        image: 'example.com/pod-info',
        command: APP,
        env: env({ ROLE: 'sidecar', SIDECAR_PORT: String(sidePort), WRITE_FILE: '/data/note' }),
        volumeMounts: [{ name: 'shared', mountPath: '/data' }],
      },
    ],
    volumes: [{ name: 'shared', emptyDir: {} }],
  });
  const applied = await kubectl(kc, ['apply', '-f', '-'], doc);
  assert.equal(applied.code, 0, applied.stderr);
  const body = await getJson(s.gatewayPort, 'withsidecar.default.example.com', (b) => /^sidecar of/.test(b.sidecar ?? ''));
  assert.equal(body.sidecar, 'sidecar of withsidecar-00001 (PORT unset)', 'the sidecar gets K_REVISION but not the serving PORT');
  assert.equal(body.env.K_REVISION, 'withsidecar-00001');
  assert.deepEqual(Object.values(body.files), ['written by the sidecar of withsidecar-00001\n'], 'both containers see the emptyDir');
  assert.doesNotMatch(Object.keys(body.files)[0], /^\/shared\//, 'the mount path was rewritten to the instance directory');

  const rev = parse((await kubectl(kc, ['get', 'revision', 'withsidecar-00001', '-o', 'yaml'])).stdout);
  assert.deepEqual(
    rev.status.containerStatuses.map((c: any) => c.name),
    ['app', 'side'],
  );
  const logPath = '/apis/serving.knative.dev/v1/namespaces/default/revisions/withsidecar-00001/log';
  const sideLog = await kubectl(kc, ['get', '--raw', `${logPath}?container=side`]);
  assert.match(sideLog.stdout, /sidecar listening on/);
  const appLog = await kubectl(kc, ['get', '--raw', logPath]);
  assert.match(appLog.stdout, /pod-info listening on/, 'the serving container is the default');
  assert.doesNotMatch(appLog.stdout, /sidecar listening/);
  const bad = await kubectl(kc, ['get', '--raw', `${logPath}?container=nope`]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /container nope is not valid/);
});

test('a revision reads a ConfigMap and a Secret by env, envFrom and volumes; secrets stay out of events and describe', async (t) => {
  const s = await startTestSluice(t);
  const kc = s.kubeconfigPath;
  for (const args of [
    ['create', 'configmap', 'app-config', '--from-literal=greeting=hello', '--from-literal=color=blue'],
    ['create', 'secret', 'generic', 'app-secret', '--from-literal=password=s3cret-value'],
  ]) {
    const r = await kubectl(kc, args);
    assert.equal(r.code, 0, r.stderr);
  }
  const doc = service('configured', {
    containers: [
      {
        image: 'example.com/pod-info',
        command: APP,
        env: [
          ...env({ SHOW_ENV: 'GREETING,PASSWORD,CFG_color,OPTIONAL', SHOW_FILES: '/etc/config/greeting,/etc/secret/pw' }),
          { name: 'GREETING', valueFrom: { configMapKeyRef: { name: 'app-config', key: 'greeting' } } },
          { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'app-secret', key: 'password' } } },
          { name: 'OPTIONAL', valueFrom: { configMapKeyRef: { name: 'not-there', key: 'x', optional: true } } },
        ],
        envFrom: [{ configMapRef: { name: 'app-config' }, prefix: 'CFG_' }],
        volumeMounts: [
          { name: 'config', mountPath: '/etc/config', readOnly: true },
          { name: 'secret', mountPath: '/etc/secret', readOnly: true },
        ],
      },
    ],
    volumes: [
      { name: 'config', configMap: { name: 'app-config' } },
      { name: 'secret', secret: { secretName: 'app-secret', items: [{ key: 'password', path: 'pw' }] } },
    ],
  });
  const applied = await kubectl(kc, ['apply', '-f', '-'], doc);
  assert.equal(applied.code, 0, applied.stderr);
  const host = 'configured.default.example.com';
  const body = await getJson(s.gatewayPort, host, () => true);
  assert.deepEqual(body.env, { GREETING: 'hello', PASSWORD: 's3cret-value', CFG_color: 'blue', OPTIONAL: null });
  assert.deepEqual(Object.values(body.files), ['hello', 's3cret-value']);

  // A ConfigMap change reaches the mounted files of the running instance; its env stays (as in Kubernetes).
  assert.equal((await kubectl(kc, ['patch', 'configmap', 'app-config', '-p', '{"data":{"greeting":"bonjour"}}'])).code, 0);
  const updated = await getJson(s.gatewayPort, host, (b) => Object.values(b.files)[0] === 'bonjour');
  assert.equal(updated.env.GREETING, 'hello');

  for (const args of [
    ['describe', 'ksvc', 'configured'],
    ['describe', 'revision', 'configured-00001'],
    ['get', 'events', '-A', '-o', 'yaml'],
    ['describe', 'secret', 'app-secret'],
  ]) {
    const r = await kubectl(kc, args);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /s3cret-value/, `kubectl ${args.join(' ')} shows no secret value`);
  }
  const log = await kubectl(kc, ['get', '--raw', '/apis/serving.knative.dev/v1/namespaces/default/revisions/configured-00001/log']);
  assert.doesNotMatch(log.stdout, /s3cret-value/);
});

test('a missing ConfigMap or Secret fails the revision with the kubelet reason, and creating it recovers', async (t) => {
  const s = await startTestSluice(t);
  const kc = s.kubeconfigPath;
  const get = async (kind: string, name: string) => parse((await kubectl(kc, ['get', kind, name, '-o', 'yaml'])).stdout);
  const doc = service('needscm', {
    containers: [
      {
        image: 'example.com/pod-info',
        command: APP,
        env: [...env({ SHOW_ENV: 'MODE' }), { name: 'MODE', valueFrom: { configMapKeyRef: { name: 'late-config', key: 'mode' } } }],
      },
    ],
  });
  const applied = await kubectl(kc, ['apply', '-f', '-'], doc);
  assert.equal(applied.code, 0, applied.stderr);
  const svc = await waitFor('the service failed', async () => {
    const o = await get('ksvc', 'needscm');
    return cond(o, 'Ready')?.status === 'False' && cond(o, 'ConfigurationsReady')?.status === 'False' ? o : undefined;
  });
  const rev = await get('revision', svc.status.latestCreatedRevisionName);
  assert.equal(cond(rev, 'ResourcesAvailable').status, 'False');
  assert.equal(cond(rev, 'ResourcesAvailable').reason, 'CreateContainerConfigError');
  assert.equal(cond(rev, 'ResourcesAvailable').message, 'configmap "late-config" not found');
  assert.equal(cond(rev, 'ContainerHealthy').status, 'Unknown', 'the container never ran');
  const cfg = await get('configuration', 'needscm');
  assert.equal(cond(cfg, 'Ready').reason, 'RevisionFailed');
  assert.match(cond(cfg, 'Ready').message, /configmap "late-config" not found/);

  assert.equal((await kubectl(kc, ['create', 'configmap', 'late-config', '--from-literal=mode=fast'])).code, 0);
  await waitFor('the service recovered', async () => cond(await get('ksvc', 'needscm'), 'Ready')?.status === 'True');
  const body = await getJson(s.gatewayPort, 'needscm.default.example.com', () => true);
  assert.deepEqual(body.env, { MODE: 'fast' });

  // A Secret volume that is not there yet: the kubelet's FailedMount, then the files once it exists.
  const withVolume = service('needssecret', {
    containers: [
      {
        image: 'example.com/pod-info',
        command: APP,
        env: env({ SHOW_FILES: '/var/run/creds/token' }),
        volumeMounts: [{ name: 'creds', mountPath: '/var/run/creds', readOnly: true }],
      },
    ],
    volumes: [{ name: 'creds', secret: { secretName: 'late-secret' } }],
  });
  assert.equal((await kubectl(kc, ['apply', '-f', '-'], withVolume)).code, 0);
  const mountFailed = await waitFor('the revision failed', async () => {
    const r = await get('revision', 'needssecret-00001');
    return cond(r, 'ResourcesAvailable')?.status === 'False' ? r : undefined;
  });
  assert.equal(cond(mountFailed, 'ResourcesAvailable').reason, 'FailedMount');
  assert.equal(
    cond(mountFailed, 'ResourcesAvailable').message,
    'MountVolume.SetUp failed for volume "creds" : secret "late-secret" not found',
  );
  assert.equal((await kubectl(kc, ['create', 'secret', 'generic', 'late-secret', '--from-literal=token=t0k3n'])).code, 0);
  const mounted = await getJson(s.gatewayPort, 'needssecret.default.example.com', () => true);
  assert.deepEqual(Object.values(mounted.files), ['t0k3n']);
});
