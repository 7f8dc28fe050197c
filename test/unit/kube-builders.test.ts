// Golden tests of the objects a Revision becomes on Kubernetes (test/unit/golden/*.yaml; rewrite
// them with UPDATE_GOLDEN=1 after an intended change and review the diff), plus the rules behind
// them as table tests.

import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse, stringify } from 'yaml';
import type { KObject } from '../../src/api/types.js';
import { resolveScalingSpec } from '../../src/autoscaler/annotations.js';
import { parseAutoscalerConfig } from '../../src/autoscaler/config.js';
import { plannedCapacity } from '../../src/autoscaler/schedule.js';
import { makeDeployment, makeHPA, makePrivateService, userPort } from '../../src/runtime/kube/builders.js';
import { chooseVictims, podFailure } from '../../src/runtime/kube/runtime.js';

const goldenDir = join(import.meta.dirname, '..', '..', '..', 'test', 'unit', 'golden');

function golden(name: string, actual: unknown): void {
  const file = join(goldenDir, name);
  if (process.env.UPDATE_GOLDEN === '1' || !existsSync(file)) writeFileSync(file, stringify(actual, { lineWidth: 0 }));
  assert.deepEqual(actual, parse(readFileSync(file, 'utf8')), `${name} differs from the golden file`);
}

const revision = (over: Partial<KObject> = {}): KObject => ({
  apiVersion: 'serving.knative.dev/v1',
  kind: 'Revision',
  metadata: {
    name: 'stock-service-example-v1',
    namespace: 'default',
    uid: '6f1c1b1e-1c7e-4a53-9d1e-0d5c3f2b9a10',
    labels: {
      'serving.knative.dev/service': 'stock-service-example',
      'serving.knative.dev/configuration': 'stock-service-example',
      'serving.knative.dev/configurationGeneration': '1',
      'serving.knative.dev/route': 'stock-service-example',
      'serving.knative.dev/routingState': 'active',
    },
    annotations: { 'autoscaling.knative.dev/min-scale': '1', 'serving.knative.dev/routes': 'stock-service-example', team: 'a' },
  },
  spec: {
    containerConcurrency: 0,
    timeoutSeconds: 300,
    containers: [
      {
        name: 'user-container',
        image: 'registry.cn-hangzhou.aliyuncs.com/knative-sample/rest-api-go:v1',
        env: [{ name: 'RESOURCE', value: 'v1' }],
        readinessProbe: { httpGet: { path: '/' }, initialDelaySeconds: 0, periodSeconds: 3, successThreshold: 1 },
      },
    ],
  },
  ...over,
});

test('Deployment {revision}-deployment as Knative builds it, without replicas and without queue-proxy', () => {
  const d = makeDeployment(revision(), { preStopSleepSeconds: 3 });
  golden('kube-deployment.yaml', d);
  assert.equal(d.spec.replicas, undefined, 'replicas belong to the autoscaler (/scale) or the HPA');
  assert.equal(d.spec.template.spec.containers.length, 1);
});

test('headless {revision}-private Service selecting the revision by UID', () => {
  golden('kube-private-service.yaml', makePrivateService(revision()));
});

const pa: KObject = {
  apiVersion: 'autoscaling.internal.knative.dev/v1alpha1',
  kind: 'PodAutoscaler',
  metadata: { name: 'hello-00001', namespace: 'default', uid: 'pa-uid', labels: { 'serving.knative.dev/revision': 'hello-00001' } },
  spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'hello-00001-deployment' } },
};
const config = parseAutoscalerConfig({});
const hpaFor = (annotations: Record<string, string>, window?: number) =>
  makeHPA(pa, resolveScalingSpec({ 'autoscaling.knative.dev/class': 'hpa.autoscaling.knative.dev', ...annotations }, 0, config), window);

test('HPA from an hpa-class PodAutoscaler, as Knative MakeHPA', () => {
  golden(
    'kube-hpa-cpu.yaml',
    hpaFor(
      {
        'autoscaling.knative.dev/metric': 'cpu',
        'autoscaling.knative.dev/target': '70.5',
        'autoscaling.knative.dev/min-scale': '1',
        'autoscaling.knative.dev/max-scale': '5',
      },
      30,
    ),
  );
  const memory = hpaFor({ 'autoscaling.knative.dev/metric': 'memory', 'autoscaling.knative.dev/target': '200' });
  assert.deepEqual(memory.spec.metrics, [
    { type: 'Resource', resource: { name: 'memory', target: { type: 'AverageValue', averageValue: '200Mi' } } },
  ]);
  assert.equal(memory.spec.maxReplicas, 2147483647, 'max-scale 0 is no limit');
  assert.equal(memory.spec.minReplicas, 1, 'an HPA never goes below one (what Kubernetes does without minReplicas)');
  const rps = hpaFor({ 'autoscaling.knative.dev/metric': 'rps', 'autoscaling.knative.dev/target': '150' });
  assert.deepEqual(rps.spec.metrics, [
    { type: 'Pods', pods: { metric: { name: 'rps' }, target: { type: 'AverageValue', averageValue: '150' } } },
  ]);
  assert.equal(hpaFor({}).spec.metrics, undefined, "no target: Kubernetes' default (80 % CPU)");
});

test('the user port: the declared containerPort, else 8080; probes get it filled in', () => {
  const withPort = revision();
  withPort.spec.containers[0].ports = [{ containerPort: 9000 }];
  withPort.spec.containers[0].readinessProbe = { tcpSocket: { port: 0 } };
  assert.equal(userPort(withPort), 9000);
  const c = makeDeployment(withPort).spec.template.spec.containers[0];
  assert.deepEqual(c.ports, [{ name: 'user-port', containerPort: 9000, protocol: 'TCP' }]);
  assert.deepEqual(c.readinessProbe, { tcpSocket: { port: 9000 }, periodSeconds: 1 });
  assert.deepEqual(
    c.env.filter((e: any) => e.name === 'PORT'),
    [{ name: 'PORT', value: '9000' }],
  );
  assert.equal(userPort(revision()), 8080);
});

test('a user-set PORT or K_* variable is replaced, as Knative reserves them', () => {
  const r = revision();
  r.spec.containers[0].env = [
    { name: 'PORT', value: '1' },
    { name: 'K_SERVICE', value: 'x' },
    { name: 'A', value: 'b' },
  ];
  const env = makeDeployment(r).spec.template.spec.containers[0].env;
  assert.deepEqual(
    env.map((e: any) => `${e.name}=${e.value}`),
    ['A=b', 'PORT=8080', 'K_REVISION=stock-service-example-v1', 'K_CONFIGURATION=stock-service-example', 'K_SERVICE=stock-service-example'],
  );
});

test("a pod's container statuses become the workload failure a Revision shows", () => {
  const pod = (containerStatuses: unknown[], phase = 'Running') => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p' },
    status: { phase, containerStatuses },
  });
  assert.deepEqual(
    podFailure(
      pod([
        {
          name: 'user-container',
          restartCount: 3,
          state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 40s restarting failed container' } },
          lastState: { terminated: { exitCode: 3, reason: 'Error' } },
        },
      ]),
    ),
    { reason: 'CrashLoopBackOff', message: 'back-off 40s restarting failed container (last exit code 3, Error)' },
  );
  assert.deepEqual(podFailure(pod([{ name: 'c', state: { waiting: { reason: 'ErrImagePull', message: 'no such image' } } }])), {
    reason: 'ErrImagePull',
    message: 'no such image',
  });
  assert.deepEqual(podFailure(pod([{ name: 'c', state: { terminated: { exitCode: 1 } } }])), {
    reason: 'ExitCode1',
    message: 'container c exited with code 1',
  });
  assert.equal(podFailure(pod([{ name: 'c', state: { waiting: { reason: 'ContainerCreating' } } }])), undefined, 'starting is not failing');
  assert.equal(podFailure(pod([{ name: 'c', state: { running: {} } }])), undefined);
});

test('scale-down takes not-ready pods first, then idle ones, then the newest', () => {
  const pods = [
    { id: 'old-busy', ready: true, createdAt: 1 },
    { id: 'new-busy', ready: true, createdAt: 3 },
    { id: 'idle', ready: true, createdAt: 2 },
    { id: 'starting', ready: false, createdAt: 4 },
  ];
  const inFlight = new Map([
    ['old-busy', 1],
    ['new-busy', 1],
  ]);
  assert.deepEqual(
    chooseVictims(pods, 1, inFlight).map((p) => p.id),
    ['starting'],
  );
  assert.deepEqual(
    chooseVictims(pods, 2, inFlight).map((p) => p.id),
    ['starting', 'idle'],
  );
  assert.deepEqual(
    chooseVictims(pods, 3, inFlight).map((p) => p.id),
    ['starting', 'idle', 'new-busy'],
  );
  assert.deepEqual(chooseVictims(pods, 0, inFlight), []);
});

test('scheduled capacity in force raises the HPA floor, within max-scale', () => {
  const anns = {
    'autoscaling.knative.dev/class': 'hpa.autoscaling.knative.dev',
    'autoscaling.knative.dev/max-scale': '4',
    'sluice.dev/scheduled-capacity': '[{"schedule": "0 9 * * *", "duration": "8h", "replicas": 3}]',
  };
  const scaling = resolveScalingSpec(anns, 0, config);
  const at = (iso: string) => makeHPA(pa, scaling, undefined, plannedCapacity(scaling.schedule, Date.parse(iso))).spec;
  assert.equal(at('2026-12-01T10:00:00Z').minReplicas, 3, 'inside 09:00–17:00');
  assert.equal(at('2026-12-01T20:00:00Z').minReplicas, 1, 'outside it');
  assert.equal(makeHPA(pa, scaling, undefined, 9).spec.minReplicas, 4, 'never above max-scale');
});

test('sidecars, volumes, env references and envFrom reach the Deployment unchanged', () => {
  const r = revision();
  const envRefs = [
    { name: 'G', valueFrom: { configMapKeyRef: { name: 'app', key: 'greeting', optional: true } } },
    { name: 'P', valueFrom: { secretKeyRef: { name: 'creds', key: 'password' } } },
  ];
  const envFrom = [{ configMapRef: { name: 'app' }, prefix: 'CM_' }, { secretRef: { name: 'creds' } }];
  const mounts = [{ name: 'config', mountPath: '/etc/config', readOnly: true }];
  r.spec.containers[0] = {
    ...r.spec.containers[0],
    name: 'app',
    ports: [{ containerPort: 8080 }],
    env: envRefs,
    envFrom,
    volumeMounts: mounts,
  };
  const sidecar = {
    name: 'side',
    image: 'example.com/side:v1',
    env: [{ name: 'A', value: 'b' }],
    volumeMounts: [{ name: 'scratch', mountPath: '/data' }],
  };
  r.spec.containers.push(sidecar);
  const volumes = [
    { name: 'config', configMap: { name: 'app', items: [{ key: 'greeting', path: 'g' }], defaultMode: 0o400 } },
    { name: 'secret', secret: { secretName: 'creds' } },
    { name: 'proj', projected: { sources: [{ configMap: { name: 'app' } }, { secret: { name: 'creds' } }] } },
    { name: 'scratch', emptyDir: {} },
  ];
  r.spec.volumes = volumes;
  const spec = makeDeployment(r).spec.template.spec;
  assert.deepEqual(spec.volumes, volumes);
  const [app, side] = spec.containers;
  assert.deepEqual(
    app.env.filter((e: any) => e.valueFrom),
    envRefs,
  );
  assert.deepEqual(app.envFrom, envFrom);
  assert.deepEqual(app.volumeMounts, mounts);
  assert.equal(side.name, 'side');
  assert.equal(side.image, 'example.com/side:v1');
  assert.deepEqual(side.volumeMounts, sidecar.volumeMounts);
  assert.equal(
    side.env.some((e: any) => e.name === 'PORT'),
    false,
    'a sidecar gets no PORT',
  );
  assert.deepEqual(
    side.env.find((e: any) => e.name === 'A'),
    { name: 'A', value: 'b' },
  );
});
