// Server-side apply's pure parts: field sets in FieldsV1 form (keyed and set lists of ObjectMeta,
// atomic lists elsewhere), merging, conflicts with Kubernetes' message, removal of dropped fields,
// and updates taking ownership of what they change.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KObject } from '../../src/api/types.js';
import { fieldsOf, fromFieldsV1, mergeApplied, pathString, toFieldsV1 } from '../../src/apiserver/apply/fieldset.js';
import { serverSideApply, trackUpdate, type ManagerOptions } from '../../src/apiserver/apply/managed-fields.js';
import { ApiError } from '../../src/api/errors.js';

const obj = {
  metadata: { finalizers: ['a/b'], ownerReferences: [{ uid: 'u1', name: 'owner', kind: 'K', apiVersion: 'v1' }], labels: {} },
  spec: { containers: [{ image: 'x' }], n: 1 },
};

test('field sets: FieldsV1 encoding with set and keyed lists, atomic lists as one member', () => {
  const v1 = toFieldsV1(fieldsOf(obj));
  assert.deepEqual(v1, {
    'f:metadata': {
      'f:finalizers': { 'v:"a/b"': {} },
      'f:ownerReferences': {
        'k:{"uid":"u1"}': { '.': {}, 'f:uid': {}, 'f:name': {}, 'f:kind': {}, 'f:apiVersion': {} },
      },
      'f:labels': {},
    },
    'f:spec': { 'f:containers': {}, 'f:n': {} },
  });
  assert.deepEqual(fromFieldsV1(v1), fieldsOf(obj), 'round trip');
  assert.equal(pathString(['f:metadata', 'f:ownerReferences', 'k:{"uid":"u1"}']), '.metadata.ownerReferences[uid="u1"]');
  assert.equal(pathString(['f:metadata', 'f:finalizers', 'v:"a/b"']), '.metadata.finalizers[="a/b"]');
});

test('merge: maps by field, finalizers as a set, ownerReferences by uid, other lists replaced', () => {
  const merged = mergeApplied(obj, {
    metadata: { finalizers: ['c/d', 'a/b'], ownerReferences: [{ uid: 'u1', controller: true }] },
    spec: { containers: [{ image: 'y' }] },
  }) as any;
  assert.deepEqual(merged.metadata.finalizers, ['a/b', 'c/d']);
  assert.deepEqual(merged.metadata.ownerReferences, [{ uid: 'u1', name: 'owner', kind: 'K', apiVersion: 'v1', controller: true }]);
  assert.deepEqual(merged.spec, { containers: [{ image: 'y' }], n: 1 });
});

const opts = (manager: string, now = 0): ManagerOptions & { force: boolean } => ({
  manager,
  apiVersion: 'v1',
  hasStatus: false,
  now,
  force: false,
});
const cm = (data: Record<string, string>): KObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data });

test('conflicts: one line for one, grouped by manager for several; force moves ownership', () => {
  let live = serverSideApply(undefined, cm({ a: '1', b: '1' }), opts('alice'));
  trackUpdate(live, (live = { ...live, data: { a: '1', b: '1', c: '1' } }), opts('editor'));
  try {
    serverSideApply(live, cm({ a: '2', b: '2', c: '2' }), opts('bob'));
    assert.fail('expected a conflict');
  } catch (e) {
    assert.ok(e instanceof ApiError && e.code === 409);
    assert.equal(
      e.message,
      'Apply failed with 3 conflicts: conflicts with "alice":\n- .data.a\n- .data.b\nconflicts with "editor" using v1:\n- .data.c',
    );
    assert.deepEqual(
      e.details?.causes?.map((c) => c.field),
      ['.data.a', '.data.b', '.data.c'],
    );
  }
  const forced = serverSideApply(live, cm({ a: '2' }), { ...opts('bob'), force: true });
  const entries = forced.metadata.managedFields as any[];
  assert.deepEqual(entries.find((e) => e.manager === 'alice').fieldsV1, { 'f:data': { 'f:b': {} } });
  assert.deepEqual(entries.find((e) => e.manager === 'bob').fieldsV1, { 'f:data': { 'f:a': {} } });
});

test('a dropped field goes unless another manager owns it; an emptied map goes with it', () => {
  let live = serverSideApply(undefined, { ...cm({ a: '1' }), metadata: { name: 'c', labels: { x: 'y' } } }, opts('alice'));
  live = serverSideApply(live, cm({ a: '1', b: '1' }), opts('alice'));
  assert.equal(live.metadata.labels, undefined);
  live = serverSideApply(live, cm({ b: '1' }), opts('bob'));
  live = serverSideApply(live, cm({}), opts('alice'));
  assert.deepEqual(live.data, { b: '1' }, 'a was only alice’s; b is bob’s too');
});

test('an update owns what it adds or changes; what it removes is no one’s', () => {
  const created = cm({ a: '1', b: '1' });
  trackUpdate(undefined, created, opts('creator'));
  const next: KObject = { ...created, data: { a: '2' } };
  trackUpdate(created, next, opts('editor'));
  const entries = next.metadata.managedFields as any[];
  assert.deepEqual(entries.find((e) => e.manager === 'creator')?.fieldsV1, undefined);
  assert.deepEqual(entries.find((e) => e.manager === 'editor').fieldsV1, { 'f:data': { 'f:a': {} } });
  assert.equal(entries.length, 1);
});
