// The Store contract against the SQLite file store, plus what only a file gives: objects and
// resourceVersions survive reopening, and watch history does not (a watch from before is Gone).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { R } from '../../src/api/resources.js';
import { openSqliteStore } from '../../src/store/index.js';
import { storeContract } from './store.js';

storeContract('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-store-'));
  let store = openSqliteStore(dir, { watchHistory: 5 });
  return {
    get store() {
      return store;
    },
    namespace: 'contract',
    cleanup: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
    // Reopening the file forgets the history, as a restarted API server does.
    expireHistory: async () => {
      await store.close();
      store = openSqliteStore(dir, { watchHistory: 5 });
    },
  };
});

test('sqlite: objects and resourceVersions survive reopening the file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-store-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const svc = (name: string) => ({
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: { name, namespace: 'default' },
    spec: {},
  });
  let store = openSqliteStore(dir);
  const created = await store.create(R.services, svc('keep'));
  const rv = (await store.list(R.services)).resourceVersion;
  await store.close();
  store = openSqliteStore(dir);
  t.after(() => store.close());
  assert.deepEqual(await store.get(R.services, 'default', 'keep'), created);
  assert.equal((await store.list(R.services)).resourceVersion, rv);
  const next = await store.create(R.services, svc('next'));
  assert.ok(Number(next.metadata.resourceVersion) > Number(rv));
});
