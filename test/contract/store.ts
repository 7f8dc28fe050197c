// The Store contract, as one suite every implementation runs (SQLite, memory, and the
// Kubernetes-API store): identity on create, generation bumped by spec changes only, no-op
// writes that keep their resourceVersion, 409 on a stale resourceVersion, the status
// subresource, per-resource watches that start with the current objects or from a
// resourceVersion, the synced barrier, and 410 past the history.
//
// storeContract(name, factory) registers the tests; `factory` gives a fresh, empty store and a
// cleanup. A factory may keep the objects elsewhere (a cluster): the suite uses its own namespace
// and names, and only counts what it created.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { R } from '../../src/api/resources.js';
import type { KObject } from '../../src/api/types.js';
import type { Store, WatchEvent } from '../../src/store/store.js';
import { waitFor } from '../support/poll.js';

export interface StoreUnderTest {
  store: Store;
  /** Namespace the suite may use (created by the factory if the store needs it). */
  namespace: string;
  cleanup: () => Promise<void>;
  /**
   * Makes the store forget its watch history (e.g. by writing past it); undefined when the
   * implementation cannot be made to, and the 410 test is skipped.
   */
  expireHistory?: () => Promise<void>;
}

export type StoreFactory = () => Promise<StoreUnderTest>;

const svc = (namespace: string, name: string, image = 'a', labels?: Record<string, string>): KObject => ({
  apiVersion: 'serving.knative.dev/v1',
  kind: 'Service',
  metadata: { name, namespace, ...(labels ? { labels } : {}) },
  spec: { template: { spec: { containers: [{ image }] } } },
});

const names = (events: WatchEvent[]) => events.map((e) => `${e.type} ${e.object.metadata.name}`);

export function storeContract(label: string, factory: StoreFactory): void {
  const withStore = (name: string, fn: (s: StoreUnderTest) => Promise<void>): void => {
    void test(`${label}: ${name}`, async (t) => {
      const s = await factory();
      t.after(() => s.cleanup());
      await fn(s);
    });
  };

  withStore('create assigns identity and generation 1; a second create is AlreadyExists', async ({ store, namespace: ns }) => {
    const a = await store.create(R.services, svc(ns, 'a'));
    assert.ok(a.metadata.uid);
    assert.ok(a.metadata.creationTimestamp);
    assert.ok(a.metadata.resourceVersion);
    assert.equal(a.metadata.generation, 1);
    await assert.rejects(store.create(R.services, svc(ns, 'a')), (e: { code?: number; message?: string }) => {
      return e.code === 409 && /services.serving.knative.dev "a" already exists/.test(e.message ?? '');
    });
    assert.deepEqual(await store.get(R.services, ns, 'a'), a);
    assert.equal(await store.get(R.services, ns, 'missing'), undefined);
  });

  withStore(
    'spec changes bump generation; a no-op update keeps resourceVersion; stale writes conflict',
    async ({ store, namespace: ns }) => {
      const a = await store.create(R.services, svc(ns, 'a'));
      const b = await store.update(R.services, { ...a, spec: { template: { spec: { containers: [{ image: 'b' }] } } } });
      assert.equal(b.metadata.generation, 2);
      assert.notEqual(b.metadata.resourceVersion, a.metadata.resourceVersion);
      assert.equal(b.metadata.uid, a.metadata.uid);
      assert.equal(b.metadata.creationTimestamp, a.metadata.creationTimestamp);

      const labelled = await store.update(R.services, { ...b, metadata: { ...b.metadata, labels: { x: 'y' } } });
      assert.equal(labelled.metadata.generation, 2, 'metadata changes leave generation alone');

      const same = await store.update(R.services, labelled);
      assert.equal(same.metadata.resourceVersion, labelled.metadata.resourceVersion);

      await assert.rejects(store.update(R.services, a), (e: { code?: number; message?: string }) => {
        return e.code === 409 && /has been modified/.test(e.message ?? '');
      });
      await assert.rejects(store.update(R.services, svc(ns, 'missing')), (e: { code?: number }) => e.code === 404);
    },
  );

  withStore(
    'an update that leaves managedFields out keeps the stored ones (as controllers writing from caches do)',
    async ({ store, namespace: ns }) => {
      // A store behind an API server tracks fields itself (the creator owns what it created), so the
      // entries are compared by manager: none may go missing.
      const given = {
        manager: 'contract-test',
        operation: 'Update',
        apiVersion: 'serving.knative.dev/v1',
        fieldsType: 'FieldsV1',
        fieldsV1: { 'f:metadata': { 'f:labels': { 'f:team': {} } } },
      };
      const base = svc(ns, 'mf', 'a', { team: 'x' });
      const a = await store.create(R.services, { ...base, metadata: { ...base.metadata, managedFields: [given] } });
      const managers = (o: KObject) => ((o.metadata.managedFields ?? []) as { manager: string }[]).map((e) => e.manager).sort();
      assert.ok(managers(a).length > 0, 'the created object has managedFields');
      const { managedFields: _, ...metadata } = a.metadata;
      const b = await store.update(R.services, { ...a, metadata: { ...metadata, labels: { team: 'x', tier: 'web' } } });
      assert.equal(b.metadata.labels?.tier, 'web');
      for (const m of managers(a)) assert.ok(managers(b).includes(m), `${m} still in ${managers(b).join(', ')}`);
      const stored = (await store.get(R.services, ns, 'mf'))!;
      for (const m of managers(a)) assert.ok(managers(stored).includes(m), `${m} still stored`);
    },
  );

  withStore('status goes through the subresource only, and leaves generation alone', async ({ store, namespace: ns }) => {
    const a = await store.create(R.services, svc(ns, 'a'));
    const s = await store.update(R.services, { ...a, status: { observedGeneration: 1 } }, { subresource: 'status' });
    assert.equal(s.metadata.generation, 1);
    assert.deepEqual(s.status, { observedGeneration: 1 });
    const ignored = await store.update(R.services, { ...s, status: { observedGeneration: 7 } });
    assert.deepEqual(ignored.status, { observedGeneration: 1 });
    const specKept = await store.update(
      R.services,
      { ...s, spec: { bogus: true }, status: { observedGeneration: 2 } },
      { subresource: 'status' },
    );
    assert.deepEqual(specKept.spec, a.spec);
  });

  withStore('list is per namespace or all, sorted; delete returns the object and NotFound after', async ({ store, namespace: ns }) => {
    const other = `${ns}-other`;
    for (const n of ['b', 'a', 'c']) await store.create(R.services, svc(ns, n));
    await store.create(R.services, svc(other, 'a'));
    const listed = await store.list(R.services, ns);
    assert.deepEqual(
      listed.items.map((o) => o.metadata.name),
      ['a', 'b', 'c'],
    );
    assert.ok(listed.resourceVersion);
    const all = (await store.list(R.services)).items.filter((o) => [ns, other].includes(o.metadata.namespace!));
    assert.deepEqual(
      all.map((o) => `${o.metadata.namespace}/${o.metadata.name}`),
      [`${ns}/a`, `${ns}/b`, `${ns}/c`, `${other}/a`],
    );
    const gone = await store.delete(R.services, ns, 'b');
    assert.equal(gone.metadata.name, 'b');
    await assert.rejects(store.delete(R.services, ns, 'b'), (e: { code?: number }) => e.code === 404);
    assert.equal(await store.get(R.services, ns, 'b'), undefined);
    await store.delete(R.services, other, 'a');
  });

  withStore(
    'a watch without resourceVersion starts with the objects as ADDED, then synced, then live events',
    async ({ store, namespace: ns }) => {
      await store.create(R.services, svc(ns, 'one'));
      await store.create(R.services, svc(ns, 'two'));
      const seen: WatchEvent[] = [];
      let syncedAfter = -1;
      const stop = await store.watch(
        R.services,
        { namespace: ns },
        {
          onEvent: (e) => seen.push(e),
          onSynced: () => (syncedAfter = seen.length),
        },
      );
      await waitFor('synced', () => syncedAfter >= 0);
      assert.deepEqual(names(seen.slice(0, syncedAfter)), ['ADDED one', 'ADDED two']);
      const one = await store.get(R.services, ns, 'one');
      await store.update(R.services, { ...one!, metadata: { ...one!.metadata, labels: { v: '2' } } });
      await store.delete(R.services, ns, 'two');
      await waitFor('live events', () => seen.length >= 4);
      stop();
      // A second watcher is the barrier: once it has seen the next write, the stopped one would have too.
      const barrier: WatchEvent[] = [];
      const stopBarrier = await store.watch(
        R.services,
        { namespace: ns, resourceVersion: (await store.list(R.services, ns)).resourceVersion },
        { onEvent: (e) => barrier.push(e) },
      );
      await store.create(R.services, svc(ns, 'after-stop'));
      await waitFor('the barrier watcher', () => barrier.length > 0);
      stopBarrier();
      assert.deepEqual(names(seen), ['ADDED one', 'ADDED two', 'MODIFIED one', 'DELETED two']);
      assert.equal(seen[2].object.metadata.labels?.v, '2');
    },
  );

  withStore(
    'a watch from a list resourceVersion sees exactly the changes after it, of its own resource only',
    async ({ store, namespace: ns }) => {
      await store.create(R.services, svc(ns, 'one'));
      const listed = await store.list(R.services, ns);
      const seen: WatchEvent[] = [];
      let synced = false;
      const stop = await store.watch(
        R.services,
        { resourceVersion: listed.resourceVersion, namespace: ns },
        {
          onEvent: (e) => seen.push(e),
          onSynced: () => (synced = true),
        },
      );
      await store.create(R.configurations, { ...svc(ns, 'not-a-service'), kind: 'Configuration' });
      await store.create(R.services, svc(ns, 'two'));
      await store.delete(R.services, ns, 'one');
      await waitFor('events after the list', () => seen.length >= 2 && synced);
      stop();
      assert.deepEqual(names(seen), ['ADDED two', 'DELETED one']);
    },
  );

  withStore(
    'a list page holds the objects after its start, at most its limit, and how many follow (or every object)',
    async ({ store, namespace: ns }) => {
      const other = `${ns}-paged`;
      for (const n of ['d', 'b', 'a', 'c']) await store.create(R.services, svc(ns, n));
      await store.create(R.services, svc(other, 'a'));
      const page = await store.list(R.services, ns, { after: { namespace: ns, name: 'a' }, limit: 2 });
      const names = page.items.map((o) => o.metadata.name);
      if (page.remaining === undefined) {
        // A store may ignore the page: then it is the whole list.
        assert.deepEqual(names, ['a', 'b', 'c', 'd']);
      } else {
        assert.deepEqual(names, ['b', 'c']);
        assert.equal(page.remaining, 1);
      }
      // Across namespaces, in namespace then name order, from the middle of one namespace into the next.
      const across = await store.list(R.services, undefined, { after: { namespace: ns, name: 'c' }, limit: 100 });
      if (across.remaining !== undefined) {
        const keys = across.items.map((o) => `${o.metadata.namespace}/${o.metadata.name}`);
        assert.ok(keys.indexOf(`${ns}/d`) >= 0 && keys.indexOf(`${ns}/d`) < keys.indexOf(`${other}/a`), keys.join(' '));
        assert.ok(!keys.includes(`${ns}/c`) && !keys.includes(`${ns}/a`));
        assert.equal(across.remaining, 0);
      }
    },
  );

  withStore('a watch from an object resourceVersion replays what came after it', async ({ store, namespace: ns }) => {
    const first = await store.create(R.services, svc(ns, 'one'));
    await store.create(R.services, svc(ns, 'two'));
    const seen: WatchEvent[] = [];
    const stop = await store.watch(
      R.services,
      { resourceVersion: first.metadata.resourceVersion, namespace: ns },
      { onEvent: (e) => seen.push(e) },
    );
    await store.delete(R.services, ns, 'one');
    await waitFor('replay and live', () => seen.length >= 2);
    stop();
    assert.deepEqual(names(seen), ['ADDED two', 'DELETED one']);
  });

  withStore('a non-numeric resourceVersion is BadRequest', async ({ store }) => {
    await assert.rejects(
      store.watch(R.services, { resourceVersion: 'abc' }, { onEvent: () => {} }),
      (e: { code?: number }) => e.code === 400,
    );
  });

  withStore('a watch from before the history kept is Gone', async (s) => {
    if (!s.expireHistory) return;
    const first = await s.store.create(R.services, svc(s.namespace, 'early'));
    await s.store.create(R.services, svc(s.namespace, 'later'));
    await s.expireHistory();
    await assert.rejects(
      s.store.watch(R.services, { resourceVersion: first.metadata.resourceVersion }, { onEvent: () => {} }),
      (e: { code?: number; message?: string }) => e.code === 410 && /too old resource version/.test(e.message ?? ''),
    );
  });

  withStore('objects returned cannot change what is stored', async ({ store, namespace: ns }) => {
    const a = await store.create(R.services, svc(ns, 'a'));
    a.metadata.labels = { changed: 'yes' };
    const got = await store.get(R.services, ns, 'a');
    assert.equal(got?.metadata.labels, undefined);
    got!.spec = { template: { spec: { containers: [{ image: 'mutated' }] } } };
    assert.deepEqual((await store.get(R.services, ns, 'a'))?.spec, svc(ns, 'a').spec);
  });
}
