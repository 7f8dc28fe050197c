// config/ holds the CRDs generated from the registry and schemas; this fails when someone changes
// a kind (a printer column, a field, a short name) without regenerating them (npm run gen:config).
// It also checks the CRDs' shape against what kube-apiserver demands of a structural schema.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { isBuiltIn, KINDS } from '../../src/api/registry.js';
import { crds } from '../../src/kube/install/crds.js';
import { generatedConfig } from '../../src/kube/install/manifests.js';

const root = join(import.meta.dirname, '..', '..', '..');

test('the generated files in config/ are up to date (npm run gen:config)', () => {
  for (const [file, text] of Object.entries(generatedConfig())) {
    const onDisk = readFileSync(join(root, 'config', file), 'utf8');
    assert.ok(onDisk === text, `config/${file} is out of date: run npm run gen:config`);
  }
});

test('one CRD per Knative kind with its names, printer columns and status subresource', () => {
  const docs = parseAllDocuments(readFileSync(join(root, 'config', '300-crds.yaml'), 'utf8')).map((d) => d.toJS());
  const byName = new Map(docs.map((d) => [d.metadata.name, d]));
  for (const k of KINDS.filter((x) => !isBuiltIn(x))) {
    const crd = byName.get(`${k.plural}.${k.group}`);
    assert.ok(crd, `${k.plural}.${k.group}`);
    assert.deepEqual(crd.spec.names.shortNames, k.shortNames);
    assert.deepEqual(crd.spec.names.categories, k.categories);
    const stored = crd.spec.versions.filter((v: any) => v.storage);
    assert.deepEqual(
      stored.map((v: any) => v.name),
      [k.storageVersion],
    );
    for (const v of crd.spec.versions) {
      assert.deepEqual(v.subresources, { status: {} });
      assert.deepEqual(
        v.additionalPrinterColumns.map((c: any) => c.name),
        [...k.columns.map((c) => c.name), 'Age'],
      );
    }
  }
  assert.equal(byName.get('services.serving.knative.dev').spec.versions[0].name, 'v1');
});

test('the schemas are structural: every node typed, top-level metadata only an object', () => {
  const untyped: string[] = [];
  const walk = (s: any, path: string) => {
    if (s['x-kubernetes-int-or-string']) return;
    if (!s.type) untyped.push(path);
    if (s.type === 'object' && s.properties && s.additionalProperties) untyped.push(`${path} (properties and additionalProperties)`);
    for (const [k, v] of Object.entries(s.properties ?? {})) walk(v, `${path}.${k}`);
    if (s.additionalProperties) walk(s.additionalProperties, `${path}[*]`);
    if (s.items) walk(s.items, `${path}[]`);
  };
  for (const crd of crds()) {
    const schema = (crd.spec as any).versions[0].schema.openAPIV3Schema;
    assert.deepEqual(schema.properties.metadata, { type: 'object' });
    walk(schema, crd.metadata.name);
  }
  assert.deepEqual(untyped, []);
});
