// The caches' string table: values are unchanged by interning, nested objects and arrays included,
// and the tables stay bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Interner } from '../../src/store/intern.js';

test('interning leaves every value as it was, at any depth', () => {
  const t = new Interner();
  const make = () => ({
    apiVersion: 'serving.knative.dev/v1',
    metadata: { name: 'a', labels: { app: 'x' }, annotations: { big: 'y'.repeat(5000) } },
    spec: { containers: [{ image: 'img', args: ['a', 'b'], env: [{ name: 'N', value: '1' }] }], n: 3, flag: true, none: null },
    status: { conditions: [{ type: 'Ready', status: 'True' }] },
  });
  const a = make();
  const b = make();
  t.internAll(a);
  t.internAll(b);
  assert.deepEqual(a, make());
  assert.deepEqual(b, make());
  assert.equal(t.intern('Ready'), 'Ready');
});

test('the tables start afresh when full, and very long strings are passed through', () => {
  const t = new Interner(3, 10_000);
  for (let i = 0; i < 10; i++) assert.equal(t.intern(`s${i}`), `s${i}`);
  for (let i = 0; i < 5; i++) assert.equal(t.intern(String(i).repeat(4000)), String(i).repeat(4000));
  const huge = 'z'.repeat(20_000);
  assert.equal(t.intern(huge), huge);
});
