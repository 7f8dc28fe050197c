// The controller manager's work queue on its own: every key enqueued is reconciled, once per
// enqueue burst, in arrival order, and a key enqueued while it is being reconciled runs again
// after. RevisionGC with no config-gc is a reconcile that reads nothing.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ControllerManager } from '../../../src/controllers/manager.js';

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
