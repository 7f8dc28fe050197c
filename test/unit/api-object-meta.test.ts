// apimachinery's input rules (src/api/object-meta.ts) as tables: names, label keys and values,
// annotations and their total size, ConfigMap keys, with Kubernetes' messages.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  isConfigMapKey,
  isDNS1123Label,
  isDNS1123Subdomain,
  isQualifiedName,
  isValidLabelValue,
  TOTAL_ANNOTATION_SIZE_LIMIT,
  validateAnnotations,
  validateConfigMap,
  validateLabels,
  validateObjectMeta,
} from '../../src/api/object-meta.js';
import { parseLabelSelector } from '../../src/apiserver/selectors.js';

/** Runs a rule over [input, expected message fragments ([] = valid)] rows. */
function table(rule: (v: string) => string[], rows: [string, string[]][]): void {
  for (const [input, want] of rows) {
    const got = rule(input);
    assert.equal(got.length, want.length, `${JSON.stringify(input)}: ${JSON.stringify(got)}`);
    want.forEach((w, i) => assert.ok(got[i].includes(w), `${JSON.stringify(input)}: ${got[i]} lacks ${w}`));
  }
}

test('DNS-1123 labels and subdomains', () => {
  table(isDNS1123Label, [
    ['my-name', []],
    ['123-abc', []],
    ['a'.repeat(63), []],
    ['a'.repeat(64), ['must be no more than 63 characters']],
    ['My-Name', ["a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-'"]],
    ['-a', ["regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?'"]],
    ['a.b', ['RFC 1123 label']],
  ]);
  table(isDNS1123Subdomain, [
    ['example.com', []],
    ['a-b.c', []],
    [`${'a'.repeat(250)}.com`, ['must be no more than 253 characters']],
    ['a..b', ["a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'"]],
    ['a_b', ['RFC 1123 subdomain']],
  ]);
});

test('qualified names (label and annotation keys)', () => {
  table(isQualifiedName, [
    ['app', []],
    ['serving.knative.dev/service', []],
    ['My_Key.1', []],
    ['a'.repeat(63), []],
    ['a'.repeat(64), ['name part must be no more than 63 characters']],
    ['/app', ['prefix part must be non-empty']],
    ['Example.com/app', ['prefix part a lowercase RFC 1123 subdomain']],
    ['example.com/', ['name part must be non-empty']],
    ['a/b/c', ["a qualified name must consist of alphanumeric characters, '-', '_' or '.'"]],
    ['bad key', ["name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric"]],
    ['-x', ["regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]'"]],
  ]);
});

test('label values', () => {
  table(isValidLabelValue, [
    ['', []],
    ['v1', []],
    ['my_value.1-2', []],
    ['a'.repeat(63), []],
    ['a'.repeat(64), ['must be no more than 63 characters']],
    ['a b', ['a valid label must be an empty string or consist of alphanumeric characters']],
    ['x\u0000', ['a valid label']],
    ['-a', ["regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?'"]],
  ]);
});

test('ConfigMap keys', () => {
  table(isConfigMapKey, [
    ['key.name', []],
    ['KEY_NAME', []],
    ['.env', []],
    ['a/b', ["a valid config key must consist of alphanumeric characters, '-', '_' or '.'"]],
    ['', ['a valid config key']],
    ['.', ["must not be '.'"]],
    ['..', ["must not be '..'"]],
    ['..x', ["must not start with '..'"]],
    ['k'.repeat(254), ['must be no more than 253 characters']],
  ]);
});

test('labels, annotations and ObjectMeta as field errors with the Invalid value quoted', () => {
  assert.deepEqual(validateLabels({ app: 'x'.repeat(64) }), [
    { field: 'metadata.labels', message: `Invalid value: "${'x'.repeat(64)}": must be no more than 63 characters` },
  ]);
  assert.equal(validateLabels({ 'bad key': 'v' })[0].message.startsWith('Invalid value: "bad key": name part must consist'), true);
  assert.deepEqual(validateLabels({ ok: 'fine', 'a.b/c': '' }), []);
  // Annotation values may be anything; keys are qualified names (checked lowercased).
  assert.deepEqual(validateAnnotations({ 'Example.COM/Key': 'any value at all: \n\t!' }), []);
  assert.equal(validateAnnotations({ 'a b': 'x' }).length, 1);
  const half = 'v'.repeat(TOTAL_ANNOTATION_SIZE_LIMIT / 2);
  assert.deepEqual(validateAnnotations({ a: half, b: half.slice(2) }), []);
  assert.deepEqual(validateAnnotations({ a: half, b: half }), [
    { field: 'metadata.annotations', message: 'Too long: must have at most 262144 bytes' },
  ]);
  assert.deepEqual(
    validateObjectMeta({ name: 'Bad_Name' }, 'dns1123-subdomain').map((e) => e.field),
    ['metadata.name'],
  );
  assert.deepEqual(
    validateObjectMeta({ name: 'a.b' }, 'dns1123-label').map((e) => e.field),
    ['metadata.name'],
  );
  assert.deepEqual(validateObjectMeta({ generateName: 'web-' }, 'dns1123-label'), []);
  assert.match(
    validateObjectMeta({ generateName: 'Web-' }, 'dns1123-label')[0].message,
    /^Invalid value: "Web-": a lowercase RFC 1123 label/,
  );
  // On update the stored name is not re-checked, the labels are.
  assert.deepEqual(validateObjectMeta({ name: 'Legacy', labels: { a: 'b' } }, 'dns1123-subdomain', { update: true }), []);
  assert.equal(validateObjectMeta({ name: 'ok', labels: { a: '-' } }, 'dns1123-subdomain', { update: true }).length, 1);
});

test('ConfigMap objects: keys in data and binaryData, duplicates, 1 MiB in all', () => {
  assert.deepEqual(validateConfigMap({ data: { 'a.b': 'x' }, binaryData: { c: 'AAAA' } }), []);
  assert.deepEqual(
    validateConfigMap({ data: { 'a b': 'x' } }).map((e) => e.field),
    ['data[a b]'],
  );
  assert.match(validateConfigMap({ data: { k: 'x' }, binaryData: { k: 'AAAA' } })[0].message, /duplicate of key present in data/);
  assert.deepEqual(validateConfigMap({ data: { k: 'x'.repeat(1024 * 1024 + 1) } }), [
    { field: 'data', message: 'Too long: must have at most 1048576 bytes' },
  ]);
});

test('label selectors: "a in ()" means a in (""), as apimachinery parses it', () => {
  assert.deepEqual(parseLabelSelector('a in ()'), [{ key: 'a', op: 'in', values: [''] }]);
  assert.throws(() => parseLabelSelector('a in (x y)'), /unable to parse requirement/);
});
