// HPA class on CPU and memory, end to end with real instances: CPU burned through the gateway
// (the example app's /burn) drives the count to ceil(current x utilization / target); once the load
// stops the count is held for the scale-down stabilization window (the autoscaler's clock is moved
// past it) and then drops to one, never to zero. Memory: the instances' resident memory against a
// MiB target.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { waitFor } from '../support/poll.js';
import { gatewayGet, startTestSluice, applyDoc, paStatus, exampleService, recordPa } from '../support/sluice.js';
import type { RunningSluice } from '../../src/server.js';

const A = 'autoscaling.knative.dev/';
const HPA = 'hpa.autoscaling.knative.dev';

function service(name: string, annotations: Record<string, string>): string {
  return exampleService(name, { annotations, env: { RESOURCE: name } });
}

/** `clients` loops of GETs on `path` until the returned function is called (it resolves with the count). */
function load(s: RunningSluice, host: string, clients: number, path: string): () => Promise<number> {
  let stopped = false;
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  const loops = Array.from({ length: clients }, async () => {
    let n = 0;
    while (!stopped) {
      const r = await gatewayGet(s.gatewayPort, host, path, agent).catch(() => ({ status: 0 }));
      if (r.status === 200) n++;
    }
    return n;
  });
  return async () => {
    stopped = true;
    const counts = await Promise.all(loops);
    agent.destroy();
    return counts.reduce((a, b) => a + b, 0);
  };
}

/** Counts the HPA's decisions for a revision: each one reads the instances' usage once. */
function countDecisions(s: RunningSluice, key: string): () => number {
  let n = 0;
  const usage = s.runtime.usage.bind(s.runtime);
  s.runtime.usage = (k: string) => {
    if (k === key) n++;
    return usage(k);
  };
  return () => n;
}

test('HPA on CPU: burning CPU scales out by ceil(current x utilization / target); the scale-down waits for the stabilization window; never zero', async (t) => {
  let offset = 0;
  const s = await startTestSluice(t, {
    clock: () => Date.now() + offset,
    autoscalerConfig: { 'hpa-scale-down-stabilization-window': '30s' },
  });
  const rec = recordPa(s, 'cpu-v1');
  t.after(rec.stop);
  // Target 40% of one core (no CPU request is set): one instance burning a whole core is 2.5 times that.
  await applyDoc(s, service('cpu', { [A + 'class']: HPA, [A + 'metric']: 'cpu', [A + 'target']: '40', [A + 'max-scale']: '4' }));
  const host = 'cpu.default.example.com';
  const key = 'default/cpu-v1';
  const decisions = countDecisions(s, key);
  await waitFor(
    'one instance, CPU measured',
    async () => {
      const x = await paStatus(s, 'cpu-v1');
      return x?.actualScale === 1 && x.mode === 'hpa' && x.metrics?.metric === 'cpu' && typeof x.metrics.value === 'number';
    },
    20_000,
  );

  // Two clients burning 250 ms of CPU per request, one request at a time each.
  const stopLoad = load(s, host, 2, '/burn?ms=250');
  let stopped = false;
  t.after(async () => {
    if (!stopped) await stopLoad();
  });
  const peak = await waitFor(
    'scaled out',
    async () => {
      const d = (await paStatus(s, 'cpu-v1'))?.desiredScale;
      return d > 1 && s.runtime.status(key)?.readyReplicas === d ? d : undefined;
    },
    30_000,
  );
  // A few more decisions under load (the count may go on up to max-scale), then the load stops.
  const seenUnderLoad = decisions();
  await waitFor('three more decisions under load', () => decisions() >= seenUnderLoad + 3, 20_000);
  const served = await stopLoad();
  stopped = true;
  assert.ok(served > 0);

  // The first scale-out was from one measured instance: desired = min(max-scale, ceil(1 x ratio))
  // (Kubernetes' scale-up rate allows 1 + 4 = 5 here, above max-scale).
  const i = rec.points.findIndex((p) => p.desired > 1);
  assert.ok(i > 0, 'scaled out from one instance');
  const first = rec.points[i];
  assert.equal(rec.points[i - 1].desired, 1);
  const ratio = Number(first.metrics?.ratio);
  assert.ok(ratio > 1.1, `outside the 10% tolerance: ${JSON.stringify(first)}`);
  assert.ok(Math.abs(Number(first.metrics?.value) / 40 - ratio) < 0.01, 'ratio = utilization / target');
  // The status rounds the ratio to 3 decimals: accept the ceiling on either side of that rounding.
  const expected = [Math.ceil(ratio - 0.0005), Math.ceil(ratio + 0.0005)].map((n) => Math.min(4, n));
  assert.ok(expected.includes(first.desired), `desired ${first.desired} = min(4, ceil(1 x ${ratio}))`);

  // No load: the HPA now proposes one instance but keeps the peak for the stabilization window.
  const held = await waitFor(
    'the scale-down held by the stabilization window',
    async () => {
      const x = await paStatus(s, 'cpu-v1');
      return x?.reason === 'stabilized' && Number(x.metrics?.value) < 36 ? x : undefined;
    },
    20_000,
  );
  assert.ok(held.desiredScale >= peak, `held at ${held.desiredScale}`);
  assert.equal(s.runtime.status(key)?.replicas, held.desiredScale);

  // Past the window (on the autoscaler's clock): one instance.
  offset += 30_000;
  await waitFor(
    'one instance after the window',
    async () => (await paStatus(s, 'cpu-v1'))?.desiredScale === 1 && s.runtime.status(key)?.replicas === 1,
    20_000,
  );

  // Idle for an hour on the autoscaler's clock: the HPA class still keeps one instance.
  offset += 3_600_000;
  const seen = decisions();
  await waitFor('three more decisions', () => decisions() >= seen + 3, 20_000);
  assert.equal((await paStatus(s, 'cpu-v1'))?.desiredScale, 1);
  assert.equal(s.runtime.status(key)?.replicas, 1);
  assert.ok(
    rec.points.every((p) => p.desired >= 1),
    'never zero',
  );
  for (const line of rec.lines()) t.diagnostic(line);
});

test('HPA on memory: resident MiB per instance against the target, capped by max-scale', async (t) => {
  const s = await startTestSluice(t);
  const rec = recordPa(s, 'mem-v1');
  t.after(rec.stop);
  // A Node process holds some 40 MiB: a 10 MiB target asks for more instances than max-scale allows.
  await applyDoc(s, service('mem', { [A + 'class']: HPA, [A + 'metric']: 'memory', [A + 'target']: '10', [A + 'max-scale']: '3' }));
  const key = 'default/mem-v1';
  const st = await waitFor(
    'three instances on memory',
    async () => {
      const x = await paStatus(s, 'mem-v1');
      return x?.desiredScale === 3 && x.actualScale === 3 ? x : undefined;
    },
    20_000,
  );
  assert.equal(st.mode, 'hpa');
  assert.equal(st.metrics.metric, 'memory');
  assert.equal(st.metrics.target, 10);
  assert.ok(Number(st.metrics.value) > 10, `resident MiB per instance: ${st.metrics.value}`);
  const i = rec.points.findIndex((p) => p.desired > 1);
  assert.equal(rec.points[i - 1].desired, 1);
  const ratio = Number(rec.points[i].metrics?.ratio);
  assert.ok(Math.abs(Number(rec.points[i].metrics?.value) / 10 - ratio) < 0.01, 'ratio = MiB / target');
  assert.equal(rec.points[i].desired, Math.min(3, Math.ceil(ratio)), 'min(max-scale, ceil(1 x ratio)) (the rate limit allows 5)');
  assert.equal(s.runtime.status(key)?.replicas, 3);
  for (const line of rec.lines()) t.diagnostic(line);
});
