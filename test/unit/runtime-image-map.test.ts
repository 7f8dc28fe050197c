import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import {
  REST_API_IMAGE,
  defaultImageMappings,
  findImageMapping,
  isResolveError,
  loadImageMappings,
  resolveCommand,
  type ImageMapping,
} from '../../src/runtime/image-map.js';

const root = '/opt/sluice';

test('the walkthrough image maps to the Node rest-api example', () => {
  const r = resolveCommand({ image: REST_API_IMAGE }, defaultImageMappings(root));
  assert.ok(!isResolveError(r));
  assert.deepEqual(r.command, [process.execPath, path.join(root, 'dist/examples/rest-api/server.js')]);
  // Any other tag of the same image matches the prefix mapping.
  const v2 = resolveCommand({ image: 'registry.cn-hangzhou.aliyuncs.com/knative-sample/rest-api-go:v2' }, defaultImageMappings(root));
  assert.ok(!isResolveError(v2));
  assert.equal(v2.command[1], path.join(root, 'dist/examples/rest-api/server.js'));
});

test('command and args combine with a mapping the way Kubernetes combines them with an image', () => {
  const m: ImageMapping[] = [
    { image: 'example.com/app:v1', command: ['/bin/app'], args: ['--default'], env: { A: '1' }, workingDir: '/srv' },
  ];
  const neither = resolveCommand({ image: 'example.com/app:v1' }, m);
  assert.ok(!isResolveError(neither));
  assert.deepEqual(neither.command, ['/bin/app', '--default']);
  assert.deepEqual(neither.env, { A: '1' });
  assert.equal(neither.workingDir, '/srv');

  const argsOnly = resolveCommand({ image: 'example.com/app:v1', args: ['--x'] }, m);
  assert.ok(!isResolveError(argsOnly));
  assert.deepEqual(argsOnly.command, ['/bin/app', '--x'], "the container's args replace the mapping's args");

  const own = resolveCommand({ image: 'example.com/app:v1', command: ['node', 'other.js'], args: ['-v'], workingDir: '/w' }, m);
  assert.ok(!isResolveError(own));
  assert.deepEqual(own.command, ['node', 'other.js', '-v'], 'the container command wins');
  assert.equal(own.workingDir, '/w');

  const noImageNeeded = resolveCommand({ image: 'unmapped.example.com/x:1', command: ['node'] }, []);
  assert.ok(!isResolveError(noImageNeeded));
});

test('exact mappings beat patterns, and the longest pattern wins', () => {
  const m: ImageMapping[] = [
    { image: 'example.com/*', command: ['short'] },
    { image: 'example.com/app:*', command: ['long'] },
    { image: 'example.com/app:v1', command: ['exact'] },
  ];
  assert.equal(findImageMapping('example.com/app:v1', m)?.command[0], 'exact');
  assert.equal(findImageMapping('example.com/app:v2', m)?.command[0], 'long');
  assert.equal(findImageMapping('example.com/other', m)?.command[0], 'short');
  assert.equal(findImageMapping('elsewhere.com/app', m), undefined);
});

test('an unmapped image gives a clear error naming the image and the fix', () => {
  const r = resolveCommand({ image: 'gcr.io/knative-samples/helloworld-go' }, defaultImageMappings(root));
  assert.ok(isResolveError(r));
  assert.equal(r.error.reason, 'ImageNotMapped');
  assert.match(r.error.message, /gcr\.io\/knative-samples\/helloworld-go/);
  assert.match(r.error.message, /command/);
  assert.match(r.error.message, /image mappings file/);

  const none = resolveCommand({}, []);
  assert.ok(isResolveError(none));
  assert.equal(none.error.reason, 'NoCommand');
  const bad = resolveCommand({ command: 'node app.js' as unknown as string[] }, []);
  assert.ok(isResolveError(bad));
  assert.equal(bad.error.reason, 'InvalidCommand');
});

test('loadImageMappings reads YAML and JSON and explains bad files', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-images-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const yamlFile = path.join(dir, 'images.yaml');
  fs.writeFileSync(
    yamlFile,
    'images:\n  - image: example.com/app:*\n    command: [node, app.js]\n    args: ["--port", "$(PORT)"]\n    env: {MODE: fast}\n  - image: example.com/tool:v1\n    command: [/usr/bin/tool]\n    workingDir: sub\n',
  );
  const m = loadImageMappings(yamlFile);
  assert.equal(m.length, 2);
  assert.deepEqual(m[0].command, ['node', 'app.js']);
  assert.deepEqual(m[0].args, ['--port', '$(PORT)']);
  assert.deepEqual(m[0].env, { MODE: 'fast' });
  assert.equal(m[0].workingDir, dir, 'workingDir defaults to the mappings file directory');
  assert.equal(m[1].workingDir, path.join(dir, 'sub'));

  const jsonFile = path.join(dir, 'images.json');
  fs.writeFileSync(jsonFile, JSON.stringify({ images: [{ image: 'a/b:c', command: ['x'] }] }));
  assert.equal(loadImageMappings(jsonFile)[0].image, 'a/b:c');

  const cases: [string, string, RegExp][] = [
    ['missing.yaml', '', /cannot read image mappings file .*missing\.yaml: no such file/],
    ['broken.json', '{"images": [', /not valid JSON/],
    ['broken.yaml', 'images: [a, b\n', /not valid YAML/],
    ['noimages.yaml', 'foo: 1\n', /expected a top-level "images" list/],
    ['nocommand.yaml', 'images:\n  - image: x\n', /images\[0\]\.command must be a non-empty list of strings/],
    ['star.yaml', 'images:\n  - image: "a*b"\n    command: [x]\n', /only allowed at the end/],
    ['envnum.yaml', 'images:\n  - image: a\n    command: [x]\n    env: {N: 1}\n', /env\.N must be a string/],
    ['typo.yaml', 'images:\n  - image: a\n    command: [x]\n    cmd: [y]\n', /unknown field "cmd"/],
  ];
  for (const [name, text, re] of cases) {
    const file = path.join(dir, name);
    if (text) fs.writeFileSync(file, text);
    assert.throws(() => loadImageMappings(file), re, name);
  }
});
