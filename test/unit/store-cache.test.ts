// The informer cache (src/store/cache.ts): objects and index lookups follow creates, updates that
// move an object between index values, and deletes; values with one object and with several.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { byLabel, Cache } from '../../src/store/cache.js';
import { openMemoryStore } from '../../src/store/index.js';

const RES = 'serving.knative.dev/revisions';
const rev = (name: string, cfg: string) => ({
  apiVersion: 'serving.knative.dev/v1',
  kind: 'Revision',
  metadata: { name, namespace: 'ns', labels: { cfg } },
  spec: { containers: [{ image: 'img' }] },
});

async function until(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('index lookups follow creates, moves between values and deletes', async () => {
  const store = openMemoryStore();
  const cache = new Cache(store, RES, { byCfg: byLabel('cfg') });
  await store.create(RES, rev('a', 'one'));
  await cache.synced();
  const names = (cfg: string) =>
    cache
      .byIndex('byCfg', `ns/${cfg}`)
      .map((o) => o.metadata.name ?? '')
      .sort((a, b) => a.localeCompare(b));
  assert.deepEqual(names('one'), ['a']);
  await store.create(RES, rev('b', 'one'));
  await store.create(RES, rev('c', 'two'));
  await until(() => cache.size === 3);
  assert.deepEqual(names('one'), ['a', 'b']);
  assert.deepEqual(names('two'), ['c']);
  // b moves from one to two.
  const b = (await store.get(RES, 'ns', 'b'))!;
  await store.update(RES, { ...b, metadata: { ...b.metadata, labels: { cfg: 'two' } } });
  await until(() => names('two').length === 2);
  assert.deepEqual(names('one'), ['a']);
  assert.deepEqual(names('two'), ['b', 'c']);
  await store.delete(RES, 'ns', 'a');
  await until(() => cache.size === 2);
  assert.deepEqual(names('one'), []);
  assert.deepEqual(cache.indexValues('byCfg'), ['ns/two']);
  await store.delete(RES, 'ns', 'c');
  await until(() => cache.size === 1);
  assert.deepEqual(names('two'), ['b']);
  assert.deepEqual(
    cache.list('ns').map((o) => o.metadata.name),
    ['b'],
  );
  assert.equal(cache.get('ns', 'b')?.spec?.containers[0].image, 'img');
  cache.stop();
  await store.close();
});

test('cached objects come without managedFields; writing one back keeps the stored ones', async () => {
  const store = openMemoryStore();
  const cache = new Cache(store, RES);
  const managedFields = [{ manager: 'kubectl', operation: 'Update', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': {} } }];
  await store.create(RES, { ...rev('a', 'one'), metadata: { ...rev('a', 'one').metadata, managedFields } });
  await cache.synced();
  const cached = cache.get('ns', 'a')!;
  assert.equal(cached.metadata.managedFields, undefined);
  // The store still has them.
  assert.deepEqual((await store.get(RES, 'ns', 'a'))!.metadata.managedFields, managedFields);
  await store.update(RES, { ...cached, metadata: { ...cached.metadata, labels: { cfg: 'two' } } });
  await until(() => cache.get('ns', 'a')?.metadata.labels?.cfg === 'two');
  assert.deepEqual((await store.get(RES, 'ns', 'a'))!.metadata.managedFields, managedFields);
  cache.stop();
  await store.close();
});
