// LocalRuntime scaling: drain before SIGTERM, graceful stop, logs across instances, remove.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Container } from '../../src/api/types.js';
import { REST_API_IMAGE, defaultImageMappings } from '../../src/runtime/image-map.js';
import { LocalRuntime } from '../../src/runtime/local/index.js';
import type { WorkloadSpec, WorkloadStatus } from '../../src/runtime/runtime.js';
import { waitFor } from '../support/poll.js';
import { alive } from '../support/process.js';
import { httpGet, statusAndBody } from '../support/http.js';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

function makeRuntime(t: TestContext, gracePeriodMs = 3000): { rt: LocalRuntime; dataDir: string } {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-rt-'));
  const rt = new LocalRuntime({
    dataDir,
    imageMappings: defaultImageMappings(projectRoot),
    gracePeriodMs,
    backoff: { initialMs: 50, maxMs: 400 },
  });
  t.after(async () => {
    await rt.shutdown();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  return { rt, dataDir };
}

/** The pod spec is the one container, as a revision with one container has it. */
const withPodSpec = (w: Omit<WorkloadSpec, 'podSpec'>): WorkloadSpec => ({ ...w, podSpec: { containers: [w.container] } });

function spec(revision: string, replicas: number, container: Partial<Container> = {}): WorkloadSpec {
  return withPodSpec({
    key: `default/${revision}`,
    namespace: 'default',
    revision,
    configuration: 'stock',
    replicas,
    container: {
      image: REST_API_IMAGE,
      env: [
        { name: 'RESOURCE', value: 'v1' },
        { name: 'LOG_REQUESTS', value: '1' },
      ],
      ...container,
    },
  });
}

async function collectLogs(rt: LocalRuntime, key: string, tailLines?: number): Promise<string[]> {
  const lines: string[] = [];
  const stop = await rt.logs(key, { tailLines }, (l) => lines.push(l));
  stop();
  return lines;
}

test('scale 1 -> 3 -> 1: the newest go, each is unrouted and drained before SIGTERM', async (t) => {
  const { rt } = makeRuntime(t);
  const key = 'default/scale';
  const events: string[] = [];
  rt.onChange((k) => {
    for (const i of rt.status(k)?.instances ?? []) {
      if (i.phase === 'terminating' && !events.includes(`terminating:${i.id}`)) events.push(`terminating:${i.id}`);
    }
  });
  const drained: { id: string; alive: boolean; ready: boolean | undefined; sawSigterm: boolean }[] = [];
  rt.setDrainer(async (k, id) => {
    assert.equal(k, key);
    events.push(`drain:${id}`);
    const inst = rt.status(k)!.instances.find((i) => i.id === id)!;
    const log = await collectLogs(rt, k);
    drained.push({
      id,
      alive: alive(inst.pid!),
      ready: inst.ready,
      sawSigterm: log.some((l) => l.includes(`[${id}]`) && l.includes('SIGTERM')),
    });
  });

  await rt.apply(spec('scale', 1));
  const first = (await waitFor('1 ready', () => rt.status(key)?.readyReplicas === 1 && rt.status(key))).instances[0];
  await rt.apply(spec('scale', 3));
  const three = await waitFor('3 ready', () => rt.status(key)?.readyReplicas === 3 && rt.status(key));
  assert.equal(three.replicas, 3);
  const ports = new Set(three.instances.map((i) => i.port));
  assert.equal(ports.size, 3, 'each instance has its own port');
  for (const i of three.instances) assert.equal((await httpGet(i.port, '/')).body, 'Welcome to the v1 app! \n');

  await rt.apply(spec('scale', 1));
  const one = await waitFor('back to 1', () => rt.status(key)?.instances.length === 1 && rt.status(key));
  assert.equal(one.instances[0].id, first.id, 'the oldest instance stays');
  assert.equal(one.readyReplicas, 1);

  const stopped = three.instances.filter((i) => i.id !== first.id);
  assert.deepEqual(drained.map((d) => d.id).sort(), stopped.map((i) => i.id).sort());
  for (const d of drained) {
    assert.equal(d.alive, true, 'drained while still running');
    assert.equal(d.ready, false, 'not ready while draining');
    assert.equal(d.sawSigterm, false, 'no SIGTERM before the drain finished');
    assert.ok(events.indexOf(`terminating:${d.id}`) < events.indexOf(`drain:${d.id}`), 'listeners heard of it before the drain');
  }
  for (const i of stopped) assert.equal(alive(i.pid!), false);
  // The stopped instances' logs are still readable and show a clean SIGTERM shutdown.
  const log = await collectLogs(rt, key);
  for (const i of stopped) {
    assert.ok(log.includes(`[${i.id}] rest-api: SIGTERM received, finishing in-flight requests`));
    assert.ok(log.includes(`[${i.id}] rest-api: stopped`));
  }
  assert.equal(rt.status(key)!.failure, undefined, 'a requested stop is not a crash');
});

test('a stopping instance finishes its in-flight request before exiting', async (t) => {
  const { rt } = makeRuntime(t, 10_000);
  const key = 'default/graceful';
  await rt.apply(spec('graceful', 1));
  const inst = (await waitFor('ready', () => rt.status(key)?.readyReplicas === 1 && rt.status(key))).instances[0];
  const slow = httpGet(inst.port, '/?sleep=1000');
  await waitFor('request arrived', async () => (await collectLogs(rt, key)).includes('GET /?sleep=1000'));
  await rt.apply(spec('graceful', 0));
  assert.equal(rt.status(key)!.instances[0].phase, 'terminating');
  assert.deepEqual(statusAndBody(await slow), { status: 200, body: 'Welcome to the v1 app! \n' });
  await waitFor('gone', () => rt.status(key)?.instances.length === 0);
  assert.equal(alive(inst.pid!), false);
  const log = await collectLogs(rt, key);
  assert.equal(log[log.length - 1], 'rest-api: stopped', 'exited on its own, not killed');
});

test('SIGKILL after the grace period when the app ignores SIGTERM', async (t) => {
  const { rt } = makeRuntime(t, 300);
  const key = 'default/stubborn';
  await rt.apply(
    spec('stubborn', 1, {
      image: undefined,
      command: [
        process.execPath,
        '-e',
        "process.on('SIGTERM', () => console.log('ignoring SIGTERM')); require('http').createServer((q, s) => s.end('ok')).listen(+process.env.PORT, process.env.HOST)",
      ],
    }),
  );
  const inst = (await waitFor('ready', () => rt.status(key)?.readyReplicas === 1 && rt.status(key))).instances[0];
  await rt.remove(key);
  assert.equal(rt.status(key), undefined);
  assert.equal(alive(inst.pid!), false);
});

test('logs: tail, follow across instances with id prefixes, stop following', async (t) => {
  const { rt, dataDir } = makeRuntime(t);
  const key = 'default/logs';
  await rt.apply(spec('logs', 1));
  const inst = (await waitFor('ready', () => rt.status(key)?.readyReplicas === 1 && rt.status(key))).instances[0];
  for (const p of ['/a', '/b', '/c']) await httpGet(inst.port, p);
  assert.equal(fs.existsSync(path.join(dataDir, 'logs', 'default', 'logs', `${inst.id}.log`)), true);

  await waitFor('requests logged', async () => (await collectLogs(rt, key)).includes('GET /c'));
  assert.deepEqual(await collectLogs(rt, key, 2), ['GET /b', 'GET /c'], 'one instance: raw lines, no prefix');
  const all = await collectLogs(rt, key);
  assert.match(all[0], /^rest-api: RESOURCE=v1 listening on http:\/\/127\.0\.0\.1:\d+$/);

  const followed: string[] = [];
  const stop = await rt.logs(key, { follow: true, tailLines: 1 }, (l) => followed.push(l));
  assert.deepEqual(followed, ['GET /c']);
  await httpGet(inst.port, '/d');
  await waitFor('followed line', () => followed.includes('GET /d'));

  // A new instance joins the stream; its lines carry its id.
  await rt.apply(spec('logs', 2));
  const two = await waitFor('2 ready', () => rt.status(key)?.readyReplicas === 2 && rt.status(key));
  const second = two.instances.find((i) => i.id !== inst.id)!;
  await httpGet(second.port, '/e');
  await waitFor('second instance followed', () => followed.includes(`[${second.id}] GET /e`));

  stop();
  const count = followed.length;
  await httpGet(inst.port, '/f');
  await waitFor('line written', async () => (await collectLogs(rt, key)).includes(`[${inst.id}] GET /f`));
  assert.equal(followed.length, count, 'nothing after stop');

  const tail = await collectLogs(rt, key, 1);
  assert.deepEqual(tail, [`[${inst.id}] GET /f`, `[${second.id}] GET /e`], 'tail applies per instance, prefixed when several');
  await assert.rejects(
    rt.logs('default/nope', {}, () => {}),
    /no workload "default\/nope"/,
  );
});

test('remove stops the instances (draining them) and forgets the workload', async (t) => {
  const { rt, dataDir } = makeRuntime(t);
  const key = 'default/gone';
  const drains: string[] = [];
  rt.setDrainer(async (_k, id) => {
    drains.push(id);
  });
  await rt.apply(spec('gone', 2));
  const s = await waitFor('ready', () => rt.status(key)?.readyReplicas === 2 && rt.status(key));
  const changes: string[] = [];
  rt.onChange((k) => changes.push(k));
  await rt.remove(key);
  assert.equal(rt.status(key), undefined);
  assert.deepEqual(drains.sort(), s.instances.map((i) => i.id).sort());
  assert.ok(s.instances.every((i) => !alive(i.pid!)));
  assert.ok(changes.includes(key));
  assert.deepEqual(fs.readdirSync(path.join(dataDir, 'logs', 'default', 'gone')), [], 'log files removed');
  assert.deepEqual(fs.readdirSync(path.join(dataDir, 'pids')), [], 'pid records removed');
  await rt.remove(key); // idempotent
});

test('a throwing drainer does not keep an instance from stopping', async (t) => {
  const { rt } = makeRuntime(t);
  const key = 'default/throws';
  rt.setDrainer(() => {
    throw new Error('data plane exploded');
  });
  await rt.apply(spec('throws', 1));
  const inst = (await waitFor('ready', () => rt.status(key)?.readyReplicas === 1 && rt.status(key))).instances[0];
  await rt.apply(spec('throws', 0));
  await waitFor('stopped', () => rt.status(key)?.instances.length === 0);
  assert.equal(alive(inst.pid!), false);
});

test('a crash next to a ready replica is not a workload failure', async (t) => {
  const { rt } = makeRuntime(t);
  const key = 'default/pair';
  await rt.apply(spec('pair', 2));
  const two = await waitFor('2 ready', () => rt.status(key)?.readyReplicas === 2 && rt.status(key));
  const [victim] = two.instances;
  const seen: WorkloadStatus[] = [];
  rt.onChange((k) => k === key && seen.push(rt.status(k)!));
  await httpGet(victim.port, '/crash');
  await waitFor(
    'restarted',
    () => rt.status(key)?.readyReplicas === 2 && rt.status(key)!.instances.find((i) => i.id === victim.id)!.restarts === 1,
  );
  const during = seen.filter((s) => s.instances.find((i) => i.id === victim.id)?.phase === 'backoff');
  assert.ok(during.length > 0, 'went through back-off');
  for (const s of during) {
    assert.equal(s.readyReplicas, 1);
    assert.equal(s.failure, undefined);
  }
});
