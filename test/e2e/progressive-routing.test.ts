// Progressive delivery through a real server and its gateway: Knative's gradual rollout (status
// shows the intermediate percents), Knative-Serving-Tag header routing behind config-features,
// header and cookie rules, and sticky sessions that keep the split.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { httpGet } from '../support/http.js';
import { waitFor } from '../support/poll.js';
import { applyDoc, exampleService, kubectl, startTestSluice } from '../support/sluice.js';
import type { RunningSluice } from '../../src/server.js';

const welcome = (rev: string) => `Welcome to the ${rev} app! \n`;
const get = (s: RunningSluice, host: string, headers: Record<string, string> = {}) => httpGet(s.gatewayPort, '/', { host, headers });
const routeOf = (s: RunningSluice, name: string): Promise<any> => s.store.get('serving.knative.dev/routes', 'default', name);

/** v1 ready at 100%, then v2 applied with the given traffic; both revisions answer before returning. */
async function twoRevisions(s: RunningSluice, name: string, annotations: Record<string, string>, traffic: unknown[]): Promise<void> {
  const host = `${name}.default.example.com`;
  // Rules may only name tags the traffic has, and v1's traffic has none yet.
  const { 'sluice.dev/traffic-rules': _rules, ...first } = annotations;
  await applyDoc(s, withAnnotations(exampleService(name, { revision: 'v1' }), first));
  await waitFor(`${name} v1 answers`, async () => (await get(s, host)).body === welcome('v1'));
  await applyDoc(s, withAnnotations(exampleService(name, { revision: 'v2', traffic }), annotations));
  await waitFor(`${name} v2 ready`, async () => {
    const r = await routeOf(s, name);
    return r?.status?.traffic?.some((t: any) => t.revisionName === `${name}-v2`) && r.status.observedGeneration === r.metadata.generation;
  });
}

function withAnnotations(doc: string, annotations: Record<string, string>): string {
  const o = JSON.parse(doc);
  o.metadata.annotations = annotations;
  return JSON.stringify(o);
}

test('gradual rollout: the new revision starts at 1% and steps to 100%, visible in status.traffic', async (t) => {
  const s = await startTestSluice(t);
  const name = 'gradual';
  await applyDoc(s, withAnnotations(exampleService(name, { revision: 'v1' }), { 'serving.knative.dev/rollout-duration': '6s' }));
  await waitFor('v1 answers', async () => (await get(s, `${name}.default.example.com`)).body === welcome('v1'));
  await applyDoc(s, withAnnotations(exampleService(name, { revision: 'v2' }), { 'serving.knative.dev/rollout-duration': '6s' }));
  const seen = new Set<string>();
  let inProgress = false;
  await waitFor(
    'rollout reaches 100%',
    async () => {
      const r = await routeOf(s, name);
      const traffic = (r?.status?.traffic ?? []) as { revisionName: string; percent: number; latestRevision: boolean }[];
      seen.add(traffic.map((x) => `${x.revisionName}=${x.percent}`).join(' '));
      if (r?.status?.conditions?.some((c: any) => c.type === 'IngressReady' && c.reason === 'RolloutInProgress')) inProgress = true;
      return traffic.length === 1 && traffic[0].revisionName === `${name}-v2` && traffic[0].percent === 100;
    },
    30_000,
    50,
  );
  t.diagnostic(`status.traffic seen: ${[...seen].join(' | ')}`);
  assert.ok(seen.has(`${name}-v1=99 ${name}-v2=1`), 'the new revision started at 1%');
  const intermediate = [...seen].filter((x) => /-v1=\d+ .*-v2=\d+/.test(x));
  assert.ok(intermediate.length >= 2, `steps between 1% and 100% were visible: ${[...seen].join(' | ')}`);
  assert.ok(inProgress, 'IngressReady said RolloutInProgress meanwhile');
  const done = await routeOf(s, name);
  assert.equal(done.status.conditions.find((c: any) => c.type === 'Ready').status, 'True');
  assert.match(done.status.annotations['networking.internal.knative.dev/rollout'], /"revisionName":"gradual-v2","percent":100/);
  assert.equal((await get(s, `${name}.default.example.com`)).body, welcome('v2'));
});

test('Knative-Serving-Tag picks the tagged revision once config-features enables it; header and cookie rules route to a tag', async (t) => {
  const s = await startTestSluice(t);
  const name = 'tagged';
  const host = `${name}.default.example.com`;
  const rules = '- tag: two\n  headers:\n    x-group: beta\n- tag: two\n  cookies:\n    canary: {prefix: "yes"}\n';
  await twoRevisions(s, name, { 'sluice.dev/traffic-rules': rules }, [
    { tag: 'one', revisionName: `${name}-v1`, percent: 100 },
    { tag: 'two', latestRevision: true, percent: 0 },
  ]);
  assert.equal((await get(s, host)).body, welcome('v1'));
  assert.equal((await get(s, host, { 'x-group': 'beta' })).body, welcome('v2'));
  assert.equal((await get(s, host, { 'x-group': 'alpha' })).body, welcome('v1'));
  assert.equal((await get(s, host, { cookie: 'a=b; canary=yes-please' })).body, welcome('v2'));
  // Disabled by default, as in Knative.
  assert.equal((await get(s, host, { 'knative-serving-tag': 'two' })).body, welcome('v1'));

  await applyDoc(
    s,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'config-features', namespace: 'knative-serving' },
      data: { 'tag-header-based-routing': 'Enabled' },
    }),
  );
  await waitFor('tag header honoured', async () => (await get(s, host, { 'Knative-Serving-Tag': 'two' })).body === welcome('v2'));
  assert.equal((await get(s, host, { 'Knative-Serving-Tag': 'one' })).body, welcome('v1'));
  assert.equal((await get(s, host, { 'Knative-Serving-Tag': 'nope' })).body, welcome('v1'), 'an unknown tag falls through to the split');

  // Admission refuses a rule to a tag the traffic does not have, saying which tags exist.
  const bad = await kubectl(
    s.kubeconfigPath,
    ['apply', '-f', '-'],
    withAnnotations(exampleService(name, { revision: 'v2', traffic: [{ tag: 'one', revisionName: `${name}-v1`, percent: 100 }] }), {
      'sluice.dev/traffic-rules': '- tag: three\n  headers: {x: y}\n',
    }),
  );
  assert.notEqual(bad.code, 0);
  assert.match(
    bad.stderr,
    /tag "three" is not a tag in spec.traffic \(tags: one\): metadata.annotations.sluice.dev\/traffic-rules\[0\].tag/,
  );
});

test('sticky sessions: a client keeps its revision, clients split by weight, and raising the weight moves only new ones', async (t) => {
  const s = await startTestSluice(t);
  const name = 'sticky';
  const host = `${name}.default.example.com`;
  const sticky = { 'sluice.dev/sticky': 'set-cookie' };
  await twoRevisions(s, name, sticky, [
    { revisionName: `${name}-v1`, percent: 70 },
    { revisionName: `${name}-v2`, percent: 30 },
  ]);
  // Fresh clients: each gets a cookie; with it, every later request lands on the same revision.
  const clients: { cookie: string; rev: string }[] = [];
  for (let i = 0; i < 200; i++) {
    const r = await get(s, host);
    const set = r.headers['set-cookie']?.[0] ?? '';
    const m = /^(sluice-sticky=[0-9a-f]{8});/.exec(set);
    assert.ok(m, `a new client gets a sticky cookie, got ${set}`);
    clients.push({ cookie: m[1], rev: r.body });
  }
  for (const c of clients.slice(0, 20)) {
    for (let i = 0; i < 3; i++) {
      const r = await get(s, host, { cookie: c.cookie });
      assert.equal(r.body, c.rev);
      assert.equal(r.headers['set-cookie'], undefined);
    }
  }
  const onV2 = clients.filter((c) => c.rev === welcome('v2')).length;
  t.diagnostic(`clients on v2 at 30%: ${onV2}/200`);
  assert.ok(onV2 > 30 && onV2 < 90, `about 30% of clients on v2: ${onV2}/200`);

  await applyDoc(
    s,
    withAnnotations(
      exampleService(name, {
        revision: 'v2',
        traffic: [
          { revisionName: `${name}-v1`, percent: 40 },
          { revisionName: `${name}-v2`, percent: 60 },
        ],
      }),
      sticky,
    ),
  );
  await waitFor('60% applied', async () => (await routeOf(s, name))?.status?.traffic?.some((x: any) => x.percent === 60));
  const after = await Promise.all(clients.map(async (c) => ({ ...c, now: (await get(s, host, { cookie: c.cookie })).body })));
  const movedBack = after.filter((c) => c.rev === welcome('v2') && c.now !== welcome('v2')).length;
  const movedUp = after.filter((c) => c.rev === welcome('v1') && c.now === welcome('v2')).length;
  t.diagnostic(`30% -> 60%: ${movedUp}/200 clients moved to v2, ${movedBack} moved away from it`);
  assert.equal(movedBack, 0, 'nobody on v2 was moved back to v1');
  assert.ok(movedUp > 30 && movedUp < 90, `about 30% of all clients moved: ${movedUp}/200`);
});
