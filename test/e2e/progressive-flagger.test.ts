// Flagger's Knative provider against a real server, edit by edit as pkg/router/knative.go makes
// them: the flagger.app/primary-revision annotation and whole-object PUTs (kubectl replace) of
// spec.traffic; the split it asks for is what the gateway serves, status.traffic reads back as
// Flagger's GetRoutes expects, and the per-revision metrics a Flagger MetricTemplate queries exist.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { httpGet } from '../support/http.js';
import { waitFor } from '../support/poll.js';
import { applyDoc, exampleService, kubectl, startTestSluice } from '../support/sluice.js';
import type { RunningSluice } from '../../src/server.js';

const welcome = (rev: string) => `Welcome to the ${rev} app! \n`;

async function getService(s: RunningSluice, name: string): Promise<any> {
  const r = await kubectl(s.kubeconfigPath, ['get', 'ksvc', name, '-o', 'json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

/** Flagger's Update: the whole object as read, changed, PUT back. */
async function put(s: RunningSluice, obj: unknown): Promise<void> {
  const r = await kubectl(s.kubeconfigPath, ['replace', '-f', '-'], JSON.stringify(obj));
  assert.equal(r.code, 0, r.stderr);
}

/** SetRoutes(primaryWeight, canaryWeight) as Flagger writes it. */
async function setRoutes(s: RunningSluice, name: string, primary: number, canary: number): Promise<void> {
  const svc = await getService(s, name);
  svc.spec.traffic = [
    { latestRevision: true, percent: canary },
    { revisionName: svc.metadata.annotations['flagger.app/primary-revision'], percent: primary },
  ];
  await put(s, svc);
}

/** GetRoutes: primary and canary percents from status.traffic, as Flagger reads them. */
async function getRoutes(s: RunningSluice, name: string): Promise<[number, number] | undefined> {
  const svc = await getService(s, name);
  const primaryName = svc.metadata.annotations?.['flagger.app/primary-revision'];
  const traffic = (svc.status?.traffic ?? []) as { latestRevision?: boolean; revisionName?: string; percent?: number }[];
  const c = traffic.find((t) => t.latestRevision === true);
  const p = traffic.find((t) => t.revisionName === primaryName);
  if (!c || !p || c.percent === undefined || p.percent === undefined) return undefined;
  return [p.percent, c.percent];
}

test("Flagger's Knative edit sequence: annotation, whole-object PUTs of spec.traffic, GetRoutes and the served split agree", async (t) => {
  const s = await startTestSluice(t);
  const name = 'flagged';
  const host = `${name}.default.example.com`;
  await applyDoc(s, exampleService(name, { revision: 'v1' }));
  await waitFor('v1 answers', async () => (await httpGet(s.gatewayPort, '/', { host })).body === welcome('v1'));

  // Reconcile: pin the primary revision by annotation.
  const svc = await getService(s, name);
  svc.metadata.annotations = { ...svc.metadata.annotations, 'flagger.app/primary-revision': svc.status.latestCreatedRevisionName };
  await put(s, svc);
  await setRoutes(s, name, 100, 0);

  // The user ships v2: with Flagger's traffic it gets nothing until Flagger says so.
  const v2 = await getService(s, name);
  v2.spec.template = JSON.parse(exampleService(name, { revision: 'v2' })).spec.template;
  await put(s, v2);
  await waitFor('v2 ready at 0%', async () => {
    const x = await getService(s, name);
    return (
      x.status?.latestReadyRevisionName === `${name}-v2` &&
      x.status.traffic?.some((tt: any) => tt.latestRevision && tt.revisionName === `${name}-v2`)
    );
  });
  for (let i = 0; i < 10; i++) assert.equal((await httpGet(s.gatewayPort, '/', { host })).body, welcome('v1'));

  for (const canary of [10, 50]) {
    await setRoutes(s, name, 100 - canary, canary);
    await waitFor(`GetRoutes reads ${canary}%`, async () => {
      const r = await getRoutes(s, name);
      return r && r[0] === 100 - canary && r[1] === canary;
    });
    let onV2 = 0;
    for (let i = 0; i < 100; i++) if ((await httpGet(s.gatewayPort, '/', { host })).body === welcome('v2')) onV2++;
    t.diagnostic(`${canary}% asked, ${onV2}/100 requests on v2`);
    assert.equal(onV2, canary, 'the weighted cycle gives exactly the asked share over 100 requests');
  }

  // Promotion and Finalize: all on the canary, annotation removed.
  await setRoutes(s, name, 0, 100);
  const fin = await getService(s, name);
  delete fin.metadata.annotations['flagger.app/primary-revision'];
  await put(s, fin);
  await waitFor(
    'v2 serves all',
    async () => (await getService(s, name)).status?.traffic?.find((x: any) => x.latestRevision)?.percent === 100,
  );
  for (let i = 0; i < 10; i++) assert.equal((await httpGet(s.gatewayPort, '/', { host })).body, welcome('v2'));

  // The per-revision series a Flagger MetricTemplate queries (docs/progressive-delivery.md).
  const metrics = await httpGet(s.adminPort, '/metrics', { host: '127.0.0.1' });
  assert.equal(metrics.status, 200);
  assert.match(
    metrics.body,
    new RegExp(`revision_request_count\\{[^}]*revision_name="${name}-v2"[^}]*response_code_class="2xx"[^}]*\\} \\d+`),
  );
  assert.match(metrics.body, new RegExp(`revision_request_latencies_bucket\\{[^}]*revision_name="${name}-v2"[^}]*le="[0-9.]+"\\} \\d+`));
});
