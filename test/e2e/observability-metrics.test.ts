// /metrics through the admin listener after a known load: every request counted once, by status,
// with Knative's names and labels, and the latency histograms' counts and sums account for it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { waitFor } from '../support/poll.js';
import { httpGet } from '../support/http.js';
import { applyDoc, exampleService, gatewayGet, paStatus, startTestSluice } from '../support/sluice.js';

/** Every sample of one series name: labels text → value. */
export function series(text: string, name: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    const m = /^(?:\{(.*)\})? (\S+)$/.exec(rest);
    if (m) out.set(m[1] ?? '', Number(m[2]));
  }
  return out;
}

export function value(text: string, name: string, labels: string): number {
  return series(text, name).get(labels) ?? 0;
}

test('a known load shows on the admin /metrics: request counts by code, latency histograms, gateway series', async (t) => {
  const s = await startTestSluice(t);
  await applyDoc(s, exampleService('obs'));
  const host = 'obs.default.example.com';
  await waitFor('obs serves', async () => (await gatewayGet(s.gatewayPort, host, '/')).status === 200, 30_000);
  const before = (await httpGet(s.adminPort, '/metrics')).body;

  // 6 answers that take at least 100 ms, 4 that are 503 (no price upstream configured).
  const ok = await Promise.all(Array.from({ length: 6 }, () => gatewayGet(s.gatewayPort, host, '/?sleep=100')));
  assert.deepEqual(
    ok.map((r) => r.status),
    [200, 200, 200, 200, 200, 200],
  );
  for (let i = 0; i < 4; i++) assert.equal((await gatewayGet(s.gatewayPort, host, '/v1/AAPL')).status, 503);

  const after = (await httpGet(s.adminPort, '/metrics')).body;
  const kn = 'namespace_name="default",service_name="obs",configuration_name="obs",revision_name="obs-v1"';
  const delta = (name: string, labels: string) => value(after, name, labels) - value(before, name, labels);

  assert.equal(delta('revision_request_count', `${kn},response_code="200",response_code_class="2xx"`), 6);
  assert.equal(delta('revision_request_count', `${kn},response_code="503",response_code_class="5xx"`), 4);
  assert.equal(delta('revision_request_latencies_count', `${kn},response_code_class="2xx"`), 6);
  assert.equal(delta('revision_request_latencies_count', `${kn},response_code_class="5xx"`), 4);
  const okMs = delta('revision_request_latencies_sum', `${kn},response_code_class="2xx"`);
  assert.ok(okMs >= 600 && okMs < 6 * 5000, `6 requests of >= 100 ms took ${okMs} ms in total`);
  // None of the slow ones fits in the 100 ms bucket; all fit below +Inf.
  assert.equal(delta('revision_request_latencies_bucket', `${kn},response_code_class="2xx",le="100"`), 0);
  assert.equal(delta('revision_request_latencies_bucket', `${kn},response_code_class="2xx",le="+Inf"`), 6);

  const sl = 'namespace="default",revision="obs-v1"';
  assert.equal(delta('sluice_gateway_requests_total', `${sl},code="2xx"`), 6);
  assert.equal(delta('sluice_gateway_requests_total', `${sl},code="5xx"`), 4);
  assert.equal(delta('sluice_gateway_request_duration_seconds_count', sl), 10);
  const secs = delta('sluice_gateway_request_duration_seconds_sum', sl);
  assert.ok(
    Math.abs(secs * 1000 - (okMs + delta('revision_request_latencies_sum', `${kn},response_code_class="5xx"`))) < 1,
    'the two histograms agree',
  );
  assert.equal(value(after, 'sluice_gateway_requests_in_flight', sl), 0);
  assert.equal(value(after, 'activator_request_concurrency', kn), 0);
  assert.match(after, /^# TYPE revision_request_latencies histogram$/m);
  assert.match(after, /^# TYPE revision_request_count counter$/m);
  // Request logs on demand: while the stream is open, one JSON line per request of that revision.
  const lines: string[] = [];
  const req = http.get({ host: '127.0.0.1', port: s.adminPort, path: '/api/v1/requests?revision=default/obs-v1', agent: false });
  t.after(() => req.destroy());
  const res = await new Promise<http.IncomingMessage>((resolve) => req.on('response', resolve));
  assert.equal(res.headers['content-type'], 'application/x-ndjson');
  res.setEncoding('utf8');
  let buf = '';
  res.on('data', (c: string) => {
    buf += c;
    const parts = buf.split('\n');
    buf = parts.pop()!;
    lines.push(...parts);
  });
  assert.equal((await gatewayGet(s.gatewayPort, host, '/logged?sleep=5')).status, 200);
  assert.equal((await gatewayGet(s.gatewayPort, host, '/v1/X')).status, 503);
  await waitFor('two request lines', () => lines.length >= 2);
  const logged = lines.map((l) => JSON.parse(l));
  assert.deepEqual(
    logged.map((r) => [r.revision, r.method, r.path, r.host, r.status]),
    [
      ['default/obs-v1', 'GET', '/logged?sleep=5', host, 200],
      ['default/obs-v1', 'GET', '/v1/X', host, 503],
    ],
  );
  assert.ok(logged[0].seconds >= 0.005);
  assert.equal((await httpGet(s.adminPort, '/api/v1/requests')).status, 400);
});

test('the autoscaler, runtime, controllers and store series agree with what the server did', async (t) => {
  const s = await startTestSluice(t);
  await applyDoc(s, exampleService('obs'));
  const host = 'obs.default.example.com';
  await waitFor('obs serves', async () => (await gatewayGet(s.gatewayPort, host, '/')).status === 200, 30_000);
  const kn = 'namespace_name="default",service_name="obs",configuration_name="obs",revision_name="obs-v1"';
  const sl = 'namespace="default",revision="obs-v1"';
  // Once the autoscaler has decided at least once and its PodAutoscaler carries the numbers.
  const pa = await waitFor('a decision on the PodAutoscaler', async () => {
    const st = await paStatus(s, 'obs-v1');
    return typeof st?.metrics?.target === 'number' ? st : undefined;
  });
  await s.controllers.idle();
  const text = (await httpGet(s.adminPort, '/metrics')).body;

  // Autoscaler: Knative's names, the same numbers as the PodAutoscaler's status.
  assert.equal(value(text, 'autoscaler_desired_pods', kn), pa.desiredScale);
  assert.equal(value(text, 'autoscaler_requested_pods', kn), 1);
  assert.equal(value(text, 'autoscaler_actual_pods', kn), 1);
  assert.equal(value(text, 'autoscaler_not_ready_pods', kn), 0);
  assert.equal(value(text, 'autoscaler_panic_mode', kn), pa.mode === 'panic' ? 1 : 0);
  assert.equal(value(text, 'autoscaler_target_concurrency_per_pod', kn), pa.metrics.target);
  assert.ok(series(text, 'autoscaler_stable_request_concurrency').has(kn));
  assert.ok(series(text, 'autoscaler_panic_request_concurrency').has(kn));
  assert.ok(!series(text, 'autoscaler_stable_requests_per_second').has(kn), 'a concurrency revision has no rps series');

  // Runtime: one instance started, one cold start whose duration is the instance's start to ready.
  assert.equal(value(text, 'sluice_runtime_instance_starts_total', sl), 1);
  assert.equal(value(text, 'sluice_runtime_cold_start_seconds_count', sl), 1);
  const inst = s.runtime.status('default/obs-v1')!.instances[0];
  const cold = value(text, 'sluice_runtime_cold_start_seconds_sum', sl);
  assert.ok(Math.abs(cold - (inst.readyAt! - inst.startedAt) / 1000) < 1e-6, `cold start ${cold} s`);
  assert.equal(series(text, 'sluice_runtime_instance_failures_total').size, 0);

  // Controllers: every reconcile counted once by result and timed once; the queue is empty when idle.
  for (const kind of ['Service', 'Configuration', 'Revision', 'Route']) {
    const results = ['success', 'conflict', 'error'].map((r) => value(text, 'sluice_reconcile_total', `kind="${kind}",result="${r}"`));
    assert.ok(results[0] >= 1, `${kind} reconciled`);
    assert.equal(value(text, 'sluice_reconcile_duration_seconds_count', `kind="${kind}"`), results[0] + results[1] + results[2]);
  }
  assert.equal(value(text, 'sluice_workqueue_depth', ''), 0);

  // Store: the one Service create, timed; revisions created once.
  const svcCreate = 'resource="serving.knative.dev/services",operation="create"';
  assert.equal(value(text, 'sluice_store_writes_total', `${svcCreate},result="ok"`), 1);
  assert.equal(value(text, 'sluice_store_write_duration_seconds_count', svcCreate), 1);
  assert.ok(value(text, 'sluice_store_write_duration_seconds_sum', svcCreate) > 0);
  assert.equal(value(text, 'sluice_store_writes_total', 'resource="serving.knative.dev/revisions",operation="create",result="ok"'), 1);
  for (const name of ['sluice_autoscaler_scale_changes_total', 'sluice_autoscaler_decision_errors_total'])
    assert.match(text, new RegExp(`^# TYPE ${name} counter$`, 'm'));
});
