// The API server under hostile or careless input: bodies nested too deep (the YAML that used to
// kill the process in two requests), uploads over the size limit (the 413 must reach kubectl,
// also before `100 Continue`), clients that trickle their headers, and dot segments hidden in
// percent-encoding.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { startHarness, type Harness } from '../support/apiserver-harness.js';

const CM = '/api/v1/namespaces/default/configmaps';
const SVC = '/apis/serving.knative.dev/v1/namespaces/default/services';

let h: Harness;
before(async () => {
  h = await startHarness({ timeouts: { headersTimeoutMs: 600 } });
});
after(async () => {
  await h?.stop();
});

function assertStatus(r: { status: number; body: string }, code: number, message?: RegExp): void {
  assert.equal(r.status, code, r.body);
  const s = JSON.parse(r.body);
  assert.equal(s.kind, 'Status');
  assert.equal(s.code, code);
  if (message) assert.match(s.message, message);
}

const DEPTH_LIMIT = /nested deeper than 100 levels/;

test('ten thousand nested [ in YAML, sent again and again, are a 400 and the server lives on', async () => {
  const body = '['.repeat(10_000) + ']'.repeat(10_000);
  for (let i = 0; i < 3; i++) {
    assertStatus(await h.http('POST', CM, { body, contentType: 'application/yaml' }), 400, DEPTH_LIMIT);
    assertStatus(await h.http('POST', SVC, { body, contentType: 'application/yaml' }), 400, DEPTH_LIMIT);
  }
  // Block-style nesting (indentation, "- - -") is measured as well.
  assertStatus(await h.http('POST', CM, { body: '- '.repeat(5000) + 'x\n', contentType: 'application/yaml' }), 400, DEPTH_LIMIT);
  assert.equal((await h.http('GET', CM)).status, 200);
});

test('every patch type and every write refuses a body nested past the limit, and a patch that would nest too deep', async () => {
  const created = await h.http('POST', CM, {
    body: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'deep' }, data: { a: 'b' } }),
    contentType: 'application/json',
  });
  assert.equal(created.status, 201, created.body);
  const deepJson = '{"a":'.repeat(150) + '1' + '}'.repeat(150);
  const deepYaml = '['.repeat(5000) + ']'.repeat(5000);
  const cases: [string, string, string, string][] = [
    ['POST', CM, 'application/json', deepJson],
    ['PUT', `${CM}/deep`, 'application/json', deepJson],
    ['PUT', `${CM}/deep`, 'application/yaml', deepYaml],
    ['PATCH', `${CM}/deep`, 'application/merge-patch+json', deepJson],
    ['PATCH', `${CM}/deep`, 'application/strategic-merge-patch+json', deepJson],
    ['PATCH', `${CM}/deep`, 'application/json-patch+json', `[{"op":"add","path":"/data/x","value":${deepJson}}]`],
    ['PATCH', `${CM}/deep`, 'application/apply-patch+yaml', deepYaml],
    ['PATCH', `${SVC}/x`, 'application/merge-patch+json', deepJson],
    ['DELETE', `${CM}/deep`, 'application/json', deepJson],
  ];
  for (const [method, path, contentType, body] of cases) {
    assertStatus(await h.http(method, path, { body, contentType }), 400, DEPTH_LIMIT);
  }
  // The patch itself is within the limit, but added under metadata.annotations the result is not.
  const annotated = await h.http('PATCH', `${CM}/deep`, {
    body: JSON.stringify({ metadata: { annotations: { a: 'b' } } }),
    contentType: 'application/merge-patch+json',
  });
  assert.equal(annotated.status, 200, annotated.body);
  let value: unknown = 'leaf';
  for (let i = 0; i < 98; i++) value = { n: value };
  const r2 = await h.http('PATCH', `${CM}/deep`, {
    body: JSON.stringify([{ op: 'add', path: '/metadata/annotations/x', value }]),
    contentType: 'application/json-patch+json',
  });
  assertStatus(r2, 400, DEPTH_LIMIT);
});

test('strategic merge refuses unknown $patch directives, as apimachinery does', async () => {
  await h.http('POST', CM, {
    body: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'smp' }, data: { a: 'b' } }),
    contentType: 'application/json',
  });
  const r = await h.http('PATCH', `${CM}/smp`, {
    body: JSON.stringify({ data: { $patch: 'explode', a: 'c' } }),
    contentType: 'application/strategic-merge-patch+json',
  });
  assertStatus(r, 400, /unknown patch type: explode in map: map\[\$patch:explode a:c\]/);
  const ok = await h.http('PATCH', `${CM}/smp`, {
    body: JSON.stringify({ data: { $patch: 'replace', z: '1' } }),
    contentType: 'application/strategic-merge-patch+json',
  });
  assert.equal(ok.status, 200, ok.body);
  assert.deepEqual(JSON.parse(ok.body).data, { z: '1' });
});

test('kubectl create configmap --from-file with a file over 3 MiB prints Request entity too large, every time', async () => {
  const file = join(h.dir, 'big.bin');
  writeFileSync(file, 'x'.repeat(10 * 1024 * 1024));
  for (let i = 0; i < 6; i++) {
    const r = await h.kubectl(['create', 'configmap', `big-${i}`, `--from-file=${file}`]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Request entity too large/, r.stderr);
  }
  assert.equal((await h.http('GET', `${CM}/big-0`)).status, 404);
});

/** Opens a raw TLS connection to the API server. */
function rawConnect(): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port: h.port, ca: h.ca, servername: 'localhost' }, () => resolve(s));
    s.on('error', reject);
  });
}

/** Everything the server sends until it closes the connection (or `until` matches). */
function readAll(s: TLSSocket, until?: RegExp): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    s.on('data', (c: Buffer) => {
      text += c.toString('utf8');
      if (until?.test(text)) resolve(text);
    });
    s.on('close', () => resolve(text));
    s.on('error', () => resolve(text));
  });
}

test('Expect: 100-continue with a Content-Length over the limit gets the 413 instead of 100 Continue', async () => {
  const s = await rawConnect();
  const answer = readAll(s, /\r\n\r\n\{.*\}$/s);
  s.write(
    `POST ${CM} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${h.token}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${10 * 1024 * 1024}\r\nExpect: 100-continue\r\n\r\n`,
  );
  const text = await answer;
  s.destroy();
  assert.doesNotMatch(text, /100 Continue/);
  assert.match(text, /^HTTP\/1\.1 413 /);
  assert.match(text, /Request entity too large: limit is 3145728/);
  // A body within the limit still gets its 100 Continue and is created.
  const s2 = await rawConnect();
  const body = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'continued' } });
  const continued = readAll(s2, /100 Continue\r\n\r\n/);
  s2.write(
    `POST ${CM} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${h.token}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${body.length}\r\nExpect: 100-continue\r\n\r\n`,
  );
  await continued;
  const created = readAll(s2, /"name":"continued"/);
  s2.write(body);
  assert.match(await created, /HTTP\/1\.1 201 /);
  s2.destroy();
});

test('a client that trickles its headers is answered 408 and cut off at the header timeout', async () => {
  const s = await rawConnect();
  const answer = readAll(s);
  s.write(`GET ${CM} HTTP/1.1\r\nHost: localhost\r\n`);
  const trickle = setInterval(() => s.write('X-Slow: 1\r\n'), 100);
  try {
    const text = await answer;
    assert.match(text, /^HTTP\/1\.1 408 /);
  } finally {
    clearInterval(trickle);
    s.destroy();
  }
});

test('percent-encoded dot segments and slashes in a namespace or name are refused, not resolved', async () => {
  for (const p of ['/api/v1/namespaces/%2e%2e/configmaps', '/api/v1/namespaces/%2E%2E/configmaps', '/api/v1/namespaces/./configmaps']) {
    assertStatus(await h.http('GET', p), 400, /Namespace parameter invalid: "\.\.?": may not be '\.\.?'/);
  }
  assertStatus(await h.http('GET', `${CM}/a%2Fb`), 400, /Name parameter invalid: "a\/b": may not contain '\/'/);
  assertStatus(await h.http('GET', `${CM}/%2e%2e`), 400, /may not be '\.\.'/);
  // A literal ".." is not resolved either: it names no resource, so it cannot list every namespace.
  assertStatus(await h.http('GET', '/api/v1/namespaces/default/../configmaps'), 404);
});

test("apimachinery's metadata rules hold on every kind and through every write: create, merge patch, JSON patch", async () => {
  const cm = (metadata: Record<string, unknown>, data: Record<string, string> = {}) =>
    JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata, data });
  const post = (body: string, path = CM) => h.http('POST', path, { body, contentType: 'application/json' });
  assertStatus(
    await post(cm({ name: 'l1', labels: { app: 'x'.repeat(64) } })),
    422,
    /^ConfigMap "l1" is invalid: metadata\.labels: Invalid value: "x{64}": must be no more than 63 characters$/,
  );
  assertStatus(
    await post(cm({ name: 'l2', labels: { 'bad key': 'v' } })),
    422,
    /metadata\.labels: Invalid value: "bad key": name part must consist/,
  );
  assertStatus(await post(cm({ name: 'l3', labels: { app: 'a\u0007b' } })), 422, /a valid label must be an empty string/);
  assertStatus(
    await post(cm({ name: 'l4' }, { 'no/slash': 'v' })),
    422,
    /data\[no\/slash\]: Invalid value: "no\/slash": a valid config key/,
  );
  assertStatus(
    await post(cm({ name: 'l5', annotations: { a: 'x'.repeat(200 * 1024), b: 'y'.repeat(100 * 1024) } })),
    422,
    /metadata\.annotations: Too long: must have at most 262144 bytes/,
  );
  assertStatus(await post(cm({ generateName: 'Bad-' })), 422, /metadata\.generateName: Invalid value: "Bad-"/);
  // A Knative kind: the same rules, in kube-apiserver's wording (not the webhook's).
  const ksvc = JSON.stringify({
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: { name: 'meta', labels: { 'example.com/': 'v' } },
    spec: { template: { spec: { containers: [{ image: 'example.com/app:1' }] } } },
  });
  assertStatus(
    await post(ksvc, SVC),
    422,
    /^Service\.serving\.knative\.dev "meta" is invalid: \[?metadata\.labels: Invalid value: "example\.com\/": name part must be non-empty/,
  );

  // Updates: a valid object cannot be patched into an invalid one.
  assert.equal((await post(cm({ name: 'patched', labels: { app: 'web' } }, { k: 'v' }))).status, 201);
  const patch = (body: unknown, contentType: string) => h.http('PATCH', `${CM}/patched`, { body: JSON.stringify(body), contentType });
  assertStatus(
    await patch([{ op: 'add', path: '/metadata/labels/bad key', value: 'v' }], 'application/json-patch+json'),
    422,
    /metadata\.labels/,
  );
  assertStatus(
    await patch([{ op: 'replace', path: '/metadata/labels/app', value: '-web-' }], 'application/json-patch+json'),
    422,
    /a valid label/,
  );
  assertStatus(await patch({ metadata: { labels: { app: 'y'.repeat(70) } } }, 'application/merge-patch+json'), 422, /no more than 63/);
  assertStatus(await patch({ data: { '..hidden': 'v' } }, 'application/merge-patch+json'), 422, /must not start with '\.\.'/);
  assertStatus(await patch({ metadata: { labels: { 'a/b/c': 'v' } } }, 'application/strategic-merge-patch+json'), 422, /a qualified name/);
  const stored = JSON.parse((await h.http('GET', `${CM}/patched`)).body);
  assert.deepEqual(stored.metadata.labels, { app: 'web' });
  assert.deepEqual(stored.data, { k: 'v' });
});

test('a watch or list with a resourceVersion that is not a number is a 400 Status', async () => {
  assertStatus(await h.http('GET', `${CM}?watch=true&resourceVersion=abc`), 400, /resourceVersion/);
  assertStatus(await h.http('GET', `${CM}?watch=1&resourceVersion=-1`), 400, /resourceVersion/);
});
