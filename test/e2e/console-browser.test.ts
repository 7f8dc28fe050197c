// The web console in a real browser (Debian's Chromium): the article's three revisions at
// 40/30/30, a traffic change made with kubectl shows up live, charts move under load, and changes
// from the page need the API token.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../src/server.js';
import { waitFor } from '../support/poll.js';
import { startBrowser } from '../support/browser.js';
import { gatewayGet, kubectl, startTestSluice } from '../support/sluice.js';

const SVC = 'stock-service-example';
const HOST = `${SVC}.default.example.com`;
const examples = join(projectRoot, 'examples', 'stock-service');

test('console: 40/30/30 on load, live traffic changes, charts under load, token-gated changes', async (t) => {
  const s = await startTestSluice(t);
  const k = async (...args: string[]) => {
    const r = await kubectl(s.kubeconfigPath, args);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  };
  for (const f of ['revision-v1.yaml', 'revision-v2.yaml', 'revision-v3.yaml', 'revision-v3-2.yaml']) {
    await k('apply', '-f', join(examples, f));
    await waitFor(
      `${f} ready`,
      async () => {
        const svc = JSON.parse(await k('get', 'ksvc', SVC, '-o', 'json'));
        const ready = svc.status?.conditions?.find((c: { type: string }) => c.type === 'Ready')?.status === 'True';
        return ready && svc.status.observedGeneration === svc.metadata.generation;
      },
      30_000,
    );
  }

  const b = await startBrowser(t);
  const { page } = b;
  await page.goto(`${s.adminUrl}/console/`);
  const split = async () =>
    page
      .locator(`[data-testid="traffic-${SVC}"] .seg`)
      .evaluateAll((segs) => segs.map((e) => `${e.getAttribute('data-revision')}=${e.getAttribute('data-percent')}`));
  await waitFor('the page shows 40/30/30', async () => (await split()).join(',') === `${SVC}-v1=40,${SVC}-v2=30,${SVC}-v3=30`);
  assert.equal(await page.locator('#conn').getAttribute('data-state'), 'live');
  assert.equal(await page.locator('#revisions tbody tr').count(), 3);
  // Read-only by default: no change controls without the token.
  assert.equal(await page.locator(`[data-testid="edit-${SVC}"]`).count(), 0);
  await b.screenshot('1-loaded');

  // Charts move under load: requests through the gateway show as request rate and latency.
  const marker = await page.evaluate(() => ((window as unknown as { loadMark: number }).loadMark = Math.random()));
  let load = true;
  const sent = (async () => {
    let n = 0;
    while (load) {
      await Promise.all([gatewayGet(s.gatewayPort, HOST, '/?sleep=20'), gatewayGet(s.gatewayPort, HOST, '/?sleep=20')]);
      n += 2;
    }
    return n;
  })();
  try {
    await waitFor(
      'the request-rate chart shows the load',
      async () => Number(await page.locator('[data-testid="chart-rps"]').getAttribute('data-max')) >= 1,
      20_000,
    );
    await waitFor(
      'the latency chart shows >= 20 ms',
      async () => Number(await page.locator('[data-testid="chart-latency"]').getAttribute('data-max')) >= 20,
      20_000,
    );
    const points = Number(await page.locator('[data-testid="chart-rps"]').getAttribute('data-points'));
    await waitFor(
      'the charts keep moving',
      async () => Number(await page.locator('[data-testid="chart-rps"]').getAttribute('data-points')) > points,
    );
    assert.ok(Number(await page.locator('[data-testid="chart-instances"]').getAttribute('data-max')) >= 1, 'instances are drawn');
    const rps = await page.locator(`#revisions tr[data-revision="${SVC}-v1"] td[data-col="rps"]`).textContent();
    assert.ok(Number(rps) > 0, `v1 shows a request rate (${rps})`);
    await b.screenshot('2-under-load');
  } finally {
    load = false;
    assert.ok((await sent) > 0);
  }

  // A change made elsewhere (kubectl) appears without a reload.
  await k('apply', '-f', join(examples, 'revision-v3.yaml'));
  await waitFor('the page shows the new split', async () => (await split()).join(',') === `${SVC}-v1=50,${SVC}-v2=50`, 20_000);
  assert.equal(await page.evaluate(() => (window as unknown as { loadMark: number }).loadMark), marker, 'no reload');
  await waitFor('a traffic event is listed', async () => (await page.locator('#events li[data-type="traffic"]').count()) > 0);
  await b.screenshot('3-after-kubectl');

  // A wrong token changes nothing; the right one offers changes, and they go through the API.
  await page.fill('#token', 'wrong');
  await page.click('#auth button');
  await waitFor('wrong token refused', async () => (await page.locator('#auth-state').textContent()) === 'token refused: read-only');
  await page.fill('#token', readToken(s.kubeconfigPath));
  await page.click('#auth button');
  await waitFor('changes offered', async () => (await page.locator(`[data-testid="edit-${SVC}"]`).count()) === 1);
  await page.locator(`#revisions tr[data-revision="${SVC}-v1"] button`).click();
  await waitFor('all traffic to v1', async () => (await split()).join(',') === `${SVC}-v1=100`, 20_000);
  const svc = JSON.parse(await k('get', 'ksvc', SVC, '-o', 'json'));
  assert.deepEqual(
    svc.spec.traffic
      .filter((x: { percent?: number }) => (x.percent ?? 0) > 0)
      .map((x: { revisionName: string; percent: number }) => [x.revisionName, x.percent]),
    [[`${SVC}-v1`, 100]],
  );
  // An invalid split is refused with the API server's message, shown on the page.
  const edit = page.locator(`[data-testid="edit-${SVC}"]`);
  await edit.locator(`input[data-revision="${SVC}-v1"]`).fill('60');
  await edit.locator('button', { hasText: 'Apply split' }).click();
  await waitFor('refusal shown', async () => /100/.test((await edit.locator('.msg').textContent()) ?? ''));
  t.diagnostic(`refusal: ${await edit.locator('.msg').textContent()}`);
  await b.screenshot('4-after-rollback');
  assert.deepEqual(b.problems, []);
});

function readToken(kubeconfig: string): string {
  // The token the kubeconfig carries is the API's (and the console's) bearer token.
  const text = readFileSync(kubeconfig, 'utf8');
  const m = /token:\s*(\S+)/.exec(text);
  assert.ok(m, 'kubeconfig has a token');
  return m[1];
}
