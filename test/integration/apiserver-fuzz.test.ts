// Fuzzing the API server: malformed and hostile requests (mutated objects, deep nesting, broken
// JSON and YAML, alias bombs, bad patches of every type, hostile paths and query strings) to every
// endpoint and kind. Every answer must be a 2xx or a 4xx, every 4xx a metav1.Status with the same
// code, no connection may be dropped, and the server must still serve after each batch.
// Deterministic: FUZZ_SEED (default 1) and FUZZ_CASES (default 2000) choose the run; `npm run
// fuzz` runs a long one.

import assert from 'node:assert/strict';
import { Agent, request as httpsRequest } from 'node:https';
import { after, before, test } from 'node:test';
import { KINDS, type ResourceKind } from '../../src/api/registry.js';
import { startHarness, type Harness } from '../support/apiserver-harness.js';
import { prng } from '../support/prng.js';

const SEED = Number(process.env.FUZZ_SEED ?? 1);
const CASES = Number(process.env.FUZZ_CASES ?? 2000);
const BATCH = 100;

let h: Harness;
let agent: Agent;
before(async () => {
  h = await startHarness({ maxBodyBytes: 256 * 1024 });
  agent = new Agent({ keepAlive: true, maxSockets: 4 });
});
after(async () => {
  agent?.destroy();
  await h?.stop();
});

/** Percent-encodes a path segment; a lone surrogate becomes invalid UTF-8 on the wire instead. */
function encodeSegment(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    return '%ED%A0%80';
  }
}

interface Case {
  method: string;
  path: string;
  contentType?: string;
  body?: string | Buffer;
  headers?: Record<string, string>;
}

function generator(rand: () => number) {
  const int = (n: number) => Math.floor(rand() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
  const chance = (p: number) => rand() < p;

  const NASTY_STRINGS = [
    '',
    ' ',
    'x'.repeat(300),
    'A-B_c.d',
    '-bad-',
    '..',
    '.',
    '%2e%2e',
    'a/b',
    '__proto__',
    'constructor',
    'toString',
    '\u0000',
    '\u0007bell',
    'ünïcødé',
    '😀',
    '\ud800',
    '${x}',
    "'; DROP TABLE x; --",
    '<script>',
    'a'.repeat(64),
    'example.com/',
    '/x',
    'a/b/c',
    '0',
    '-1',
    '1e309',
    'null',
    'true',
  ];
  const NASTY_VALUES: unknown[] = [
    null,
    true,
    0,
    -1,
    1.5,
    2 ** 31,
    2 ** 53 + 1,
    -0,
    1e308,
    '',
    [],
    {},
    [[[]]],
    { $patch: 'explode' },
    { $patch: 'delete' },
    { $retainKeys: ['x'] },
    'x'.repeat(5000),
  ];
  const nastyString = () =>
    chance(0.7) ? pick(NASTY_STRINGS) : String.fromCharCode(...Array.from({ length: int(20) }, () => int(0x3000)));
  const nastyValue = (): unknown => (chance(0.5) ? pick(NASTY_VALUES) : nastyString());

  const validObject = (k: ResourceKind, version: string, name: string): Record<string, any> => {
    const apiVersion = k.group ? `${k.group}/${version}` : version;
    const o: Record<string, any> = { apiVersion, kind: k.kind, metadata: { name, labels: { app: 'fuzz' }, annotations: { note: 'n' } } };
    if (k.kind === 'ConfigMap') o.data = { key: 'value' };
    if (k.kind === 'Secret') o.stringData = { key: 'value' };
    if (k.kind === 'Service' || k.kind === 'Configuration') {
      o.spec = { template: { spec: { containers: [{ image: 'example.com/app:1', ports: [{ containerPort: 8080 }] }] } } };
    }
    if (k.kind === 'Route') o.spec = { traffic: [{ configurationName: 'c', percent: 100 }] };
    if (k.kind === 'Revision') o.spec = { containers: [{ image: 'example.com/app:1' }] };
    return o;
  };

  /** Changes one spot deep inside the value: a type swap, a nasty key or value, a deletion. */
  const mutate = (v: any, depth = 0): any => {
    if (depth > 6 || v === null || typeof v !== 'object') return nastyValue();
    const keys = Object.keys(v);
    if (keys.length === 0 || chance(0.2)) {
      const k = nastyString();
      Object.defineProperty(v, k, { value: nastyValue(), enumerable: true, writable: true, configurable: true });
      return v;
    }
    const k = pick(keys);
    if (chance(0.15)) delete v[k];
    else v[k] = chance(0.6) ? mutate(v[k], depth + 1) : nastyValue();
    return v;
  };

  const deepJson = (n: number) => '['.repeat(n) + ']'.repeat(n);
  const deepMap = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);
  const aliasBomb = () => {
    let y = 'a: &a ["x","x","x","x","x","x","x","x","x"]\n';
    for (let i = 0; i < 9; i++)
      y += `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)}]\n`;
    return y;
  };

  const body = (k: ResourceKind, version: string, name: string): { contentType: string; body: string | Buffer } => {
    const r = int(16);
    const obj = validObject(k, version, name);
    switch (r) {
      case 0:
        return { contentType: 'application/json', body: JSON.stringify(obj) };
      case 1:
      case 2:
      case 3:
        return { contentType: 'application/json', body: JSON.stringify(mutate(mutate(obj))) };
      case 4:
        return {
          contentType: pick(['application/yaml', 'application/json']),
          body: chance(0.5) ? deepJson(200 + int(20000)) : deepMap(50 + int(300)),
        };
      case 5:
        return { contentType: 'application/yaml', body: chance(0.5) ? aliasBomb() : '- '.repeat(int(3000)) + 'x' };
      case 6: {
        const text = JSON.stringify(obj);
        return { contentType: 'application/json', body: text.slice(0, int(text.length)) };
      }
      case 7:
        return {
          contentType: 'application/yaml',
          body: `${pick(['{', '[', '!!binary', '%YAML 9.9', '---\n---', 'a: b: c', '? [a]\n: b', '&x *x', 'a: !!js/function "f"', '\t\tx: 1'])}\n${nastyString()}`,
        };
      case 8:
        return {
          contentType: pick(['application/merge-patch+json', 'application/strategic-merge-patch+json']),
          body: JSON.stringify(mutate({ metadata: { labels: { app: 'x' } }, data: { a: 'b' }, spec: {} })),
        };
      case 9: {
        const ops = Array.from({ length: 1 + int(4) }, () =>
          mutate({
            op: pick(['add', 'remove', 'replace', 'move', 'copy', 'test', 'nope']),
            path: pick([
              '/metadata/labels/x',
              '/metadata/labels/bad key',
              '/spec',
              '/',
              '',
              '/a/b/c/d',
              '/metadata/name',
              '/data/~1x',
              '/status',
              '/metadata/labels/app',
            ]),
            from: '/metadata/labels',
            value: nastyValue(),
          }),
        );
        return { contentType: 'application/json-patch+json', body: JSON.stringify(chance(0.1) ? ops[0] : ops) };
      }
      case 10:
        return {
          contentType: 'application/apply-patch+yaml',
          body: chance(0.5)
            ? JSON.stringify(mutate(obj))
            : `apiVersion: ${obj.apiVersion}\nkind: ${obj.kind}\nmetadata:\n  name: ${name}\n  labels:\n    ${nastyString()}: ${nastyString()}\n`,
        };
      case 11:
        return {
          contentType: pick([
            'application/vnd.kubernetes.protobuf',
            'text/plain',
            'application/x-www-form-urlencoded',
            '',
            'application/json; charset=utf-16',
          ]),
          body: Buffer.from(Array.from({ length: int(200) }, () => int(256))),
        };
      case 12:
        return {
          contentType: 'application/json',
          body: JSON.stringify({ ...obj, metadata: { ...obj.metadata, annotations: { big: 'x'.repeat(int(300_000)) } } }),
        };
      case 13:
        return { contentType: 'application/json', body: JSON.stringify([obj]) };
      case 14:
        return {
          contentType: 'application/json',
          body: `{"apiVersion":"${obj.apiVersion}","kind":"${k.kind}","metadata":{"name":"${name}"},"a":1,"a":2,"__proto__":{"polluted":true}}`,
        };
      default:
        return {
          contentType: 'application/json',
          body: JSON.stringify(obj)
            .replace(/"/g, chance(0.5) ? "'" : '"')
            .replace(/,/, ',,'),
        };
    }
  };

  const names = ['fuzz-a', 'fuzz-b', 'fuzz-c'];
  const nastyQuery = () => {
    const q = new URLSearchParams();
    const params: [string, () => string][] = [
      [
        'labelSelector',
        () => pick(['a in ()', 'a in (', '=x', 'a!=', 'app=fuzz', '!!a', 'a,,b', 'x'.repeat(400), 'a notin (b,c)', 'bad key=v', 'a=(b)']),
      ],
      ['fieldSelector', () => pick(['metadata.name=fuzz-a', 'spec.x=1', 'metadata.name', '==', 'metadata.namespace!=default'])],
      ['limit', () => pick(['1', '0', '-1', 'abc', '1e9', '99999999999999999999'])],
      ['continue', () => pick(['abc', '', 'eyJucyI6MX0', Buffer.from('{"ns":"","name":"a"}').toString('base64url')])],
      ['resourceVersion', () => pick(['abc', '-1', '0', '1', '99999999999999999999', ''])],
      ['timeoutSeconds', () => pick(['1', '-1', 'abc', '1e400', '0'])],
      ['fieldValidation', () => pick(['Strict', 'Warn', 'Ignore', 'strict', 'x'])],
      ['dryRun', () => pick(['All', 'x'])],
      ['propagationPolicy', () => pick(['Orphan', 'Background', 'Foreground', 'x'])],
      ['watch', () => pick(['true', 'false', '1', 'x'])],
      ['includeObject', () => pick(['Object', 'None', 'x'])],
    ];
    for (const [k, v] of params) if (chance(0.15)) q.append(k, v());
    // A watch that would stream (no hostile resourceVersion) ends within a second.
    if (q.get('watch') !== null && q.get('watch') !== 'false') q.set('timeoutSeconds', '1');
    const s = q.toString();
    return s ? `?${s}` : '';
  };

  const resourcePath = (k: ResourceKind): { path: string; version: string; name?: string } => {
    const version = chance(0.9) ? pick(k.servedVersions) : pick(['v2', 'v1beta9', '']);
    const base = k.group ? `/apis/${k.group}/${version}` : `/api/${version}`;
    const ns = chance(0.9) ? 'default' : pick(['%2e%2e', '..', 'missing', 'Bad_NS', '%2F', 'kube-system', 'x'.repeat(300)]);
    const scope = k.namespaced ? `${base}/namespaces/${ns}/${k.plural}` : `${base}/${k.plural}`;
    const r = int(5);
    if (r === 0) return { path: scope, version };
    const name = chance(0.85) ? pick(names) : encodeSegment(nastyString()) || '%2e%2e';
    if (r === 1 && k.hasStatus) return { path: `${scope}/${name}/status`, version, name };
    if (r === 2) return { path: `${scope}/${name}/${pick(['scale', 'log', 'x', '..'])}`, version, name };
    return { path: `${scope}/${name}`, version, name };
  };

  return (): Case => {
    const r = int(20);
    if (r === 0) {
      return {
        method: pick(['GET', 'HEAD', 'POST', 'DELETE']),
        path: pick([
          '/',
          '/api',
          '/apis',
          '/version',
          '/openapi/v2',
          '/openapi/v3',
          '/openapi/v3/apis/serving.knative.dev/v1',
          '/apis/serving.knative.dev',
          '/api/v1',
          '/apis/x/y',
          '/%',
          '/api/%zz',
          `/${'a/'.repeat(500)}`,
          '//api//v1',
        ]),
      };
    }
    if (r === 1) {
      const headers = pick<Record<string, string>>([
        { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' },
        { Accept: 'application/vnd.kubernetes.protobuf' },
        { Accept: 'text/html' },
        { Accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList' },
        { 'Content-Encoding': 'gzip' },
        { 'Transfer-Encoding': 'chunked' },
      ]);
      return { method: 'GET', path: resourcePath(pick(KINDS)).path, headers };
    }
    const k = pick(KINDS);
    const p = resourcePath(k);
    const method = pick(['GET', 'GET', 'POST', 'POST', 'PUT', 'PATCH', 'PATCH', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'TRACE', 'PROPFIND']);
    const c: Case = { method, path: p.path + nastyQuery() };
    if (method !== 'GET' && method !== 'HEAD' && (method !== 'DELETE' || chance(0.3))) {
      Object.assign(c, body(k, p.version, p.name ?? pick(names)));
    }
    return c;
  };
}

interface Answer {
  status: number;
  body: string;
}

function send(c: Case): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { Authorization: `Bearer ${h.token}`, ...(c.headers ?? {}) };
    if (c.contentType !== undefined) headers['Content-Type'] = c.contentType;
    if (c.body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(c.body));
    const req = httpsRequest({ host: '127.0.0.1', port: h.port, method: c.method, path: c.path, headers, ca: h.ca, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (x: Buffer) => chunks.push(x));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.setTimeout(20_000, () => req.destroy(new Error('no answer within 20 s')));
    req.on('error', reject);
    req.end(c.body);
  });
}

function describe(c: Case, i: number): string {
  const body = c.body === undefined ? '' : ` body(${Buffer.byteLength(c.body)}B)=${String(c.body).slice(0, 200)}`;
  return `case ${i} (FUZZ_SEED=${SEED}): ${c.method} ${c.path.slice(0, 300)} [${c.contentType ?? ''}]${body}`;
}

test(
  `fuzz: ${CASES} hostile requests to every endpoint and patch type get 2xx or a 4xx Status, and the server lives`,
  { timeout: Math.max(120_000, CASES * 100) },
  async () => {
    const next = generator(prng(SEED));
    const seen = new Map<number, number>();
    for (let start = 0; start < CASES; start += BATCH) {
      const batch = Array.from({ length: Math.min(BATCH, CASES - start) }, () => next());
      // Four at a time, as a few concurrent clients would.
      for (let i = 0; i < batch.length; i += 4) {
        await Promise.all(
          batch.slice(i, i + 4).map(async (c, j) => {
            const where = describe(c, start + i + j);
            let a: Answer;
            try {
              a = await send(c);
            } catch (e) {
              assert.fail(`${where}: connection failed: ${(e as Error).message}`);
            }
            seen.set(a.status, (seen.get(a.status) ?? 0) + 1);
            assert.ok(
              (a.status >= 200 && a.status < 300) || (a.status >= 400 && a.status < 500),
              `${where}: answered ${a.status}: ${a.body.slice(0, 300)}`,
            );
            if (a.status >= 400 && c.method !== 'HEAD') {
              let s: any;
              try {
                s = JSON.parse(a.body);
              } catch {
                assert.fail(`${where}: ${a.status} without a JSON Status body: ${a.body.slice(0, 200)}`);
              }
              assert.equal(s.kind, 'Status', where);
              assert.equal(s.code, a.status, where);
              assert.equal(typeof s.message, 'string', where);
            }
          }),
        );
      }
      const alive = await send({ method: 'GET', path: '/version' });
      assert.equal(alive.status, 200, `server not serving after batch ending at case ${start + batch.length}`);
      const listed = await send({ method: 'GET', path: '/api/v1/namespaces/default/configmaps' });
      assert.equal(listed.status, 200, listed.body);
    }
    // The run exercised both sides: some requests were accepted, many refused.
    const ok = [...seen].filter(([s]) => s < 300).reduce((n, [, c]) => n + c, 0);
    assert.ok(ok > 0 && ok < CASES, JSON.stringify(Object.fromEntries(seen)));
  },
);
