// End to end: the real `sluice` binary (a child process) against an embedded Sluice, walking the
// gray-release article with kn-style commands.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { startSluice } from '../../src/server.js';
import { waitFor } from '../support/poll.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const bin = join(root, 'bin', 'sluice.js');
const restApi = join(root, 'dist', 'examples', 'rest-api', 'server.js');

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function sluice(kubeconfig: string, args: string[], stdin?: string): Promise<Result> {
  return new Promise((done) => {
    const child = execFile(
      process.execPath,
      [bin, ...args],
      { env: { ...process.env, SLUICE_KUBECONFIG: kubeconfig, KUBECONFIG: '' }, timeout: 60_000 },
      (err, stdout, stderr) => done({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
    if (stdin !== undefined) child.stdin!.end(stdin);
  });
}

function ok(r: Result, what: string): string {
  assert.equal(r.code, 0, `${what} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

/** A table printed by the CLI as rows of {HEADER: cell}; columns are split on the header's offsets. */
function parseTable(text: string): Record<string, string>[] {
  const [header, ...lines] = text.trimEnd().split('\n');
  const starts = [...header.matchAll(/\S+(?: \S+)*/g)].map((m) => ({ name: m[0], at: m.index! }));
  return lines.map((l) => Object.fromEntries(starts.map((c, i) => [c.name, l.slice(c.at, starts[i + 1]?.at ?? l.length).trim()])));
}

function gatewayGet(port: number, host: string): Promise<string> {
  return new Promise((done, fail) => {
    http
      .get({ host: '127.0.0.1', port, path: '/', headers: { host }, agent: false }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => done(`${res.statusCode} ${body}`));
      })
      .on('error', fail);
  });
}

test('sluice CLI drives a gray release end to end', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'sluice-cli-e2e-'));
  const running = await startSluice({ dataDir, apiPort: 0, gatewayPort: 0, adminPort: 0, quiet: true, gracePeriodMs: 2000 });
  t.after(async () => {
    await running.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const kc = running.kubeconfigPath;
  const run = (...args: string[]) => sluice(kc, args);

  // v1 as a local command; the revision name gets the kn-style "SERVICE-" prefix.
  let out = ok(
    await run('service', 'create', 'stock', '--cmd', process.execPath, '--arg', restApi, '--env', 'RESOURCE=v1', '--revision-name', 'v1'),
    'create',
  );
  assert.match(out, /Service 'stock' created to latest revision 'stock-v1' is available at URL:\nhttp:\/\/stock\.default\.example\.com/);

  // v2 takes all traffic through the default @latest target.
  out = ok(await run('service', 'update', 'stock', '--env', 'RESOURCE=v2', '--revision-name', 'v2'), 'update v2');
  assert.match(out, /latest revision 'stock-v2'/);

  // Tag both and split 50/50: a traffic-only change creates no revision.
  ok(await run('service', 'update', 'stock', '--tag', 'stock-v1=v1', '--tag', 'stock-v2=v2', '--traffic', 'v1=50,v2=50'), 'split');
  let revs = parseTable(ok(await run('revision', 'list'), 'revision list'));
  assert.deepEqual(
    revs.map((r) => [r.NAME, r.SERVICE, r.TRAFFIC, r.TAGS, r.GENERATION, r.READY]),
    [
      ['stock-v2', 'stock', '50%', 'v2', '2', 'True'],
      ['stock-v1', 'stock', '50%', 'v1', '1', 'True'],
    ],
  );

  // Each tag has its own host on the gateway.
  const port = running.gatewayPort;
  await waitFor('v1 tag route', async () => (await gatewayGet(port, 'v1-stock.default.example.com')) === '200 Welcome to the v1 app! \n');
  await waitFor('v2 tag route', async () => (await gatewayGet(port, 'v2-stock.default.example.com')) === '200 Welcome to the v2 app! \n');

  // Moving all traffic to v2 and dropping the v1 tag removes v1 from the traffic block.
  ok(await run('service', 'update', 'stock', '--untag', 'v1', '--traffic', 'v2=100'), 'untag');
  revs = parseTable(ok(await run('revision', 'list', '-s', 'stock'), 'revision list -s'));
  assert.deepEqual(
    revs.map((r) => [r.NAME, r.TRAFFIC, r.TAGS]),
    [
      ['stock-v2', '100%', 'v2'],
      ['stock-v1', '', ''],
    ],
  );
  const svc = YAML.parse(ok(await run('get', 'ksvc', 'stock', '-o', 'yaml'), 'get -o yaml'));
  assert.equal(svc.kind, 'Service');
  assert.equal(svc.metadata.generation, 4);
  assert.deepEqual(
    svc.spec.traffic.map((x: any) => [x.tag, x.revisionName, x.percent]),
    [['v2', 'stock-v2', 100]],
  );
  assert.equal(svc.status.latestReadyRevisionName, 'stock-v2');

  // A split that doesn't add up is refused by the server's admission: one line, exit 1.
  const bad = await run('service', 'update', 'stock', '--traffic', 'v2=50,stock-v1=60');
  assert.equal(bad.code, 1);
  assert.equal(bad.stdout, '');
  assert.match(bad.stderr, /^Error: .*Traffic targets sum to 110, want 100.*\n$/);
  assert.equal(bad.stderr.split('\n').length, 2, bad.stderr);

  // A malformed flag fails before any request.
  const malformed = await run('service', 'update', 'stock', '--traffic', 'v2=lots');
  assert.equal(malformed.code, 1);
  assert.equal(malformed.stderr, 'Error: invalid --traffic "v2=lots": percent "lots" is not a whole number\n');

  // describe and get table views.
  out = ok(await run('service', 'describe', 'stock'), 'describe');
  assert.match(out, /^\s+100%\s+stock-v2 #v2 \[2\]/m);
  assert.match(out, /\+\+\s+Ready/);
  const table = parseTable(ok(await run('get', 'ksvc'), 'get ksvc'));
  assert.deepEqual(Object.keys(table[0]), ['NAME', 'URL', 'LATESTCREATED', 'LATESTREADY', 'READY', 'REASON']);
  assert.equal(table[0].LATESTREADY, 'stock-v2');

  // The instance's logs, through the API.
  out = ok(await run('logs', 'stock', '--tail', '20'), 'logs');
  assert.match(out, /RESOURCE=v2/);

  // apply: the article's v1alpha1 manifest from stdin; a second apply changes nothing.
  const manifest = `apiVersion: serving.knative.dev/v1alpha1
kind: Service
metadata:
  name: stock-service-example
spec:
  template:
    metadata:
      name: stock-service-example-v1
    spec:
      containers:
        - image: registry.cn-hangzhou.aliyuncs.com/knative-sample/rest-api-go:v1
          env:
            - name: RESOURCE
              value: v1
`;
  assert.equal(
    ok(await sluice(kc, ['apply', '-f', '-'], manifest), 'apply'),
    'service.serving.knative.dev/stock-service-example created\n',
  );
  const file = join(dataDir, 'v1.yaml');
  writeFileSync(file, manifest);
  assert.equal(ok(await run('apply', '-f', file), 're-apply'), 'service.serving.knative.dev/stock-service-example unchanged\n');

  // Errors are one line: unknown names, unknown kinds.
  const missing = await run('get', 'ksvc', 'nope');
  assert.deepEqual([missing.code, missing.stderr], [1, 'Error: services.serving.knative.dev "nope" not found\n']);
  const kind = await run('get', 'widgets');
  assert.deepEqual([kind.code, kind.stderr], [1, 'Error: the server doesn\'t have a resource type "widgets"\n']);

  assert.equal(
    ok(await run('service', 'delete', 'stock', 'stock-service-example'), 'delete'),
    "Service 'stock' successfully deleted in namespace 'default'.\nService 'stock-service-example' successfully deleted in namespace 'default'.\n",
  );
});

test('an unreachable API gives one line that names it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-cli-down-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
  await new Promise<void>((r) => s.close(() => r()));
  const kc = join(dir, 'kubeconfig.yaml');
  writeFileSync(
    kc,
    YAML.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'c',
      clusters: [{ name: 'c', cluster: { server: url } }],
      users: [{ name: 'u', user: { token: 't' } }],
      contexts: [{ name: 'c', context: { cluster: 'c', user: 'u' } }],
    }),
  );
  const r = await sluice(kc, ['service', 'list']);
  assert.deepEqual([r.code, r.stderr], [1, `Error: cannot reach the Sluice API at ${url} (is "sluice server" running?)\n`]);
});
