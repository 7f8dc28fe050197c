// LocalRuntime with real processes: start, readiness, failures, restarts, usage, shutdown.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Container } from '../../src/api/types.js';
import { REST_API_IMAGE, defaultImageMappings } from '../../src/runtime/image-map.js';
import { LocalRuntime, type LocalRuntimeOptions } from '../../src/runtime/local/index.js';
import type { WorkloadSpec, WorkloadStatus } from '../../src/runtime/runtime.js';
import { waitFor } from '../support/poll.js';
import { alive } from '../support/process.js';
import { httpGet, statusAndBody } from '../support/http.js';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

function makeRuntime(t: TestContext, opts: Partial<LocalRuntimeOptions> = {}): LocalRuntime {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-rt-'));
  const rt = new LocalRuntime({
    dataDir,
    imageMappings: defaultImageMappings(projectRoot),
    gracePeriodMs: 3000,
    backoff: { initialMs: 50, maxMs: 400 },
    ...opts,
  });
  t.after(async () => {
    await rt.shutdown();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  return rt;
}

/** The pod spec is the one container, as a revision with one container has it. */
const withPodSpec = (w: Omit<WorkloadSpec, 'podSpec'>): WorkloadSpec => ({ ...w, podSpec: { containers: [w.container] } });

function spec(revision: string, replicas: number, container: Partial<Container> = {}): WorkloadSpec {
  return withPodSpec({
    key: `default/${revision}`,
    namespace: 'default',
    revision,
    configuration: 'stock-service-example',
    service: 'stock-service-example',
    replicas,
    container: { image: REST_API_IMAGE, env: [{ name: 'RESOURCE', value: 'v1' }], ...container },
  });
}

const readyStatus =
  (rt: LocalRuntime, key: string, n = 1) =>
  () => {
    const s = rt.status(key);
    return s && s.readyReplicas === n ? s : undefined;
  };

test('runs the walkthrough image as a local process: ready, PORT, K_* env, readyAt', async (t) => {
  const rt = makeRuntime(t);
  const changes: string[] = [];
  rt.onChange((k) => changes.push(k));
  await rt.apply(
    spec('stock-service-example-v1', 1, { readinessProbe: { httpGet: { path: '/' }, initialDelaySeconds: 0, periodSeconds: 3 } }),
  );
  const s = await waitFor('ready', readyStatus(rt, 'default/stock-service-example-v1'));
  const inst = s.instances[0];
  assert.equal(inst.phase, 'ready');
  assert.equal(inst.host, '127.0.0.1');
  assert.ok(inst.pid && inst.port > 0);
  assert.ok(inst.readyAt && inst.readyAt >= inst.startedAt);
  assert.equal(s.failure, undefined);
  assert.ok(changes.includes('default/stock-service-example-v1'));
  assert.deepEqual(statusAndBody(await httpGet(inst.port, '/')), { status: 200, body: 'Welcome to the v1 app! \n' });

  const env = fs.readFileSync(`/proc/${inst.pid}/environ`, 'utf8').split('\0');
  for (const want of [
    `PORT=${inst.port}`,
    'HOST=127.0.0.1',
    'K_REVISION=stock-service-example-v1',
    'K_SERVICE=stock-service-example',
    'K_CONFIGURATION=stock-service-example',
    'RESOURCE=v1',
  ]) {
    assert.ok(env.includes(want), `env has ${want}`);
  }
  const usage = await rt.usage('default/stock-service-example-v1');
  assert.equal(usage.length, 1);
  assert.equal(usage[0].id, inst.id);
  assert.ok(usage[0].rssBytes > 1_000_000 && usage[0].cpuSeconds > 0);
});

test('readiness uses the probe path: not ready while it fails, ready once it passes', async (t) => {
  // The probe path /v1/AAPL asks this upstream, so the upstream decides readiness and sees every probe.
  let healthy = false;
  let probes = 0;
  const upstream = http.createServer((_req, res) => {
    probes++;
    res.statusCode = healthy ? 200 : 500;
    res.end('1.0');
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  t.after(() => upstream.close());
  const rt = makeRuntime(t);
  const key = 'default/probe-path';
  await rt.apply(
    spec('probe-path', 1, {
      env: [
        { name: 'RESOURCE', value: 'v1' },
        { name: 'STOCK_PRICE_UPSTREAM', value: `http://127.0.0.1:${(upstream.address() as { port: number }).port}` },
      ],
      readinessProbe: { httpGet: { path: '/v1/AAPL', port: 8080 }, periodSeconds: 1 },
    }),
  );
  await waitFor('several failing probes', () => probes >= 5);
  const s = rt.status(key)!;
  assert.equal(s.readyReplicas, 0);
  assert.equal(s.instances[0].phase, 'starting');
  assert.equal(s.instances[0].readyAt, undefined);
  healthy = true;
  await waitFor('ready', readyStatus(rt, key));
});

test('a slow starter is found ready soon after it listens (default TCP readiness)', async (t) => {
  const rt = makeRuntime(t);
  await rt.apply(spec('slow', 1, { env: [{ name: 'STARTUP_DELAY_MS', value: '300' }] }));
  const s = await waitFor('ready', readyStatus(rt, 'default/slow'));
  assert.equal(s.instances[0].restarts, 0);
});

test('an app that exits at start never becomes ready and says why', async (t) => {
  const rt = makeRuntime(t);
  const key = 'default/dies';
  const seen: WorkloadStatus[] = [];
  rt.onChange((k) => k === key && seen.push(rt.status(k)!));
  await rt.apply(spec('dies', 1, { env: [{ name: 'EXIT_AT_START', value: '7' }] }));
  const s = await waitFor('crash loop reported', () => {
    const st = rt.status(key);
    return st?.failure?.reason === 'CrashLoopBackOff' ? st : undefined;
  });
  assert.match(s.failure!.message, /exited with code 7/);
  assert.match(s.failure!.message, /EXIT_AT_START is set, exiting with code 7/);
  assert.ok(
    seen.some((st) => st.failure?.reason === 'ExitCode7'),
    'the first crash reports its exit code as the reason',
  );
  assert.ok(seen.some((st) => st.instances[0]?.phase === 'backoff'));
  assert.ok(seen.every((st) => st.readyReplicas === 0 && st.instances.every((i) => !i.ready && i.readyAt === undefined)));
  assert.ok(s.instances[0].restarts >= 1);
});

test('/crash restarts the instance after a back-off and it becomes ready again', async (t) => {
  const rt = makeRuntime(t);
  const key = 'default/crashy';
  const seen: WorkloadStatus[] = [];
  rt.onChange((k) => k === key && seen.push(rt.status(k)!));
  await rt.apply(spec('crashy', 1));
  const before = (await waitFor('ready', readyStatus(rt, key))).instances[0];
  assert.equal((await httpGet(before.port, '/crash')).body, 'crashing\n');
  const after = await waitFor('ready after restart', () => {
    const s = rt.status(key);
    return s && s.readyReplicas === 1 && s.instances[0].restarts === 1 ? s : undefined;
  });
  assert.equal(after.instances[0].id, before.id, 'same instance, restarted');
  assert.notEqual(after.instances[0].pid, before.pid);
  assert.equal(after.failure, undefined, 'the failure clears once ready again');
  const crash = seen.find((s) => s.instances[0]?.phase === 'backoff');
  assert.ok(crash, 'went through back-off');
  assert.equal(crash.failure?.reason, 'ExitCode3');
  assert.match(crash.failure!.message, /\/crash requested, exiting with code 3/);
  assert.equal((await httpGet(after.instances[0].port, '/')).body, 'Welcome to the v1 app! \n');
});

test('failing liveness gets the instance killed and restarted', async (t) => {
  const rt = makeRuntime(t, { gracePeriodMs: 500 });
  const key = 'default/live';
  const seen: WorkloadStatus[] = [];
  rt.onChange((k) => k === key && seen.push(rt.status(k)!));
  await rt.apply(spec('live', 1, { livenessProbe: { tcpSocket: { port: 9 }, periodSeconds: 1, failureThreshold: 1 } }));
  const failure = await waitFor('killed by liveness', () => seen.find((st) => st.failure?.reason === 'ProbeFailed')?.failure);
  assert.match(failure.message, /liveness probe failed 1 times in a row \(TCP probe 127\.0\.0\.1:9 failed: ECONNREFUSED\)/);
  await waitFor('restarted', () => (rt.status(key)?.instances[0]?.restarts ?? 0) >= 1);
});

test('unmapped images and unsupported env are reported, with no process started', async (t) => {
  const rt = makeRuntime(t);
  await rt.apply(spec('unmapped', 1, { image: 'gcr.io/knative-samples/helloworld-go' }));
  const s = rt.status('default/unmapped')!;
  assert.equal(s.failure?.reason, 'ImageNotMapped');
  assert.match(s.failure!.message, /gcr\.io\/knative-samples\/helloworld-go/);
  assert.deepEqual(s.instances, []);
  // Mapping the image (here: giving a command) fixes it.
  await rt.apply(
    spec('unmapped', 1, {
      image: 'gcr.io/knative-samples/helloworld-go',
      command: [process.execPath, fileURLToPath(new URL('../../examples/rest-api/server.js', import.meta.url))],
    }),
  );
  const fixed = await waitFor(
    'ready once runnable',
    () => rt.status('default/unmapped')?.readyReplicas === 1 && rt.status('default/unmapped'),
  );
  assert.equal(fixed.failure, undefined);
  await rt.apply(spec('secret', 1, { env: [{ name: 'TOKEN', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }] }));
  assert.equal(rt.status('default/secret')!.failure?.reason, 'CreateContainerConfigError');
  await rt.apply(spec('nocmd', 1, { image: undefined, command: ['/definitely/not/here'] }));
  const st = await waitFor('start error', () => rt.status('default/nocmd')?.failure);
  assert.equal(st.reason, 'StartError');
  assert.match(st.message, /command not found: \/definitely\/not\/here/);
});

test('shutdown stops every instance and leaves no child processes', async (t) => {
  const rt = makeRuntime(t);
  await rt.apply(spec('a', 2));
  await rt.apply(spec('b', 1, { env: [{ name: 'RESOURCE', value: 'b' }] }));
  await rt.apply(spec('c', 1, { env: [{ name: 'EXIT_AT_START', value: '1' }] }));
  await waitFor('ready', () => rt.status('default/a')?.readyReplicas === 2 && rt.status('default/b')?.readyReplicas === 1);
  await waitFor('c crash-looping', () => rt.status('default/c')?.failure?.reason === 'CrashLoopBackOff');
  const pids = [...rt.status('default/a')!.instances, ...rt.status('default/b')!.instances].map((i) => i.pid!);
  assert.equal(pids.length, 3);
  assert.ok(pids.every(alive));
  await rt.shutdown();
  assert.deepEqual(pids.filter(alive), [], 'every child is gone');
  assert.deepEqual(rt.status('default/a')!.instances, []);
  await rt.apply(spec('d', 1));
  assert.deepEqual(rt.status('default/d'), undefined, 'nothing new starts after shutdown');
});
