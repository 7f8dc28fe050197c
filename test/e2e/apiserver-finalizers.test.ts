// Finalizers and cascading deletes with the stock kubectl: a finalizer holds a delete (the object
// is marked with deletionTimestamp, `kubectl delete` waits) until it is cleared; no finalizer may
// be added meanwhile; --cascade=foreground|background|orphan as on Kubernetes.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { waitFor } from '../support/poll.js';
import { KUBECTL, useHarness } from '../support/apiserver-harness.js';

const suite = useHarness();
const ok = suite.ok;

const HOLD = 'example.com/hold';

async function makeCm(name: string, opts: { finalizers?: string[]; owner?: any } = {}): Promise<any> {
  const metadata: any = { name };
  if (opts.finalizers) metadata.finalizers = opts.finalizers;
  if (opts.owner) {
    metadata.ownerReferences = [
      { apiVersion: 'v1', kind: 'ConfigMap', name: opts.owner.metadata.name, uid: opts.owner.metadata.uid, blockOwnerDeletion: true },
    ];
  }
  await ok(['create', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata, data: { k: 'v' } }));
  return JSON.parse(await ok(['get', 'cm', name, '-o', 'json']));
}

const exists = async (name: string) => {
  const r = await suite.h.kubectl(['get', 'cm', name, '-o', 'json']);
  if (r.code === 0) return JSON.parse(r.stdout);
  assert.match(r.stderr, /NotFound|not found/);
  return undefined;
};

const release = (name: string) => ok(['patch', 'cm', name, '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);

test('a finalizer holds a delete: marked, not removed; no new finalizers; gone once cleared', async () => {
  await makeCm('held', { finalizers: [HOLD] });
  assert.match(await ok(['delete', 'cm', 'held', '--wait=false']), /configmap "held" deleted/);
  const marked = await exists('held');
  assert.ok(marked, 'still there');
  assert.ok(marked.metadata.deletionTimestamp);
  assert.equal(marked.metadata.deletionGracePeriodSeconds, 0);
  assert.deepEqual(marked.metadata.finalizers, [HOLD]);

  const add = await suite.h.kubectl([
    'patch',
    'cm',
    'held',
    '--type=json',
    '-p',
    '[{"op":"add","path":"/metadata/finalizers/-","value":"x.io/more"}]',
  ]);
  assert.notEqual(add.code, 0);
  assert.match(add.stderr, /no new finalizers can be added if the object is being deleted/);

  // Other updates still work while it waits.
  await ok(['label', 'cm', 'held', 'phase=closing']);
  await release('held');
  assert.equal(await exists('held'), undefined);
});

test('kubectl delete waits for the finalizer and returns when it is cleared', async () => {
  await makeCm('waited', { finalizers: [HOLD] });
  const child = spawn(KUBECTL, ['delete', 'cm', 'waited', '--timeout=30s'], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin',
      HOME: suite.h.dir,
      KUBECONFIG: suite.h.kubeconfig,
      KUBECACHEDIR: `${suite.h.dir}/kube-cache`,
    },
  });
  let exited: number | null | undefined;
  child.on('exit', (code) => (exited = code));
  try {
    await waitFor('the object to be marked', async () => (await exists('waited'))?.metadata.deletionTimestamp);
    assert.equal(exited, undefined, 'kubectl is still waiting');
    await release('waited');
    await waitFor('kubectl delete to return', () => exited !== undefined);
    assert.equal(exited, 0);
  } finally {
    child.kill();
  }
});

test('--cascade=foreground: the owner waits for its blocking dependents', async () => {
  const owner = await makeCm('fg-owner');
  await makeCm('fg-child', { owner, finalizers: [HOLD] });
  await ok(['delete', 'cm', 'fg-owner', '--cascade=foreground', '--wait=false']);
  const o = await exists('fg-owner');
  assert.deepEqual(o.metadata.finalizers, ['foregroundDeletion']);
  assert.ok(o.metadata.deletionTimestamp);
  assert.ok((await exists('fg-child')).metadata.deletionTimestamp, 'the dependent is being deleted');
  await release('fg-child');
  assert.equal(await exists('fg-child'), undefined);
  assert.equal(await exists('fg-owner'), undefined, 'the owner went when its last dependent did');
});

test('--cascade=background deletes dependents; --cascade=orphan keeps them without the reference', async () => {
  const bg = await makeCm('bg-owner');
  await makeCm('bg-child', { owner: bg });
  await ok(['delete', 'cm', 'bg-owner', '--cascade=background']);
  assert.equal(await exists('bg-child'), undefined);

  const orphanOwner = await makeCm('or-owner');
  await makeCm('or-child', { owner: orphanOwner });
  await ok(['delete', 'cm', 'or-owner', '--cascade=orphan']);
  assert.equal(await exists('or-owner'), undefined);
  const child = await exists('or-child');
  assert.ok(child, 'the dependent stays');
  assert.equal(child.metadata.ownerReferences, undefined);
});
