// The reflector and informer of src/kube against Sluice's own API server over HTTPS (it serves
// paged lists, watches and 410 Gone like kube-apiserver): paging, live events, an API server that
// goes away and comes back with a newer history (watch → 410 → relist), and the KubeClient's
// Status → ApiError mapping.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ApiError } from '../../src/api/errors.js';
import { loadOrCreateServingCert } from '../../src/apiserver/certs.js';
import { writeKubeconfig } from '../../src/apiserver/kubeconfig.js';
import { createApiServer, type ApiServer } from '../../src/apiserver/server.js';
import { HttpKubeClient } from '../../src/kube/client.js';
import { Informer } from '../../src/kube/reflector.js';
import { T } from '../../src/kube/resources.js';
import { openSqliteStore } from '../../src/store/index.js';
import type { Store } from '../../src/store/store.js';
import { waitFor } from '../support/poll.js';

let dir: string;
let store: Store;
let server: ApiServer;
let port: number;
let client: HttpKubeClient;
const token = 'reflector-test-token';

async function startServer(listenPort: number): Promise<void> {
  store = openSqliteStore(join(dir, 'data'));
  const tls = await loadOrCreateServingCert(join(dir, 'data'));
  server = createApiServer({ store, token, tls, log: () => {} });
  port = await server.listen(listenPort, '127.0.0.1');
  writeKubeconfig(join(dir, 'kubeconfig'), { server: `https://127.0.0.1:${port}`, token, certificateAuthority: tls.cert });
}

async function stopServer(): Promise<void> {
  await server.close();
  await store.close();
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-reflector-'));
  await startServer(0);
  client = HttpKubeClient.fromOptions({ kubeconfig: join(dir, 'kubeconfig') });
});

after(async () => {
  await stopServer();
  rmSync(dir, { recursive: true, force: true });
});

const cm = (name: string, data: Record<string, string> = { k: 'v' }) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'default' },
  data,
});

test('KubeClient maps Status answers to ApiError and returns undefined for a missing object', async () => {
  assert.equal(await client.get(T.configmaps, 'default', 'nope'), undefined);
  await client.create(T.configmaps, cm('dup'));
  await assert.rejects(client.create(T.configmaps, cm('dup')), (e: unknown) => {
    assert.ok(e instanceof ApiError);
    assert.equal(e.reason, 'AlreadyExists');
    assert.equal(e.code, 409);
    assert.match(e.message, /"dup" already exists/);
    return true;
  });
  const got = await client.get(T.configmaps, 'default', 'dup');
  await assert.rejects(client.update(T.configmaps, { ...got!, metadata: { ...got!.metadata, resourceVersion: '1' } }), (e: unknown) => {
    assert.ok(e instanceof ApiError);
    assert.equal(e.reason, 'Conflict');
    return true;
  });
  await client.delete(T.configmaps, 'default', 'dup');
  assert.equal(await client.delete(T.configmaps, 'default', 'dup'), undefined);
});

test('an informer lists in pages, follows changes, and relists after the server comes back with a newer history', async () => {
  for (let i = 0; i < 7; i++) await client.create(T.configmaps, cm(`page-${i}`));
  const informer = new Informer(client, T.configmaps, {
    namespace: 'default',
    pageSize: 3,
    backoff: { initialMs: 50, maxMs: 400 },
  });
  const seen: string[] = [];
  informer.on({
    add: (o) => seen.push(`add ${o.metadata.name}`),
    update: (_old, o) => seen.push(`update ${o.metadata.name}`),
    delete: (o) => seen.push(`delete ${o.metadata.name}`),
  });
  informer.start();
  try {
    await informer.synced();
    assert.deepEqual(
      informer
        .list('default')
        .map((o) => o.metadata.name)
        .filter((n) => n!.startsWith('page-')),
      ['page-0', 'page-1', 'page-2', 'page-3', 'page-4', 'page-5', 'page-6'],
    );

    await client.create(T.configmaps, cm('live'));
    const live = await waitFor('the watch to deliver the new object', () => informer.get('default', 'live'));
    await client.update(T.configmaps, { ...live, data: { k: 'changed' } });
    await waitFor('the update', () => (informer.get('default', 'live') as any)?.data?.k === 'changed');
    await client.delete(T.configmaps, 'default', 'page-0');
    await waitFor('the delete', () => !informer.get('default', 'page-0'));
    assert.ok(seen.includes('update live') && seen.includes('delete page-0'), seen.join(', '));

    // The API server goes away; while it is down a change is made to its data, so when it
    // comes back its history starts after the informer's resourceVersion: the watch gets 410.
    const listsBefore = informer.reflector.stats.lists;
    const oldPort = port;
    await stopServer();
    const offline = openSqliteStore(join(dir, 'data'));
    await offline.create('configmaps', cm('while-down'));
    await offline.delete('configmaps', 'default', 'page-1');
    await offline.close();
    await startServer(oldPort);

    await waitFor('the relist after 410', () => informer.get('default', 'while-down') && !informer.get('default', 'page-1'), 20000);
    assert.ok(informer.reflector.stats.relistsOnGone >= 1, JSON.stringify(informer.reflector.stats));
    assert.ok(informer.reflector.stats.lists > listsBefore);
    assert.ok(seen.includes('add while-down') && seen.includes('delete page-1'), seen.join(', '));

    // And it keeps watching afterwards.
    await client.create(T.configmaps, cm('after-relist'));
    await waitFor('events after the relist', () => informer.get('default', 'after-relist'));
  } finally {
    await informer.stop();
  }
});
