import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import type { WatchEvent } from '../../src/store/store.js';

const R = 'serving.knative.dev/services';
const svc = (name: string, image = 'a') => ({
  apiVersion: 'serving.knative.dev/v1',
  kind: 'Service',
  metadata: { name, namespace: 'default' },
  spec: { template: { spec: { containers: [{ image }] } } },
});

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-store-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('create assigns identity; spec changes bump generation; stale resourceVersion conflicts', async (t) => {
  const store = SqliteStore.open(tempDir(t));
  t.after(() => store.close());
  const a = await store.create(R, svc('a'));
  assert.ok(a.metadata.uid);
  assert.equal(a.metadata.generation, 1);
  const rv1 = Number(a.metadata.resourceVersion);
  await assert.rejects(store.create(R, svc('a')), /services.serving.knative.dev "a" already exists/);

  const b = await store.update(R, { ...a, spec: { template: { spec: { containers: [{ image: 'b' }] } } } });
  assert.equal(b.metadata.generation, 2);
  assert.ok(Number(b.metadata.resourceVersion) > rv1);
  assert.equal(b.metadata.uid, a.metadata.uid);

  // Same write again changes nothing, not even the resourceVersion.
  const same = await store.update(R, b);
  assert.equal(same.metadata.resourceVersion, b.metadata.resourceVersion);

  await assert.rejects(store.update(R, a), (e: any) => e.code === 409 && /has been modified/.test(e.message));

  // Status writes go through the subresource and leave generation alone.
  const s = await store.update(R, { ...b, status: { observedGeneration: 2 } }, { subresource: 'status' });
  assert.equal(s.metadata.generation, 2);
  assert.deepEqual(s.status, { observedGeneration: 2 });
  assert.deepEqual((await store.update(R, { ...s, status: { bogus: 1 } })).status, { observedGeneration: 2 });
});

test('watch replays from a resourceVersion, then streams; too old is Gone', async (t) => {
  const store = SqliteStore.open(tempDir(t));
  t.after(() => store.close());
  const first = await store.create(R, svc('one'));
  await store.create(R, svc('two'));
  const seen: WatchEvent[] = [];
  const stop = store.watch(R, first.metadata.resourceVersion, (e) => seen.push(e));
  await store.delete(R, 'default', 'one');
  stop();
  await store.create(R, svc('three'));
  assert.deepEqual(
    seen.map((e) => `${e.type} ${e.object.metadata.name}`),
    ['ADDED two', 'DELETED one'],
  );
});

test('objects and resourceVersions survive reopening the file', async (t) => {
  const dir = tempDir(t);
  let store = SqliteStore.open(dir);
  const early = await store.create(R, svc('early'));
  const created = await store.create(R, svc('keep'));
  const rv = store.currentResourceVersion();
  store.close();
  store = SqliteStore.open(dir);
  t.after(() => store.close());
  const got = await store.get(R, 'default', 'keep');
  assert.deepEqual(got, created);
  assert.equal(store.currentResourceVersion(), rv);
  const next = await store.create(R, svc('next'));
  assert.ok(Number(next.metadata.resourceVersion) > Number(rv));
  // History before the restart is gone: a watch from then must relist (410), as with Kubernetes.
  assert.throws(() => store.watch(R, early.metadata.resourceVersion, () => {}), /too old resource version/);
});
