// Status as Knative shows it, through the stock kubectl: a revision that cannot start fails its
// Configuration, Route and Service with Knative's reasons (the error-condition conformance
// scenarios); Service annotations reach the Configuration and Route; revisions carry
// routingState; config-gc collects revisions no route sends traffic to.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { waitFor } from '../support/poll.js';
import { exampleService, kubectl, startTestSluice } from '../support/sluice.js';

const cond = (o: any, type: string) => o?.status?.conditions?.find((c: any) => c.type === type);

test('a revision that cannot start fails the Configuration, the Route and the Service (ContainerMissing, ExitCode)', async (t) => {
  const s = await startTestSluice(t);
  const kc = s.kubeconfigPath;
  const get = async (kind: string, name: string) => parse((await kubectl(kc, ['get', kind, name, '-o', 'yaml'])).stdout);
  const failed = (name: string) =>
    waitFor(`${name} failed`, async () => {
      const svc = await get('ksvc', name);
      const ok =
        svc.status?.observedGeneration === svc.metadata.generation &&
        cond(svc, 'Ready')?.status === 'False' &&
        cond(svc, 'ConfigurationsReady')?.status === 'False' &&
        cond(svc, 'RoutesReady')?.status === 'False';
      return ok ? svc : undefined;
    });

  // An image Sluice cannot run (Knative's InvalidHelloWorld case).
  const noImage = JSON.parse(exampleService('badimage', { revision: null }));
  noImage.spec.template.spec.containers[0].image = 'example.invalid/no/such-image:v1';
  assert.equal((await kubectl(kc, ['apply', '-f', '-'], JSON.stringify(noImage))).code, 0);
  const svc = await failed('badimage');
  const rev = await get('revision', svc.status.latestCreatedRevisionName);
  assert.equal(cond(rev, 'Ready').status, 'False');
  assert.equal(cond(rev, 'ContainerHealthy').reason, 'ContainerMissing');
  assert.match(cond(rev, 'Ready').message, /example\.invalid\/no\/such-image:v1/);
  const cfg = await get('configuration', 'badimage');
  assert.equal(cond(cfg, 'Ready').reason, 'RevisionFailed');
  assert.match(cond(cfg, 'Ready').message, /^Revision "badimage-00001" failed with message: /);
  const route = await get('route', 'badimage');
  assert.equal(cond(route, 'Ready').status, 'False');
  assert.equal(cond(route, 'AllTrafficAssigned').reason, 'RevisionMissing');
  assert.equal(cond(route, 'AllTrafficAssigned').message, 'Configuration "badimage" does not have any ready Revision.');
  assert.equal(cond(svc, 'RoutesReady').reason, 'RevisionMissing');

  // A container that keeps exiting (Knative's Failing image case): the exit code is the reason.
  await kubectl(kc, ['apply', '-f', '-'], exampleService('crasher', { revision: null, env: { EXIT_AT_START: '3' } }));
  const crashed = await failed('crasher');
  const crev = await get('revision', crashed.status.latestCreatedRevisionName);
  assert.equal(cond(crev, 'ContainerHealthy').reason, 'ExitCode3');
  assert.match(cond(crev, 'ContainerHealthy').message, /exited with code 3/);
  assert.ok(cond(crashed, 'ConfigurationsReady').message.includes('crasher-00001'));
});

test('annotations propagate, revisions carry routingState, config-gc collects what no route needs', async (t) => {
  const s = await startTestSluice(t, {
    servingConfig: {
      'config-gc': {
        'min-non-active-revisions': '0',
        'retain-since-create-time': 'disabled',
        'retain-since-last-active-time': 'disabled',
        'max-non-active-revisions': '1',
      },
    },
  });
  const kc = s.kubeconfigPath;
  const get = async (kind: string, name: string) => parse((await kubectl(kc, ['get', kind, name, '-o', 'yaml'])).stdout);
  const apply = async (rev: string, extra: Record<string, unknown> = {}) => {
    const doc = JSON.parse(exampleService('gc', { revision: rev }));
    doc.metadata.annotations = { 'example.com/team': 'payments', ...extra };
    const r = await kubectl(kc, ['apply', '-f', '-'], JSON.stringify(doc));
    assert.equal(r.code, 0, r.stderr);
  };
  const ready = (rev: string) =>
    waitFor(`${rev} serving`, async () => {
      const svc = await get('ksvc', 'gc');
      return cond(svc, 'Ready')?.status === 'True' && svc.status.latestReadyRevisionName === rev ? svc : undefined;
    });
  const state = async (rev: string) => (await get('revision', rev))?.metadata?.labels?.['serving.knative.dev/routingState'];

  await apply('v1');
  await ready('gc-v1');
  for (const kind of ['configuration', 'route']) {
    const o = await get(kind, 'gc');
    assert.equal(o.metadata.annotations['example.com/team'], 'payments', kind);
    assert.equal(o.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration'], undefined, kind);
  }
  await waitFor('v1 active', async () => (await state('gc-v1')) === 'active');
  const v1 = await get('revision', 'gc-v1');
  assert.equal(v1.metadata.annotations['serving.knative.dev/routes'], 'gc');
  assert.match(v1.metadata.annotations['serving.knative.dev/routingStateModified'], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

  await apply('v2');
  await ready('gc-v2');
  await waitFor('v1 in reserve', async () => (await state('gc-v1')) === 'reserve');
  // max-non-active-revisions 1: one reserve revision may stay.
  assert.equal((await kubectl(kc, ['get', 'revision', 'gc-v1'])).code, 0);

  await apply('v3', { 'serving.knative.dev/no-gc': 'true' });
  await ready('gc-v3');
  // v1 and v2 are both in reserve now, one over the maximum: the oldest goes.
  await waitFor('v1 collected', async () => (await kubectl(kc, ['get', 'revision', 'gc-v1'])).code !== 0);
  assert.equal(await state('gc-v2'), 'reserve');
  assert.equal(await state('gc-v3'), 'active');
  // Propagated annotations follow the Service, and leave when it drops them.
  const doc = JSON.parse(exampleService('gc', { revision: 'v3' }));
  assert.equal((await kubectl(kc, ['apply', '-f', '-'], JSON.stringify(doc))).code, 0);
  await waitFor(
    'annotation removed from the route',
    async () => (await get('route', 'gc')).metadata.annotations?.['example.com/team'] === undefined,
  );
});
