// Big objects cost their own writes, not a share of every tick: with Services carrying two
// 100 KB annotations stored, creating one more (de)serializes as many big documents as the first
// did, and a quiet server serializes none. Counted, not timed (issue 9: per-create time at
// 10,000 stored Services grew with the big ones already there).

import assert from 'node:assert/strict';
import { request } from 'node:https';
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { KObject } from '../../src/api/types.js';
import { startTestSluice } from '../support/sluice.js';
import { waitFor } from '../support/poll.js';

const BIG = 100 * 1024;
const SERVICES = '/apis/serving.knative.dev/v1/namespaces/default/services';

/** Counts JSON documents of at least BIG characters written or read in this process. */
function countBigJson(): { count: () => number; stop: () => void } {
  const { stringify, parse } = JSON;
  let n = 0;
  JSON.stringify = function (this: unknown, ...args: Parameters<typeof stringify>) {
    const out = stringify.apply(this, args);
    if (typeof out === 'string' && out.length >= BIG) n++;
    return out;
  } as typeof stringify;
  JSON.parse = function (this: unknown, text: string, reviver?: Parameters<typeof parse>[1]) {
    if (typeof text === 'string' && text.length >= BIG) n++;
    return parse.call(this, text, reviver) as unknown;
  } as typeof parse;
  return {
    count: () => n,
    stop: () => {
      JSON.stringify = stringify;
      JSON.parse = parse;
    },
  };
}

test('a big Service costs the same with more of them stored; a quiet server serializes none', async (t) => {
  const s = await startTestSluice(t, { autoscalerConfig: { 'allow-zero-initial-scale': 'true' } });
  const kc = parseYaml(readFileSync(s.kubeconfigPath, 'utf8')) as { clusters: { cluster: { 'certificate-authority-data': string } }[] };
  const ca = Buffer.from(kc.clusters[0].cluster['certificate-authority-data'], 'base64').toString('utf8');
  const api = new URL(s.apiUrl);
  const post = (body: unknown) =>
    new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: api.hostname,
          port: api.port,
          method: 'POST',
          path: SERVICES,
          ca,
          headers: { authorization: `Bearer ${s.token}`, 'content-type': 'application/json' },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify(body));
    });
  const ready = new Set<string>();
  const stopWatch = await s.store.watch(
    'serving.knative.dev/services',
    {},
    {
      onEvent: (e) => {
        const o = e.object as KObject;
        if (
          (o.status?.conditions as { type: string; status: string }[] | undefined)?.some((c) => c.type === 'Ready' && c.status === 'True')
        )
          ready.add(o.metadata.name!);
      },
    },
  );
  t.after(() => stopWatch());

  const big = 'x'.repeat(BIG);
  const counter = countBigJson();
  t.after(() => counter.stop());
  const perCreate: number[] = [];
  for (let i = 0; i < 6; i++) {
    const name = `big-${i}`;
    const c0 = counter.count();
    const status = await post({
      apiVersion: 'serving.knative.dev/v1',
      kind: 'Service',
      metadata: { name, annotations: { 'bench/a': big, 'bench/b': big } },
      spec: {
        template: {
          metadata: {
            annotations: { 'autoscaling.knative.dev/initial-scale': '0', 'autoscaling.knative.dev/min-scale': '0', 'bench/c': big },
          },
          spec: { containers: [{ image: 'registry.cn-hangzhou.aliyuncs.com/knative-sample/rest-api-go:v1' }] },
        },
      },
    });
    assert.equal(status, 201);
    await waitFor(`${name} Ready`, () => ready.has(name), 30_000);
    // Let the controllers' and the autoscaler's follow-up writes settle (two ticks).
    await new Promise((r) => setTimeout(r, 4500));
    perCreate.push(counter.count() - c0);
  }
  const q0 = counter.count();
  await new Promise((r) => setTimeout(r, 4500));
  const quiet = counter.count() - q0;
  t.diagnostic(`big JSON documents per create: ${perCreate.join(', ')}; in 4.5 s with nothing changing: ${quiet}`);
  assert.equal(quiet, 0, 'nothing changed, yet big objects were serialized (per-tick work over stored objects?)');
  // Each create the same work: the controllers' writes of its own objects (a retried write or two may differ).
  assert.ok(Math.max(...perCreate) - Math.min(...perCreate) <= 4, `per create: ${perCreate.join(', ')}`);
});
