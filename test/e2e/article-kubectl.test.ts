// The gray-release article's kubectl workflow, run unchanged with the stock kubectl against a
// real Sluice: four YAML files applied in order, the article's commands as written, bad input
// refused without changing anything, and everything still there after a restart.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { parse } from 'yaml';
import { projectRoot } from '../../src/server.js';
import { waitFor } from '../support/poll.js';
import { gatewayGet, kubectl, startTestSluice } from '../support/sluice.js';

const examples = join(projectRoot, 'examples', 'stock-service');
const SVC = 'stock-service-example';

const trafficOf = (svc: any) =>
  (svc.status?.traffic ?? []).map((t: any) => `${t.tag}:${t.revisionName}:${t.percent}:${t.latestRevision}:${t.url}`);

test('the article, step by step, with kubectl', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'sluice-article-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  let sluice = await startTestSluice(t, { dataDir });
  const kc = sluice.kubeconfigPath;
  const k = async (...args: string[]) => {
    const r = await kubectl(kc, args);
    assert.equal(r.code, 0, `kubectl ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  };
  const getSvc = async () => parse(await k('get', 'ksvc', SVC, '--output', 'yaml'));
  const settledSvc = async (generation: number) =>
    waitFor(`service generation ${generation} ready`, async () => {
      const svc = await getSvc();
      const ready = svc.status?.conditions?.find((c: any) => c.type === 'Ready')?.status === 'True';
      return ready && svc.status.observedGeneration === generation ? svc : undefined;
    });

  assert.match(await k('apply', '-f', join(examples, 'revision-v1.yaml')), /service.serving.knative.dev\/stock-service-example created/);
  let svc = await settledSvc(1);
  assert.equal(svc.status.url, 'http://stock-service-example.default.example.com');
  assert.deepEqual(trafficOf(svc), ['undefined:stock-service-example-v1:100:true:undefined']);

  await k('apply', '-f', join(examples, 'revision-v2.yaml'));
  await settledSvc(2);
  await k('apply', '-f', join(examples, 'revision-v3.yaml'));
  svc = await settledSvc(3);
  svc = await waitFor('latest → v3', async () => {
    const s = await getSvc();
    return trafficOf(s).some((x: string) => x.startsWith('latest:stock-service-example-v3')) ? s : undefined;
  });
  // As the article shows it.
  assert.deepEqual(trafficOf(svc), [
    'v1:stock-service-example-v1:50:false:http://v1-stock-service-example.default.example.com',
    'v2:stock-service-example-v2:50:false:http://v2-stock-service-example.default.example.com',
    'latest:stock-service-example-v3:0:true:http://latest-stock-service-example.default.example.com',
  ]);

  // `kubectl get revision`: three revisions with generations 1/2/3, all ready.
  const revTable = await k('get', 'revision');
  assert.match(revTable.split('\n')[0], /^NAME\s+CONFIG NAME\s+GENERATION\s+READY\s+REASON/);
  for (const [i, v] of ['v1', 'v2', 'v3'].entries()) {
    assert.match(revTable, new RegExp(`stock-service-example-${v}\\s+stock-service-example\\s+${i + 1}\\s+True`));
  }

  // The article's commands, as written.
  const cfgs = parse(await k('get', 'configuration', '-l', `serving.knative.dev/service=${SVC}`, '--output', 'yaml'));
  assert.equal(cfgs.items.length, 1);
  assert.equal(cfgs.items[0].status.latestCreatedRevisionName, 'stock-service-example-v3');
  const revs = parse(await k('get', 'revision', '-l', `serving.knative.dev/service=${SVC}`, '--output', 'yaml'));
  assert.deepEqual(
    revs.items.map((r: any) => r.metadata.labels['serving.knative.dev/configurationGeneration']),
    ['1', '2', '3'],
  );
  const routes = parse(await k('get', 'route', '-l', `serving.knative.dev/service=${SVC}`, '--output', 'yaml'));
  assert.equal(routes.items[0].metadata.ownerReferences[0].kind, 'Service');
  assert.equal(await k('get', 'route', SVC, '--output', 'jsonpath={.status.url}'), 'http://stock-service-example.default.example.com');
  assert.equal(
    await k('get', 'ksvc', SVC, '--output', "jsonpath={.status.traffic[?(@.tag=='latest')].url}"),
    'http://latest-stock-service-example.default.example.com',
  );
  const ksvcTable = await k('get', 'ksvc');
  assert.match(ksvcTable.split('\n')[0], /^NAME\s+URL\s+LATESTCREATED\s+LATESTREADY\s+READY\s+REASON/);

  // The article's curl through the gateway, with the Host from the route's URL.
  const v3 = await gatewayGet(sluice.gatewayPort, 'latest-stock-service-example.default.example.com');
  assert.equal(v3.body, 'Welcome to the v3 app! \n');

  await k('apply', '-f', join(examples, 'revision-v3-2.yaml'));
  svc = await settledSvc(4);
  svc = await waitFor('40/30/30', async () => {
    const s = await getSvc();
    return trafficOf(s)[2]?.startsWith('v3:stock-service-example-v3:30') ? s : undefined;
  });
  assert.deepEqual(
    svc.status.traffic.map((x: any) => [x.tag, x.revisionName, x.percent]),
    [
      ['v1', 'stock-service-example-v1', 40],
      ['v2', 'stock-service-example-v2', 30],
      ['v3', 'stock-service-example-v3', 30],
      ['latest', 'stock-service-example-v3', 0],
    ],
  );
  // Re-applying a template under its own name made no new revision.
  assert.equal(parse(await k('get', 'revision', '-o', 'yaml')).items.length, 3);

  // Bad input is refused with Knative's message and changes nothing.
  const before = await k('get', 'ksvc', SVC, '-o', 'jsonpath={.metadata.resourceVersion}');
  const bad = await kubectl(kc, [
    'patch',
    'ksvc',
    SVC,
    '--type=merge',
    '-p',
    '{"spec":{"traffic":[{"revisionName":"stock-service-example-v1","percent":90}]}}',
  ]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /Traffic targets sum to 90, want 100: spec.traffic/);
  const dup = await kubectl(kc, [
    'patch',
    'ksvc',
    SVC,
    '--type=merge',
    '-p',
    '{"spec":{"traffic":[{"tag":"a","revisionName":"stock-service-example-v1","percent":50},{"tag":"a","revisionName":"stock-service-example-v2","percent":50}]}}',
  ]);
  assert.match(dup.stderr, /Multiple definitions for "a": spec.traffic\[0\].tag, spec.traffic\[1\].tag/);
  const renamed = await kubectl(kc, [
    'patch',
    'ksvc',
    SVC,
    '--type=json',
    '-p',
    '[{"op":"replace","path":"/spec/template/spec/containers/0/env/0/value","value":"v4"}]',
  ]);
  assert.match(renamed.stderr, /Saw the following changes without a name change/);
  // Reusing an older revision's name for a different template is refused too.
  const reused = await kubectl(kc, [
    'patch',
    'ksvc',
    SVC,
    '--type=json',
    '-p',
    '[{"op":"replace","path":"/spec/template/metadata/name","value":"stock-service-example-v1"}]',
  ]);
  assert.notEqual(reused.code, 0);
  assert.match(reused.stderr, /Revision "stock-service-example-v1" already exists with a different template/);
  assert.match(reused.stderr, /-: "v1"\n\s*\+: "v3"/);
  assert.equal(await k('get', 'ksvc', SVC, '-o', 'jsonpath={.metadata.resourceVersion}'), before);

  // A target naming a revision that does not exist is accepted, and shown on status.
  await k('patch', 'ksvc', SVC, '--type=merge', '-p', '{"spec":{"traffic":[{"revisionName":"stock-service-example-v9","percent":100}]}}');
  const missing = await waitFor('RevisionMissing on the route', async () => {
    const rt = parse(await k('get', 'route', SVC, '-o', 'yaml'));
    return rt.status?.conditions?.find((c: any) => c.type === 'AllTrafficAssigned' && c.reason === 'RevisionMissing') ? rt : undefined;
  });
  assert.equal(missing.status.conditions.find((c: any) => c.type === 'AllTrafficAssigned').status, 'False');
  // Routing kept its last good split meanwhile.
  assert.match((await gatewayGet(sluice.gatewayPort, 'stock-service-example.default.example.com')).body, /Welcome to the v[123] app!/);

  // Restart: every object with its resourceVersion is still there.
  const snapshot = parse(await k('get', 'ksvc,configuration,revision,route', '-o', 'yaml'));
  await sluice.stop();
  sluice = await startTestSluice(t, { dataDir });
  const after = parse(
    await kubectl(sluice.kubeconfigPath, ['get', 'ksvc,configuration,revision,route', '-o', 'yaml']).then((r) => r.stdout),
  );
  const ids = (l: any) => l.items.map((o: any) => `${o.kind}/${o.metadata.name}@${o.metadata.uid}`);
  assert.deepEqual(ids(after), ids(snapshot));
  const v1 = after.items.find((o: any) => o.metadata.name === 'stock-service-example-v1');
  const v1Before = snapshot.items.find((o: any) => o.metadata.name === 'stock-service-example-v1');
  assert.equal(v1.spec.containers[0].env[0].value, 'v1');
  assert.ok(Number(v1.metadata.resourceVersion) >= Number(v1Before.metadata.resourceVersion));
  // The revisions come back and answer.
  await waitFor('v1 answers after restart', async () => {
    const r = await gatewayGet(sluice.gatewayPort, 'v1-stock-service-example.default.example.com');
    return r.body === 'Welcome to the v1 app! \n';
  });
});

test('deleting a service deletes what it owns', async (t) => {
  const sluice = await startTestSluice(t);
  const kc = sluice.kubeconfigPath;
  assert.equal((await kubectl(kc, ['apply', '-f', join(examples, 'revision-v1.yaml')])).code, 0);
  await waitFor('revision created', async () => (await kubectl(kc, ['get', 'revision', 'stock-service-example-v1'])).code === 0);
  const del = await kubectl(kc, ['delete', 'ksvc', SVC]);
  assert.equal(del.code, 0, del.stderr);
  await waitFor('children gone', async () => {
    const r = await kubectl(kc, ['get', 'configuration,revision,route', '-o', 'name']);
    return r.code === 0 && r.stdout.trim() === '';
  });
});
