// The controller manager's work queue on its own: every key enqueued is reconciled, once per
// enqueue burst, in arrival order, and a key enqueued while it is being reconciled runs again
// after. RevisionGC with no config-gc is a reconcile that reads nothing. After a restart, what the
// gateway needs to serve is reconciled first, and sweeps wait behind changes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { R } from '../../../src/api/resources.js';
import { createListers, stopListers, syncListers } from '../../../src/controllers/listers.js';
import { ControllerManager, WORKERS } from '../../../src/controllers/manager.js';
import { openMemoryStore } from '../../../src/store/index.js';
import { FakeRuntime } from '../../support/fake-runtime.js';

type Base = ConstructorParameters<typeof ControllerManager>[0];

function manager(onGcConfig: () => void = () => undefined) {
  const seen: string[] = [];
  const base = {
    dataplane: { setRoute: () => undefined },
    gcConfig: () => {
      onGcConfig();
      return undefined;
    },
    log: () => undefined,
  } as unknown as Base;
  const m = new ControllerManager(base, { reconciled: (_kind, key) => seen.push(key) });
  return { m, seen };
}

test('work queue: 20,000 keys, each enqueued twice, are each reconciled once, in the order they came', async () => {
  const { m, seen } = manager();
  const keys = Array.from({ length: 20_000 }, (_, i) => `k${i}`);
  for (const k of keys) m.enqueue('RevisionGC', 'default', k);
  for (const k of keys) m.enqueue('RevisionGC', 'default', k);
  await m.idle();
  // Reconciles were already running while the second round was enqueued: those keys run again.
  const once = seen.filter((k, i) => seen.indexOf(k) === i);
  assert.deepEqual(
    once,
    keys.map((k) => `RevisionGC/default/${k}`),
  );
  assert.ok(seen.length < keys.length + 100, `${seen.length} reconciles for ${keys.length} keys`);
  assert.equal(m.queueDepth, 0);
  m.stop();
});

test('work queue: a key enqueued while it is reconciled runs once more afterwards', async () => {
  let requeued = false;
  const { m, seen } = manager(() => {
    if (requeued) return;
    requeued = true;
    // Inside the first reconcile of a.
    m.enqueue('RevisionGC', 'default', 'a');
    m.enqueue('RevisionGC', 'default', 'b');
  });
  m.enqueue('RevisionGC', 'default', 'a');
  await m.idle();
  assert.deepEqual(seen.sort(), ['RevisionGC/default/a', 'RevisionGC/default/a', 'RevisionGC/default/b']);
  assert.equal(m.queueDepth, 0);
  m.stop();
});

test('work queue: a sweep waits in the slow lane behind every change, and a change of a swept object moves it forward', async () => {
  const { m, seen } = manager();
  const swept = Array.from({ length: 5_000 }, (_, i) => `s${i}`);
  for (const k of swept) m.enqueueSlow('RevisionGC', 'default', k);
  // Changes arriving while the sweep is queued (and one of them for an object the sweep holds).
  for (const k of ['c1', 'c2', 's4000']) m.enqueue('RevisionGC', 'default', k);
  m.enqueueSlow('RevisionGC', 'default', 'c1');
  await m.idle();
  // The first few sweep keys had workers before the changes came; everything else is in lane order.
  const firstChange = seen.indexOf('RevisionGC/default/c1');
  assert.ok(firstChange <= WORKERS, `first change reconciled at ${firstChange}`);
  assert.deepEqual(seen.slice(firstChange, firstChange + 3), [
    'RevisionGC/default/c1',
    'RevisionGC/default/c2',
    'RevisionGC/default/s4000',
  ]);
  // Each key once: the slow-lane entry of a key moved forward is skipped.
  assert.equal(seen.length, swept.length + 2);
  assert.equal(new Set(seen).size, seen.length);
  m.stop();
});

test('after a restart the data plane comes first: every revision in the gateway at once, routes reconciled before the rest', async () => {
  const store = openMemoryStore();
  const container = { name: 'user-container', image: 'example/app:1' };
  for (let i = 0; i < 100; i++) {
    const labels = { 'serving.knative.dev/configuration': `s${i}`, 'serving.knative.dev/service': `s${i}` };
    await store.create(R.configurations, {
      apiVersion: 'serving.knative.dev/v1',
      kind: 'Configuration',
      metadata: { name: `s${i}`, namespace: 'default' },
      spec: { template: { spec: { containers: [container] } } },
    });
    await store.create(R.revisions, {
      apiVersion: 'serving.knative.dev/v1',
      kind: 'Revision',
      metadata: { name: `s${i}-1`, namespace: 'default', labels },
      spec: { containers: [container], containerConcurrency: 0, timeoutSeconds: 300 },
    });
    await store.create(R.routes, {
      apiVersion: 'serving.knative.dev/v1',
      kind: 'Route',
      metadata: { name: `s${i}`, namespace: 'default' },
      spec: { traffic: [{ revisionName: `s${i}-1`, percent: 100 }] },
    });
  }
  const listers = createListers(store);
  await syncListers(listers);
  const backends: string[] = [];
  const kinds: string[] = [];
  /** How many other reconciles had finished when each route reached the gateway. */
  const othersDoneAtRoute: number[] = [];
  const base = {
    store,
    listers,
    runtime: new FakeRuntime(),
    dataplane: {
      setRoute: () => void othersDoneAtRoute.push(kinds.filter((k) => k !== 'Route').length),
      setRevision: (b: { key: string }) => void backends.push(b.key),
      removeRevision: () => undefined,
      synced: async () => undefined,
    },
    scale: { desiredReplicas: () => 0 },
    domain: () => 'example.com',
    log: () => undefined,
  } as unknown as Base;
  const m = new ControllerManager(base, { reconciled: (kind) => kinds.push(kind) });
  await m.start();
  // Before any reconcile ran, the gateway knows every revision (it can hold requests and wake them).
  assert.equal(new Set(backends).size, 100);
  await m.idle();
  m.stop();
  stopListers(listers);
  await store.close();
  // The queue's workers run a few keys at once, so a few quick reconciles of other kinds may finish
  // while the last routes are still being written; none waits behind the thousands of others.
  assert.ok(othersDoneAtRoute.length >= 100);
  assert.ok(
    othersDoneAtRoute.slice(0, 100).every((n) => n < WORKERS),
    othersDoneAtRoute.join(' '),
  );
});
