// The API server at the HTTP level: auth, Status errors, body limits and parsing, conversion,
// concurrency, watch semantics, patches, subresources and discovery documents.

import assert from 'node:assert/strict';
import { request as httpsRequest } from 'node:https';
import { after, before, test } from 'node:test';
import { ApiError } from '../../src/api/errors.js';
import type { WatchHandlers, WatchOptions } from '../../src/store/store.js';
import { startHarness, type Harness } from '../support/apiserver-harness.js';
import { waitFor } from '../support/poll.js';

const SVC = '/apis/serving.knative.dev/v1/namespaces/default/services';
const JSON_CT = 'application/json';

let h: Harness;
const logCalls: { ns: string; rev: string; follow: boolean; tailLines?: number }[] = [];
let stopFollowing = 0;

before(async () => {
  h = await startHarness({
    maxBodyBytes: 64 * 1024,
    logs: (ns, rev, opts, write, end) => {
      logCalls.push({ ns, rev, ...opts });
      write('line one');
      write('line two\n');
      if (!opts.follow) return;
      const timer = setInterval(() => write('tick'), 20);
      setTimeout(end, 5000).unref();
      return () => {
        clearInterval(timer);
        stopFollowing++;
      };
    },
  });
});
after(async () => {
  await h?.stop();
});

const svc = (name: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'serving.knative.dev/v1',
  kind: 'Service',
  metadata: { name },
  spec: { template: { spec: { containers: [{ image: 'example.com/app:1' }] } } },
  ...extra,
});

async function create(name: string, extra?: Record<string, unknown>) {
  const r = await h.http('POST', SVC, { body: JSON.stringify(svc(name, extra)), contentType: JSON_CT });
  assert.equal(r.status, 201, r.body);
  return r.json();
}

function assertStatus(r: { status: number; json(): any }, code: number, reason: string, message?: RegExp) {
  assert.equal(r.status, code);
  const s = r.json();
  assert.equal(s.kind, 'Status');
  assert.equal(s.apiVersion, 'v1');
  assert.equal(s.status, 'Failure');
  assert.equal(s.code, code);
  assert.equal(s.reason, reason);
  if (message) assert.match(s.message, message);
  return s;
}

test('requests without the token, or with a wrong one, get a 401 Status', async () => {
  assertStatus(await h.http('GET', '/api', { token: null }), 401, 'Unauthorized');
  assertStatus(await h.http('GET', SVC, { token: 'wrong' }), 401, 'Unauthorized');
  const health = await h.http('GET', '/healthz', { token: null });
  assert.equal(health.status, 200);
});

test('unknown paths and methods answer with a Status', async () => {
  assertStatus(await h.http('GET', '/apis/example.com/v1/things'), 404, 'NotFound');
  assertStatus(await h.http('GET', '/apis/serving.knative.dev/v2/namespaces/default/services'), 404, 'NotFound');
  assertStatus(await h.http('GET', `${SVC}/x/scale`), 404, 'NotFound');
  assertStatus(await h.http('POST', `${SVC}/x`, { body: '{}', contentType: JSON_CT }), 405, 'MethodNotAllowed');
  assertStatus(await h.http('GET', `${SVC}/missing`), 404, 'NotFound', /services\.serving\.knative\.dev "missing" not found/);
});

test('bad bodies: malformed JSON or YAML, wrong types, over the size limit', async () => {
  assertStatus(await h.http('POST', SVC, { body: '{"metadata": ', contentType: JSON_CT }), 400, 'BadRequest', /not valid JSON/);
  assertStatus(await h.http('POST', SVC, { body: 'a: [1,\n b', contentType: 'application/yaml' }), 400, 'BadRequest', /not valid YAML/);
  assertStatus(
    await h.http('POST', SVC, { body: JSON.stringify({ ...svc('x'), metadata: 'x' }), contentType: JSON_CT }),
    400,
    'BadRequest',
    /metadata must be an object/,
  );
  const wrongType = svc('typed');
  (wrongType.spec as any).template.spec.containers = 5;
  const s = assertStatus(
    await h.http('POST', SVC, { body: JSON.stringify(wrongType), contentType: JSON_CT }),
    422,
    'Invalid',
    /spec\.template\.spec\.containers in body must be of type array: "integer"/,
  );
  assert.equal(s.details.causes[0].field, 'spec.template.spec.containers');
  assertStatus(await h.http('POST', SVC, { body: '[1,2]', contentType: JSON_CT }), 400, 'BadRequest');
  assertStatus(await h.http('POST', SVC, { body: 'x', contentType: 'text/plain' }), 415, 'UnsupportedMediaType');

  const big = JSON.stringify({ ...svc('big'), data: 'x'.repeat(100 * 1024) });
  assertStatus(await h.http('POST', SVC, { body: big, contentType: JSON_CT }), 413, 'RequestEntityTooLarge', /limit is 65536/);
  // Without a Content-Length the limit is enforced while reading.
  const chunked = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port: h.port,
        method: 'POST',
        path: SVC,
        ca: h.ca,
        headers: { Authorization: `Bearer ${h.token}`, 'Content-Type': JSON_CT, 'Transfer-Encoding': 'chunked' },
      },
      (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    for (let i = 0; i < 10; i++) req.write('x'.repeat(10 * 1024));
    req.end();
  });
  assert.equal(chunked.status, 413);
  // The server is still healthy afterwards.
  assert.equal((await h.http('GET', SVC)).status, 200);
});

test('YAML bodies, generateName, and version conversion on the way out', async () => {
  const yaml = `apiVersion: serving.knative.dev/v1alpha1
kind: Service
metadata:
  generateName: gen-
spec:
  template:
    spec:
      containers:
        - image: example.com/app:1
`;
  const r = await h.http('POST', '/apis/serving.knative.dev/v1alpha1/namespaces/default/services', {
    body: yaml,
    contentType: 'application/yaml',
  });
  assert.equal(r.status, 201, r.body);
  const created = r.json();
  assert.equal(created.apiVersion, 'serving.knative.dev/v1alpha1');
  assert.match(created.metadata.name, /^gen-[a-z0-9]{5}$/);
  // Stored in v1, served in every version.
  const stored = await h.store.get('serving.knative.dev/services', 'default', created.metadata.name);
  assert.equal(stored?.apiVersion, 'serving.knative.dev/v1');
  const beta = await h.http('GET', `/apis/serving.knative.dev/v1beta1/namespaces/default/services/${created.metadata.name}`);
  assert.equal(beta.json().apiVersion, 'serving.knative.dev/v1beta1');
  const list = await h.http('GET', '/apis/serving.knative.dev/v1alpha1/services');
  assert.equal(list.json().kind, 'ServiceList');
  assert.ok(list.json().items.every((i: any) => i.apiVersion === 'serving.knative.dev/v1alpha1'));
  // A body whose version disagrees with the URL is refused.
  assertStatus(
    await h.http('POST', SVC, { body: JSON.stringify({ ...svc('v'), apiVersion: 'serving.knative.dev/v1beta1' }), contentType: JSON_CT }),
    400,
    'BadRequest',
    /does not match the expected API version/,
  );
});

test('create: missing namespace is a 404, bad names a 422, duplicates a 409', async () => {
  const r = await h.http('POST', '/apis/serving.knative.dev/v1/namespaces/ghost/services', {
    body: JSON.stringify(svc('x')),
    contentType: JSON_CT,
  });
  assertStatus(r, 404, 'NotFound', /^namespaces "ghost" not found$/);
  assertStatus(
    await h.http('POST', SVC, { body: JSON.stringify(svc('Bad_Name')), contentType: JSON_CT }),
    422,
    'Invalid',
    /metadata\.name: Invalid value: "Bad_Name"/,
  );
  await create('dup');
  assertStatus(
    await h.http('POST', SVC, { body: JSON.stringify(svc('dup')), contentType: JSON_CT }),
    409,
    'AlreadyExists',
    /services\.serving\.knative\.dev "dup" already exists/,
  );
});

test('optimistic concurrency: a stale resourceVersion on update is a 409 Conflict', async () => {
  const first = await create('occ');
  const fresh = await h.http('PUT', `${SVC}/occ`, {
    body: JSON.stringify({ ...first, metadata: { ...first.metadata, labels: { a: '1' } } }),
    contentType: JSON_CT,
  });
  assert.equal(fresh.status, 200, fresh.body);
  const stale = await h.http('PUT', `${SVC}/occ`, {
    body: JSON.stringify({ ...first, metadata: { ...first.metadata, labels: { a: '2' } } }),
    contentType: JSON_CT,
  });
  assertStatus(stale, 409, 'Conflict', /the object has been modified/);
  // A name that disagrees with the URL is refused.
  assertStatus(
    await h.http('PUT', `${SVC}/occ`, { body: JSON.stringify(svc('other')), contentType: JSON_CT }),
    400,
    'BadRequest',
    /does not match the name on the URL/,
  );
});

test('admission denials read like the Knative webhook', async () => {
  const bad = svc('neg', {});
  (bad.spec as any).template.spec.timeoutSeconds = -1;
  const s = assertStatus(await h.http('POST', SVC, { body: JSON.stringify(bad), contentType: JSON_CT }), 400, 'BadRequest');
  assert.match(s.message, /^admission webhook "validation\.webhook\.serving\.knative\.dev" denied the request: validation failed: /);
});

test('patches: merge, JSON, strategic (refused), apply; status subresource; fieldValidation', async () => {
  await create('p');
  let r = await h.http('PATCH', `${SVC}/p`, {
    body: JSON.stringify({ metadata: { labels: { a: 'b' } } }),
    contentType: 'application/merge-patch+json',
  });
  assert.equal(r.status, 200, r.body);
  assert.equal(r.json().metadata.labels.a, 'b');
  r = await h.http('PATCH', `${SVC}/p`, {
    body: JSON.stringify([
      { op: 'add', path: '/metadata/labels/c', value: 'd' },
      { op: 'remove', path: '/metadata/labels/a' },
    ]),
    contentType: 'application/json-patch+json',
  });
  assert.deepEqual(r.json().metadata.labels, { c: 'd' });
  assertStatus(
    await h.http('PATCH', `${SVC}/p`, {
      body: JSON.stringify([{ op: 'test', path: '/metadata/labels/c', value: 'nope' }]),
      contentType: 'application/json-patch+json',
    }),
    422,
    'Invalid',
  );
  assertStatus(
    await h.http('PATCH', `${SVC}/p`, { body: JSON.stringify({ metadata: {} }), contentType: 'application/strategic-merge-patch+json' }),
    415,
    'UnsupportedMediaType',
  );
  r = await h.http('PATCH', `${SVC}/applied?fieldManager=me`, {
    body: 'apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata:\n  name: applied\nspec:\n  template:\n    spec:\n      containers:\n        - image: example.com/a:1\n',
    contentType: 'application/apply-patch+yaml',
  });
  assert.equal(r.status, 201, r.body);

  // Unknown fields: Strict refuses, Warn stores without them and says so, Ignore is silent.
  const patch = JSON.stringify({ spec: { bogus: 1 } });
  assertStatus(
    await h.http('PATCH', `${SVC}/p?fieldValidation=Strict`, { body: patch, contentType: 'application/merge-patch+json' }),
    400,
    'BadRequest',
    /strict decoding error: unknown field "spec\.bogus"/,
  );
  r = await h.http('PATCH', `${SVC}/p?fieldValidation=Warn`, { body: patch, contentType: 'application/merge-patch+json' });
  assert.equal(r.status, 200);
  assert.match(String(r.headers.warning), /unknown field \\"spec\.bogus\\"/);
  assert.equal(r.json().spec.bogus, undefined);
  assertStatus(
    await h.http('PATCH', `${SVC}/p?fieldValidation=Sometimes`, { body: patch, contentType: 'application/merge-patch+json' }),
    400,
    'BadRequest',
  );

  // Status goes through /status only.
  r = await h.http('PATCH', `${SVC}/p/status`, {
    body: JSON.stringify({ status: { url: 'http://p.default.example.com' } }),
    contentType: 'application/merge-patch+json',
  });
  assert.equal(r.status, 200, r.body);
  assert.equal(r.json().status.url, 'http://p.default.example.com');
  r = await h.http('PATCH', `${SVC}/p`, {
    body: JSON.stringify({ status: { url: 'hijacked' } }),
    contentType: 'application/merge-patch+json',
  });
  assert.equal(r.json().status.url, 'http://p.default.example.com');
});

test('list: selectors, limit/continue, and the Table form', async () => {
  for (const n of ['l1', 'l2', 'l3']) await create(n, { metadata: { name: n, labels: { group: 'l', idx: n } } });
  let r = await h.http('GET', `${SVC}?labelSelector=${encodeURIComponent('group=l,idx notin (l2)')}`);
  assert.deepEqual(
    r.json().items.map((i: any) => i.metadata.name),
    ['l1', 'l3'],
  );
  r = await h.http('GET', `${SVC}?labelSelector=${encodeURIComponent('group in (')}`);
  assertStatus(r, 400, 'BadRequest');
  assertStatus(await h.http('GET', `${SVC}?fieldSelector=spec.x%3Dy`), 400, 'BadRequest', /field label not supported/);

  r = await h.http('GET', `${SVC}?labelSelector=group%3Dl&limit=2`);
  const page1 = r.json();
  assert.equal(page1.items.length, 2);
  assert.ok(page1.metadata.continue);
  r = await h.http('GET', `${SVC}?labelSelector=group%3Dl&limit=2&continue=${encodeURIComponent(page1.metadata.continue)}`);
  assert.deepEqual(
    r.json().items.map((i: any) => i.metadata.name),
    ['l3'],
  );

  r = await h.http('GET', `${SVC}?labelSelector=group%3Dl`, { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json' });
  const table = r.json();
  assert.equal(table.kind, 'Table');
  assert.deepEqual(
    table.columnDefinitions.map((c: any) => c.name),
    ['Name', 'URL', 'LatestCreated', 'LatestReady', 'Ready', 'Reason'],
  );
  assert.equal(table.rows.length, 3);
  assert.equal(table.rows[0].object.kind, 'PartialObjectMetadata');
  r = await h.http('GET', `${SVC}/l1?includeObject=Object`, { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' });
  assert.equal(r.json().rows[0].object.kind, 'Service');
  assertStatus(await h.http('GET', SVC, { accept: 'application/vnd.kubernetes.protobuf' }), 406, 'NotAcceptable');
});

test('watch: from a resourceVersion, with selectors; 410 when too old', async () => {
  const start = (await h.http('GET', SVC)).json().metadata.resourceVersion;
  const events: any[] = [];
  const req = httpsRequest(
    {
      host: '127.0.0.1',
      port: h.port,
      path: `${SVC}?watch=1&resourceVersion=${start}&labelSelector=w%3Dyes`,
      ca: h.ca,
      headers: { Authorization: `Bearer ${h.token}` },
    },
    (res) => {
      let buf = '';
      res.on('data', (c) => {
        buf += c;
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          events.push(JSON.parse(buf.slice(0, i)));
          buf = buf.slice(i + 1);
        }
      });
    },
  );
  req.end();
  try {
    await create('w1', { metadata: { name: 'w1', labels: { w: 'yes' } } });
    await create('w2'); // doesn't match: never reported
    await h.http('PATCH', `${SVC}/w1`, {
      body: JSON.stringify({ metadata: { labels: { w: 'no' } } }),
      contentType: 'application/merge-patch+json',
    });
    await waitFor('ADDED then DELETED (left the selector)', () => events.length >= 2);
    assert.deepEqual(
      events.map((e) => [e.type, e.object.metadata.name]),
      [
        ['ADDED', 'w1'],
        ['DELETED', 'w1'],
      ],
    );
    assert.equal(events[0].object.apiVersion, 'serving.knative.dev/v1');
  } finally {
    req.destroy();
  }

  // /watch/ paths work too, and a watch with timeoutSeconds ends by itself.
  const r = await h.http('GET', `/apis/serving.knative.dev/v1/watch/namespaces/default/services/w2?timeoutSeconds=1`);
  assert.equal(r.status, 200);
  const lines = r.body
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.deepEqual(
    lines.map((e) => [e.type, e.object.metadata.name]),
    [['ADDED', 'w2']],
  );
});

test('410 for a forgotten resourceVersion, 500 Status for internal errors, close() ends open watches', { timeout: 20000 }, async () => {
  const logged: string[] = [];
  const g = await startHarness({
    log: (m) => logged.push(m),
    admit: (kind, o) => {
      if (o.metadata.name === 'boom') throw new TypeError('cannot read properties of undefined');
      return o;
    },
    wrapStore: (s) =>
      new Proxy(s, {
        get(target, prop, recv) {
          if (prop === 'watch') {
            return async (res: string, opts: WatchOptions, handlers: WatchHandlers) => {
              if (opts.resourceVersion === '1') throw new ApiError(410, 'Expired', 'too old resource version: 1 (5)');
              return target.watch(res, opts, handlers);
            };
          }
          const v = Reflect.get(target, prop, recv);
          return typeof v === 'function' ? v.bind(target) : v;
        },
      }),
  });
  let stopped = false;
  try {
    assertStatus(await g.http('GET', `${SVC}?watch=true&resourceVersion=1`), 410, 'Expired', /too old resource version/);

    const s = assertStatus(
      await g.http('POST', SVC, { body: JSON.stringify(svc('boom')), contentType: JSON_CT }),
      500,
      'InternalError',
      /^Internal error occurred: cannot read properties of undefined$/,
    );
    assert.doesNotMatch(JSON.stringify(s), /\bat\b.*\.js/);
    assert.match(logged.join('\n'), /TypeError: cannot read properties of undefined/);

    // An open watch ends when the server closes, instead of keeping close() waiting.
    let opened!: () => void;
    const open = new Promise<void>((r) => (opened = r));
    const ended = new Promise<void>((resolve, reject) => {
      const req = httpsRequest(
        { host: '127.0.0.1', port: g.port, path: `${SVC}?watch=1`, ca: g.ca, headers: { Authorization: `Bearer ${g.token}` } },
        (res) => {
          assert.equal(res.statusCode, 200);
          opened();
          res.resume();
          res.on('error', () => {}); // a reset is as good as an end here
          res.on('close', () => resolve());
        },
      );
      req.on('error', reject);
      req.end();
    });
    await open;
    await g.stop();
    stopped = true;
    await ended;
  } finally {
    if (!stopped) await g.stop();
  }
});

test('delete: returns the object, honours preconditions, removes owned objects', async () => {
  const owner = await create('owner');
  const cfg = {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Configuration',
    metadata: {
      name: 'owner',
      ownerReferences: [
        { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'owner', uid: owner.metadata.uid, controller: true },
      ],
    },
    spec: { template: { spec: { containers: [{ image: 'example.com/app:1' }] } } },
  };
  const c = await h.http('POST', '/apis/serving.knative.dev/v1/namespaces/default/configurations', {
    body: JSON.stringify(cfg),
    contentType: JSON_CT,
  });
  assert.equal(c.status, 201, c.body);

  assertStatus(
    await h.http('DELETE', `${SVC}/owner`, { body: JSON.stringify({ preconditions: { uid: 'someone-else' } }), contentType: JSON_CT }),
    409,
    'Conflict',
    /Precondition failed/,
  );
  const r = await h.http('DELETE', `${SVC}/owner`);
  assert.equal(r.status, 200);
  assert.equal(r.json().metadata.name, 'owner');
  assert.equal((await h.http('GET', '/apis/serving.knative.dev/v1/namespaces/default/configurations/owner')).status, 404);
  assertStatus(await h.http('DELETE', '/api/v1/namespaces/default'), 403, 'Forbidden');

  const dc = await h.http('DELETE', `${SVC}?labelSelector=group%3Dl`);
  assert.equal(dc.status, 200);
  assert.equal(dc.json().items.length, 3);
});

test('revision logs stream from the logs hook', async () => {
  const rev = {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Revision',
    metadata: { name: 'r1' },
    spec: { containers: [{ image: 'example.com/app:1' }] },
  };
  const c = await h.http('POST', '/apis/serving.knative.dev/v1/namespaces/default/revisions', {
    body: JSON.stringify(rev),
    contentType: JSON_CT,
  });
  assert.equal(c.status, 201, c.body);
  const r = await h.http('GET', '/apis/serving.knative.dev/v1/namespaces/default/revisions/r1/log?tailLines=5');
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'text/plain; charset=utf-8');
  assert.equal(r.body, 'line one\nline two\n');
  assert.deepEqual(logCalls.at(-1), { ns: 'default', rev: 'r1', follow: false, tailLines: 5 });
  assertStatus(await h.http('GET', '/apis/serving.knative.dev/v1/namespaces/default/revisions/nope/log'), 404, 'NotFound');

  // Following: lines keep coming until the client leaves, then the hook is told to stop.
  let got = '';
  const req = httpsRequest({
    host: '127.0.0.1',
    port: h.port,
    path: '/apis/serving.knative.dev/v1/namespaces/default/revisions/r1/log?follow=true',
    ca: h.ca,
    headers: { Authorization: `Bearer ${h.token}` },
  });
  req.on('response', (res) => res.on('data', (d) => (got += d)));
  req.end();
  await waitFor('followed lines', () => got.includes('tick\ntick\n'));
  req.destroy();
  await waitFor('the hook to be cancelled', () => stopFollowing === 1);
});

test('discovery and OpenAPI documents', async () => {
  const agg = await h.http('GET', '/apis', {
    accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json',
  });
  assert.match(String(agg.headers['content-type']), /as=APIGroupDiscoveryList/);
  const serving = agg.json().items.find((i: any) => i.metadata.name === 'serving.knative.dev');
  assert.deepEqual(
    serving.versions.map((v: any) => v.version),
    ['v1', 'v1beta1', 'v1alpha1'],
  );
  const ksvc = serving.versions[0].resources.find((r: any) => r.resource === 'services');
  assert.deepEqual(ksvc.shortNames, ['ksvc', 'kservice']);
  assert.equal(ksvc.scope, 'Namespaced');

  const legacy = (await h.http('GET', '/apis/serving.knative.dev/v1')).json();
  assert.equal(legacy.kind, 'APIResourceList');
  assert.ok(legacy.resources.some((r: any) => r.name === 'services/status'));
  assert.equal((await h.http('GET', '/apis/serving.knative.dev')).json().preferredVersion.version, 'v1');
  assert.equal((await h.http('GET', '/version')).json().major, '1');

  const root = (await h.http('GET', '/openapi/v3')).json();
  const url = root.paths['apis/serving.knative.dev/v1'].serverRelativeURL;
  const doc = (await h.http('GET', url)).json();
  const patchOp = doc.paths['/apis/serving.knative.dev/v1/namespaces/{namespace}/services/{name}'].patch;
  assert.deepEqual(patchOp['x-kubernetes-group-version-kind'], { group: 'serving.knative.dev', version: 'v1', kind: 'Service' });
  assert.ok(patchOp.parameters.some((p: any) => p.name === 'fieldValidation'));
  assert.equal(patchOp.requestBody.content['application/strategic-merge-patch+json'], undefined);
  assert.ok(doc.components.schemas['dev.knative.serving.v1.Service']);
});
