// Sluice on a real Kubernetes control plane (the harness: etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler, and a process node agent): the CRDs install, the
// article's four YAMLs applied with kubectl give the revisions, generations and status.traffic
// that embedded mode gives, invalid input is refused through the webhook with Knative's messages,
// every revision runs as a Deployment whose pods the real EndpointSlice controller lists, traffic
// through Sluice's gateway splits 50/50 and 40/30/30 across those pods, the latest tag reaches v3,
// rollback is a traffic change, an idle revision scales to zero and comes back on a request, and a
// second controller takes over when the leader is killed without duplicating anything.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { projectRoot } from '../../src/server.js';
import { waitFor } from '../support/poll.js';
import { kubectl as embeddedKubectl, startTestSluice } from '../support/sluice.js';
import { kubernetesAvailability } from './harness/assets.js';
import { startKubernetes, type KubernetesHarness } from './harness/index.js';
import { stopProcess } from './harness/processes.js';
import {
  gatewayClient,
  installSluice,
  kubectlOk,
  leaseHolder,
  shares,
  startController,
  waitForLeader,
  type ControllerProcess,
} from './sluice-cluster.js';

const availability = kubernetesAvailability();
const skip = availability.mode === 'skip' ? availability.reason : false;

const examples = join(projectRoot, 'examples', 'stock-service');
const SVC = 'stock-service-example';
const HOST = `${SVC}.default.example.com`;
const STEPS = ['revision-v1.yaml', 'revision-v2.yaml', 'revision-v3.yaml', 'revision-v3-2.yaml'];

const trafficOf = (svc: any) =>
  (svc.status?.traffic ?? []).map((t: any) => `${t.tag}:${t.revisionName}:${t.percent}:${t.latestRevision}:${t.url}`);
const ready = (o: any) => o?.status?.conditions?.find((c: any) => c.type === 'Ready')?.status === 'True';

/** What the article's steps give on one Sluice: status.traffic of the ksvc after each step, and the revisions. */
async function article(kubectl: (args: string[]) => Promise<string>) {
  const get = async () => parse(await kubectl(['get', 'ksvc', SVC, '-o', 'yaml']));
  const traffic: string[][] = [];
  for (const [i, file] of STEPS.entries()) {
    await kubectl(['apply', '-f', join(examples, file)]);
    const svc = await waitFor(
      `${file} reconciled`,
      async () => {
        const s = await get();
        const t = trafficOf(s);
        // v3 becomes the latest target once it is ready, so wait for that too.
        return ready(s) && s.status.observedGeneration === i + 1 && (i < 2 || t.some((x: string) => x.includes('-v3'))) ? s : undefined;
      },
      180_000,
      250,
    );
    traffic.push(trafficOf(svc));
  }
  const revs = parse(await kubectl(['get', 'revision', '-l', `serving.knative.dev/service=${SVC}`, '-o', 'yaml'])).items.map(
    (r: any) => `${r.metadata.name} gen=${r.metadata.labels['serving.knative.dev/configurationGeneration']} ready=${ready(r)}`,
  );
  return { traffic, revisions: revs.sort() };
}

describe('Sluice on a real Kubernetes control plane', { skip }, () => {
  let k: KubernetesHarness;
  let a: ControllerProcess;
  let get: (host: string, path?: string) => Promise<{ status: number; body: string }>;
  const k8s = (args: string[], input?: string) => kubectlOk(k, args, input);
  /** The object once kubectl shows it Ready=True. */
  const readyObject = (kind: string, name: string, timeoutMs: number) =>
    waitFor(
      `${kind} ${name} ready`,
      async () => {
        const o = parse(await k8s(['get', kind, name, '-o', 'yaml']));
        return ready(o) ? o : undefined;
      },
      timeoutMs,
      500,
    );

  before(async () => {
    k = await startKubernetes();
    await installSluice(k);
    a = startController(k, {
      identity: 'a',
      gatewayPort: 8080,
      webhookPort: 8443,
      autoscaler: { 'stable-window': '6s', 'scale-to-zero-grace-period': '1s' },
    });
    await waitForLeader(k, 'a');
    await waitFor(
      'the webhook configurations',
      async () => (await k.kubectl(['get', 'validatingwebhookconfiguration', 'validation.webhook.serving.knative.dev'])).code === 0,
      30_000,
    );
    get = await gatewayClient(k, 8080);
  });
  after(async () => {
    if (k && a) {
      await stopProcess(a.process, 5000);
      if (process.exitCode) process.stderr.write(`--- sluice a\n${k.logTail('sluice-a', 40)}\n`);
    }
    await k?.stop();
  });

  test('the CRDs install with their versions and short names; kubectl explain reads their schema', async () => {
    assert.equal(
      await k8s(['get', 'crd', 'services.serving.knative.dev', '-o', 'jsonpath={.spec.versions[*].name}']),
      'v1 v1beta1 v1alpha1',
    );
    // kubectl's discovery may predate the CRDs for a moment.
    const explained = await waitFor(
      'kubectl explain ksvc',
      async () => {
        const r = await k.kubectl(['explain', 'ksvc.spec.template.spec.containers']);
        return r.code === 0 ? r.stdout : undefined;
      },
      30_000,
      500,
    );
    assert.match(explained, /FIELDS:[\s\S]*image/);
  });

  test("invalid input is refused through the webhook with Knative's message", async () => {
    const bad = `apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: bad, namespace: default}
spec:
  template: {spec: {containers: [{image: x}]}}
  traffic: [{latestRevision: true, percent: 90}]
`;
    const r = await k.kubectl(['apply', '-f', '-'], { input: bad });
    assert.notEqual(r.code, 0);
    assert.match(
      r.stderr,
      /admission webhook "validation\.webhook\.serving\.knative\.dev" denied the request: validation failed: Traffic targets sum to 90, want 100: spec\.traffic/,
    );
  });

  test('the article gives the same revisions, generations and traffic as embedded mode, on real pods', async (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sluice-embedded-'));
    t.after(() => rmSync(dataDir, { recursive: true, force: true }));
    const embedded = await startTestSluice(t, { dataDir });
    const viaEmbedded = async (args: string[]) => {
      const r = await embeddedKubectl(embedded.kubeconfigPath, args);
      assert.equal(r.code, 0, r.stderr);
      return r.stdout;
    };
    const want = await article(viaEmbedded);
    const got = await article((args) => k8s(args));
    assert.deepEqual(got, want);
    // Knative's printer columns, from the CRD.
    assert.match(await k8s(['get', 'ksvc']), /^NAME\s+URL\s+LATESTCREATED\s+LATESTREADY\s+READY\s+REASON\s+AGE\n/);

    // Each revision: a Deployment owned by it, pods with pod IPs, a private Service whose
    // EndpointSlice (made by the real EndpointSlice controller) lists them.
    const revisions = parse(await k8s(['get', 'revision', '-o', 'yaml'])).items;
    for (const rev of revisions) {
      const name = rev.metadata.name;
      const dep = parse(await k8s(['get', 'deployment', `${name}-deployment`, '-o', 'yaml']));
      assert.equal(dep.metadata.ownerReferences[0].uid, rev.metadata.uid);
      assert.equal(dep.spec.selector.matchLabels['serving.knative.dev/revisionUID'], rev.metadata.uid);
      await k8s(['get', 'service', `${name}-private`]);
    }
    // Traffic through the gateway, to the pods: 40/30/30 after the fourth step.
    const split = await shares(get, HOST, 100);
    assert.deepEqual(split, { 'Welcome to the v1 app!': 40, 'Welcome to the v2 app!': 30, 'Welcome to the v3 app!': 30 });
    const latest = await get(`latest-${HOST}`);
    assert.equal(latest.status, 200);
    assert.equal(latest.body.trim(), 'Welcome to the v3 app!');

    // The requests woke every revision (idle ones scale to zero within seconds here): each has pods
    // whose IPs the real EndpointSlice controller lists as ready in its private Service's slices.
    for (const v of ['v1', 'v2', 'v3']) {
      const ips = await waitFor(
        `EndpointSlices with ready pod IPs for ${v}`,
        async () => {
          const l = parse(await k8s(['get', 'endpointslices', '-l', `serving.knative.dev/revision=${SVC}-${v}`, '-o', 'yaml'])).items;
          const addrs = l.flatMap((sl: any) =>
            (sl.endpoints ?? []).filter((e: any) => e.conditions?.ready).flatMap((e: any) => e.addresses),
          );
          return addrs.length > 0 ? addrs : undefined;
        },
        30_000,
      );
      assert.ok(
        ips.every((ip: string) => ip.startsWith('10.244.')),
        ips.join(','),
      );
    }

    // Rollback by traffic.
    await k8s([
      'patch',
      'ksvc',
      SVC,
      '--type=merge',
      '-p',
      JSON.stringify({
        spec: {
          traffic: [
            { revisionName: `${SVC}-v1`, percent: 100 },
            { tag: 'v2', revisionName: `${SVC}-v2`, percent: 0 },
          ],
        },
      }),
    ]);
    await waitFor(
      'rollback to v1',
      async () => {
        const s = await shares(get, HOST, 10);
        return s['Welcome to the v1 app!'] === 10;
      },
      60_000,
    );
  });

  test('an idle revision scales to zero and comes back on the first request', async () => {
    const replicas = async () => Number(await k8s(['get', 'deployment', `${SVC}-v2-deployment`, '-o', 'jsonpath={.spec.replicas}']));
    await waitFor('v2 at zero replicas', async () => (await replicas()) === 0, 120_000, 500);
    await waitFor(
      'v2 pods gone',
      async () => (await k8s(['get', 'pods', '-l', `serving.knative.dev/revision=${SVC}-v2`, '-o', 'name'])).trim() === '',
      60_000,
      500,
    );
    const r = await get(`v2-${HOST}`);
    assert.equal(r.status, 200, r.body);
    assert.equal(r.body.trim(), 'Welcome to the v2 app!');
    assert.ok((await replicas()) >= 1);
  });

  test('a burst of requests scales a revision out to more pods', async () => {
    await k8s(
      ['apply', '-f', '-'],
      `apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: burst, namespace: default}
spec:
  template:
    metadata:
      annotations: {autoscaling.knative.dev/target: "1"}
    spec:
      containerConcurrency: 1
      containers: [{image: registry.cn-hangzhou.aliyuncs.com/knative-sample/rest-api-go:v1, env: [{name: RESOURCE, value: burst}]}]
`,
    );
    await waitFor('burst ready', async () => ready(parse(await k8s(['get', 'ksvc', 'burst', '-o', 'yaml']))), 120_000, 500);
    const answers = await Promise.all(Array.from({ length: 6 }, () => get('burst.default.example.com', '/?sleep=4000')));
    assert.deepEqual(
      answers.map((r) => r.status),
      [200, 200, 200, 200, 200, 200],
    );
    const pods = parse(await k8s(['get', 'deployment', 'burst-00001-deployment', '-o', 'yaml']));
    assert.ok(pods.spec.replicas >= 2, `replicas ${pods.spec.replicas}`);
    await k8s(['delete', 'ksvc', 'burst']);
  });

  test("cluster-local visibility, Knative's admission warnings and a DomainMapping, through the real API server", async () => {
    const applied = await k.kubectl(['apply', '-f', '-'], {
      input: `apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: private, namespace: default, labels: {networking.knative.dev/visibility: cluster-local}}
spec:
  template:
    spec:
      containers: [{image: registry.cn-hangzhou.aliyuncs.com/knative-sample/rest-api-go:v1, env: [{name: RESOURCE, value: private}]}]
`,
    });
    assert.equal(applied.code, 0, applied.stderr);
    // The webhook's warnings, relayed by kube-apiserver as Warning headers.
    assert.match(
      applied.stderr,
      /^Warning: Kubernetes default value is insecure, Knative may default this to secure in a future release: /m,
    );
    const svc = await readyObject('ksvc', 'private', 120_000);
    assert.equal(svc.status.url, 'http://private.default.svc.cluster.local');
    assert.equal(svc.status.address.url, 'http://private.default.svc.cluster.local');
    // The placeholder Service points at the internal listener, which alone answers the cluster-local host.
    assert.equal(
      await k8s(['get', 'service', 'private', '-o', 'jsonpath={.spec.externalName}']),
      'sluice-local-gateway.sluice-system.svc.cluster.local',
    );
    const internal = await gatewayClient(k, 8180);
    assert.equal((await get('private.default.svc.cluster.local')).status, 404);
    await waitFor(
      'internal listener serves it',
      async () => (await internal('private.default.svc.cluster.local')).body.trim() === 'Welcome to the private app!',
      30_000,
      250,
    );

    // A custom domain for it, delegated by a ClusterDomainClaim.
    await k8s(
      ['apply', '-f', '-'],
      `apiVersion: networking.internal.knative.dev/v1alpha1
kind: ClusterDomainClaim
metadata: {name: private.example.org}
spec: {namespace: default}
---
apiVersion: serving.knative.dev/v1beta1
kind: DomainMapping
metadata: {name: private.example.org, namespace: default}
spec: {ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: private}}
`,
    );
    const dm = await readyObject('dm', 'private.example.org', 60_000);
    assert.equal(dm.status.url, 'http://private.example.org');
    assert.equal((await get('private.example.org')).body.trim(), 'Welcome to the private app!');
    const refused = await k.kubectl(['apply', '-f', '-'], {
      input:
        'apiVersion: serving.knative.dev/v1beta1\nkind: DomainMapping\nmetadata: {name: nodots, namespace: default}\nspec: {ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: private}}\n',
    });
    assert.match(
      refused.stderr,
      /denied the request: validation failed: invalid name "nodots": name: Invalid value: "nodots": should be a domain with at least two segments separated by dots: metadata\.name/,
    );
    await k8s(['delete', 'dm', 'private.example.org']);
    await k8s(['delete', 'ksvc', 'private']);
  });

  test('killing the leader: the other controller takes over within the lease, and nothing is duplicated', async () => {
    const b = startController(k, { identity: 'b', gatewayPort: 8081, webhookPort: 8444 });
    try {
      await waitFor(
        'b to be up and see a as leader',
        async () => (await leaseHolder(k)) === 'a' && k.logTail('sluice-b', 50).includes('leader is a'),
        30_000,
      );
      const killedAt = Date.now();
      process.kill(a.process.pid, 'SIGKILL');
      await a.process.exited;
      await waitForLeader(k, 'b', 30_000);
      const tookMs = Date.now() - killedAt;
      // Lease duration 6 s plus at most a retry period and one reading of the Lease.
      assert.ok(tookMs < 6_000 + 2_000 + 2_000, `takeover took ${tookMs} ms`);

      // The new leader points the webhooks at itself, reconciles: a new revision becomes ready and
      // serves through its gateway.
      await waitFor(
        'the webhooks to name b',
        async () =>
          (
            await k8s([
              'get',
              'validatingwebhookconfiguration',
              'validation.webhook.serving.knative.dev',
              '-o',
              'jsonpath={.webhooks[0].clientConfig.url}',
            ])
          ).includes(':8444/'),
        30_000,
      );
      await k8s([
        'patch',
        'ksvc',
        SVC,
        '--type=merge',
        '-p',
        JSON.stringify({
          spec: {
            template: {
              metadata: { name: `${SVC}-v4` },
              spec: {
                containers: [
                  { image: 'registry.cn-hangzhou.aliyuncs.com/knative-sample/rest-api-go:v1', env: [{ name: 'RESOURCE', value: 'v4' }] },
                ],
              },
            },
            traffic: [{ latestRevision: true, percent: 100 }],
          },
        }),
      ]);
      const getB = await gatewayClient(k, 8081);
      await waitFor('v4 through the new leader', async () => (await getB(HOST)).body.trim() === 'Welcome to the v4 app!', 120_000, 500);

      const names = async (kind: string) =>
        parse(await k8s(['get', kind, '-o', 'yaml']))
          .items.map((o: any) => o.metadata.name)
          .sort();
      assert.deepEqual(await names('revision'), [`${SVC}-v1`, `${SVC}-v2`, `${SVC}-v3`, `${SVC}-v4`]);
      assert.deepEqual(await names('deployment'), [
        `${SVC}-v1-deployment`,
        `${SVC}-v2-deployment`,
        `${SVC}-v3-deployment`,
        `${SVC}-v4-deployment`,
      ]);
      assert.deepEqual(await names('podautoscaler'), [`${SVC}-v1`, `${SVC}-v2`, `${SVC}-v3`, `${SVC}-v4`]);
      assert.deepEqual(await names('configuration'), [SVC]);
      assert.deepEqual(await names('route'), [SVC]);
    } finally {
      await stopProcess(b.process, 5000);
    }
  });
});
