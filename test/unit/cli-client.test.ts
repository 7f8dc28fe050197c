import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { findKind } from '../../src/api/registry.js';
import { parseWarnings, SluiceClient, TABLE_ACCEPT } from '../../src/cli/client.js';
import { CliError } from '../../src/cli/errors.js';

const ksvc = findKind('ksvc')!;

// A stand-in HTTP endpoint that records requests and answers canned responses; it checks the
// client's wire format and error mapping, not API behaviour (the e2e test covers that).
async function endpoint(t: TestContext, answer: (req: http.IncomingMessage, body: string) => [number, unknown]) {
  const seen: { method: string; url: string; headers: http.IncomingHttpHeaders; body: string }[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      const [code, payload] = answer(req, body);
      res.writeHead(code, { 'Content-Type': 'application/json' });
      res.end(typeof payload === 'string' ? payload : JSON.stringify(payload));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

test('client paths, bearer token, Table Accept header, merge-patch content type', async (t) => {
  const ep = await endpoint(t, () => [200, { kind: 'Table', rows: [] }]);
  const c = new SluiceClient(ep.url, 'tok');
  await c.table(ksvc, 'default', { labelSelector: 'a=b' });
  await c.patch(ksvc, 'default', 'x', { spec: {} });
  await c.create(ksvc, 'team', { apiVersion: 'serving.knative.dev/v1alpha1', kind: 'Service', metadata: { name: 'y' } });
  assert.equal(ep.seen[0].url, '/apis/serving.knative.dev/v1/namespaces/default/services?labelSelector=a%3Db');
  assert.equal(ep.seen[0].headers.authorization, 'Bearer tok');
  assert.equal(ep.seen[0].headers.accept, TABLE_ACCEPT);
  assert.equal(ep.seen[1].method, 'PATCH');
  assert.equal(ep.seen[1].headers['content-type'], 'application/merge-patch+json');
  // The version in the object's apiVersion picks the endpoint.
  assert.equal(ep.seen[2].url, '/apis/serving.knative.dev/v1alpha1/namespaces/team/services');
});

test('a metav1.Status failure becomes a CliError with the server message; 404 is tryGet-able', async (t) => {
  const ep = await endpoint(t, (req) =>
    req.method === 'GET'
      ? [
          404,
          { kind: 'Status', status: 'Failure', message: 'services.serving.knative.dev "nope" not found', reason: 'NotFound', code: 404 },
        ]
      : [400, '<html>oops</html>'],
  );
  const c = new SluiceClient(ep.url);
  await assert.rejects(
    c.get(ksvc, 'default', 'nope'),
    (e: unknown) => e instanceof CliError && e.code === 404 && e.message === 'services.serving.knative.dev "nope" not found',
  );
  assert.equal(await c.tryGet(ksvc, 'default', 'nope'), undefined);
  await assert.rejects(
    c.delete(ksvc, 'default', 'x'),
    (e: unknown) => e instanceof CliError && e.message === 'the server answered 400: <html>oops</html>',
  );
});

test('connection refused names the URL and suggests sluice server', async () => {
  // Listen and close to get a port nothing listens on.
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
  await new Promise<void>((r) => s.close(() => r()));
  await assert.rejects(
    new SluiceClient(url).list(ksvc, 'default'),
    (e: unknown) => e instanceof CliError && e.message === `cannot reach the Sluice API at ${url} (is "sluice server" running?)`,
  );
});

test('stream passes the body through and reports an error Status before the first byte', async (t) => {
  const ep = await endpoint(t, (req) =>
    req.url!.includes('missing')
      ? [404, { kind: 'Status', message: 'revisions.serving.knative.dev "missing" not found', code: 404 }]
      : [200, 'line1\nline2\n'],
  );
  const c = new SluiceClient(ep.url);
  let got = '';
  await c.stream(
    '/apis/serving.knative.dev/v1/namespaces/default/revisions/r/log',
    { tailLines: '5', follow: undefined },
    (b) => (got += b.toString()),
  );
  assert.equal(got, 'line1\nline2\n');
  assert.equal(ep.seen[0].url, '/apis/serving.knative.dev/v1/namespaces/default/revisions/r/log?tailLines=5');
  await assert.rejects(
    c.stream('/apis/x/missing/log', {}, () => {}),
    /"missing" not found/,
  );
});

test('Warning headers: 299 texts, several per header, escapes undone; other codes and junk ignored', () => {
  assert.deepEqual(parseWarnings(['299 - "one: a, b"', '299 - "say \\"hi\\" \\\\ now", 299 - "two"']), [
    'one: a, b',
    'say "hi" \\ now',
    'two',
  ]);
  assert.deepEqual(parseWarnings(['199 - "not ours"', 'garbage']), []);
});
