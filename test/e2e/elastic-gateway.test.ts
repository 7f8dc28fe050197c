// The event-gateway class end to end, with real instances of a backend that reports its own
// concurrency: every request goes to an instance that is serving nothing else; arrivals scale the
// revision at once to pending + in-flight requests (capped by max-scale); waiting requests are
// served in arrival order; idle instances are released after the configured idle time; queue
// depth and wait time are scraped from the admin listener's /metrics.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../support/poll.js';
import { httpGet } from '../support/http.js';
import { gatewayGet, kubectl, startTestSluice, applyDoc, paStatus, exampleService, peakWatcher, recordPa } from '../support/sluice.js';
import type { RunningSluice } from '../../src/server.js';

const EVENT_GATEWAY = 'event-gateway.autoscaling.sluice.dev';

// Answers after ?sleep=N ms with its pid, the request's id, how many requests it was serving when
// this one arrived (itself included) and the request's sequence number in this process.
const BACKEND = `import http from 'node:http';
let inFlight = 0;
let served = 0;
const server = http.createServer((req, res) => {
  inFlight++;
  const seen = inFlight;
  const seq = ++served;
  const url = new URL(req.url, 'http://backend');
  setTimeout(() => {
    inFlight--;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ pid: process.pid, id: url.searchParams.get('id'), inFlight: seen, seq }));
  }, Number(url.searchParams.get('sleep') ?? 0));
});
server.listen(Number(process.env.PORT), process.env.HOST || '127.0.0.1');
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeIdleConnections();
});
`;

interface Reply {
  pid: number;
  id: string;
  inFlight: number;
  seq: number;
}

function backendFile(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-backend-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'backend.mjs');
  writeFileSync(file, BACKEND);
  return file;
}

function service(name: string, annotations: Record<string, string>, backend: string): string {
  // containerConcurrency 0 (unlimited) in the spec: the class still sends one request at a time.
  return exampleService(name, {
    annotations: { 'autoscaling.knative.dev/class': EVENT_GATEWAY, ...annotations },
    containerConcurrency: 0,
    env: {},
    command: [process.execPath, backend],
  });
}

function ask(s: RunningSluice, host: string, path: string, agent: http.Agent): Promise<Reply> {
  return gatewayGet(s.gatewayPort, host, path, agent).then((r) => {
    assert.equal(r.status, 200, r.body);
    return JSON.parse(r.body) as Reply;
  });
}

/** One sample's value from the Prometheus text, or undefined. */
function sample(text: string, name: string, labels: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{${labels}}`)) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

test('one request per instance: three requests get three instances at once, each serving only its own; idle ones go after the configured idle time', async (t) => {
  const backend = backendFile(t);
  // An hour of idle time first, so nothing is released until the config says otherwise.
  const s = await startTestSluice(t, { autoscalerConfig: { 'event-gateway-idle-timeout': '1h' } });
  const rec = recordPa(s, 'eg-v1');
  t.after(rec.stop);
  await applyDoc(s, service('eg', {}, backend));
  const host = 'eg.default.example.com';
  const key = 'default/eg-v1';
  // Ready endpoints reach the gateway before the Route that publishes the host: wait for both.
  await waitFor('the first instance', () => s.gateway.load(key)?.endpoints.length === 1 && s.gateway.hosts().includes(host), 20_000);

  const peak = peakWatcher(s, key);
  // A failed request must not leave the sampling loop keeping the test process alive.
  t.after(() => peak.stop());
  const agent = new http.Agent({ keepAlive: false, maxSockets: 3 });
  t.after(() => agent.destroy());
  // 2.5 s each: long enough that the two new instances are up before the first request ends.
  const replies = await Promise.all([1, 2, 3].map((id) => ask(s, host, `/?sleep=2500&id=${id}`, agent)));
  // One idle instance + two pending requests: 1 in flight + 2 pending = 3, not one more.
  assert.equal(await peak.stop(), 3);
  assert.deepEqual(
    replies.map((r) => r.inFlight),
    [1, 1, 1],
    'each instance was serving nothing else when its request arrived',
  );
  assert.equal(new Set(replies.map((r) => r.pid)).size, 3, 'three instances');
  const st = await paStatus(s, 'eg-v1');
  assert.equal(st.mode, 'event-gateway');
  assert.equal(st.desiredScale, 3);

  // Idle now; an hour is far off, so they stay warm.
  await waitFor(
    'three warm idle instances',
    async () => {
      const x = await paStatus(s, 'eg-v1');
      return x?.metrics?.warm === 3 && x.metrics.busy === 0;
    },
    20_000,
  );
  assert.equal(s.runtime.status(key)?.replicas, 3);

  // A 2 s idle time: all three have been idle longer than that and are released.
  const patch = await kubectl(s.kubeconfigPath, [
    'patch',
    'configmap',
    'config-autoscaler',
    '-n',
    'knative-serving',
    '--type',
    'merge',
    '-p',
    '{"data":{"event-gateway-idle-timeout":"2s"}}',
  ]);
  assert.equal(patch.code, 0, patch.stderr);
  await waitFor('released', async () => (await paStatus(s, 'eg-v1'))?.desiredScale === 0 && s.runtime.status(key)?.replicas === 0, 20_000);
  for (const line of rec.lines()) t.diagnostic(line);
});

test('max-scale 1: requests held at zero are served one at a time in arrival order; queue depth and wait time on /metrics', async (t) => {
  const backend = backendFile(t);
  const s = await startTestSluice(t);
  const rec = recordPa(s, 'fifo-v1');
  t.after(rec.stop);
  await applyDoc(s, service('fifo', { 'autoscaling.knative.dev/max-scale': '1', 'sluice.dev/event-gateway-idle-timeout': '1s' }, backend));
  const host = 'fifo.default.example.com';
  const key = 'default/fifo-v1';
  // The instance started at creation is released after its idle second.
  await waitFor('at zero', async () => (await paStatus(s, 'fifo-v1'))?.desiredScale === 0 && s.runtime.status(key)?.replicas === 0, 20_000);

  const peak = peakWatcher(s, key);
  t.after(() => peak.stop());
  const agent = new http.Agent({ keepAlive: false, maxSockets: 5 });
  t.after(() => agent.destroy());
  let completed = 0;
  const replies: Promise<Reply>[] = [];
  for (let id = 1; id <= 5; id++) {
    replies.push(ask(s, host, `/?sleep=400&id=${id}`, agent).finally(() => completed++));
    // The next one leaves only once the gateway has this one (held, in flight or answered).
    await waitFor(`request ${id} at the gateway`, () => {
      const l = s.gateway.load(key);
      return (l?.queued ?? 0) + (l?.inFlight ?? 0) + completed >= id;
    });
  }
  const labels = 'namespace="default",revision="fifo-v1"';
  const during = await waitFor('requests held, seen on /metrics', async () => {
    const r = await httpGet(s.adminPort, '/metrics');
    return (sample(r.body, 'sluice_gateway_requests_queued', labels) ?? 0) >= 2 ? r.body : undefined;
  });
  assert.ok(sample(during, 'sluice_gateway_queue_oldest_wait_seconds', labels)! > 0);
  assert.ok(sample(during, 'sluice_gateway_requests_in_flight', labels)! <= 1);

  const served = await Promise.all(replies);
  assert.equal(await peak.stop(), 1, 'max-scale caps the instances');
  assert.deepEqual(
    served.map((r) => r.seq),
    [1, 2, 3, 4, 5],
    'one instance served them in the order they arrived',
  );
  assert.ok(served.every((r) => r.inFlight === 1));

  const after = (await httpGet(s.adminPort, '/metrics')).body;
  assert.equal(sample(after, 'sluice_gateway_queue_wait_seconds_count', labels), 5);
  assert.ok(sample(after, 'sluice_gateway_queue_wait_seconds_sum', labels)! > 0);
  assert.equal(sample(after, 'sluice_gateway_requests_queued', labels), 0);
  assert.match(after, /# TYPE sluice_gateway_queue_wait_seconds histogram/);
  // /metrics lives on the admin listener only: on the traffic port it is just an unrouted host.
  assert.equal((await gatewayGet(s.gatewayPort, `127.0.0.1:${s.gatewayPort}`, '/metrics')).status, 404);
  for (const line of rec.lines()) t.diagnostic(line);
  for (const line of during.split('\n'))
    if (line.includes('fifo-v1') && /queued|in_flight|oldest/.test(line)) t.diagnostic(`while held: ${line}`);
  for (const line of after.split('\n')) if (line.includes('fifo-v1') && /queue_wait/.test(line)) t.diagnostic(`after: ${line}`);
});
