// Request bodies reach the instance framed as the client framed them, whatever the method: a GET
// or DELETE with a chunked body is legal HTTP/1.1 (RFC 9110 leaves its meaning open, not its
// framing), and forwarding its bytes without chunk framing would let the body be read upstream as
// a second request. Both of the gateway's HTTP/1.1 paths (fast path and node:http) are checked.

import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { test, type TestContext } from 'node:test';
import { gatewayToBackends } from '../support/gateway.js';

const HOST = 'bodies.default.example.com';

async function start(t: TestContext, fastPath: boolean): Promise<{ port: number; seen: string[] }> {
  const seen: string[] = [];
  const backend = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      seen.push(`${req.method} ${req.url} ${JSON.stringify(Buffer.concat(parts).toString())}`);
      res.end('ok');
    });
  });
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  const { gw, port } = await gatewayToBackends([backend], {
    host: HOST,
    key: 'default/bodies-1',
    timeoutSeconds: 10,
    gateway: { fastPath },
  });
  t.after(async () => {
    await gw.close();
    backend.closeAllConnections();
    await new Promise<void>((r) => backend.close(() => r()));
  });
  return { port, seen };
}

/** Sends raw bytes and resolves with everything the gateway answered once `n` responses are in. */
function send(port: number, bytes: string, n: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(bytes));
    let got = '';
    s.on('data', (c: Buffer) => {
      got += c.toString('latin1');
      if ((got.match(/HTTP\/1\.1 /g) ?? []).length >= n && got.endsWith('ok')) {
        s.destroy();
        resolve(got);
      }
    });
    s.on('error', reject);
  });
}

for (const fastPath of [true, false]) {
  test(`chunked and sized bodies of every method reach the instance intact (fast path ${fastPath ? 'on' : 'off'})`, async (t) => {
    const { port, seen } = await start(t, fastPath);
    // The chunked body itself spells a request: were it sent unframed, the instance would see it as one.
    const inner = `GET /smuggled HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`;
    const chunk = `${inner.length.toString(16)}\r\n${inner}\r\n0\r\n\r\n`;
    for (const method of ['GET', 'DELETE', 'OPTIONS', 'POST', 'PUT']) {
      seen.length = 0;
      const out = await send(
        port,
        `${method} /chunked HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: chunked\r\n\r\n${chunk}` +
          `${method} /sized HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: 5\r\n\r\nhello` +
          `GET /after HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`,
        3,
      );
      assert.equal((out.match(/HTTP\/1\.1 200 /g) ?? []).length, 3, `${method}: ${out}`);
      // Pipelined requests may go out on different pooled connections: their order upstream is free.
      assert.deepEqual(
        [...seen].sort(),
        [`${method} /chunked ${JSON.stringify(inner)}`, `${method} /sized "hello"`, 'GET /after ""'].sort(),
        method,
      );
    }
  });
}

test('an HTTP/2 GET with a body and no content-length reaches an HTTP/1.1 instance framed', async (t) => {
  const { port, seen } = await start(t, true);
  const inner = `GET /smuggled HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`;
  const client = http2.connect(`http://127.0.0.1:${port}`);
  t.after(() => client.close());
  const ask = (path: string, body?: string) =>
    new Promise<number>((resolve, reject) => {
      const s = client.request({ ':method': 'GET', ':path': path, ':authority': HOST }, { endStream: body === undefined });
      s.on('response', (h) => resolve(Number(h[':status'])));
      s.on('error', reject);
      s.resume();
      if (body !== undefined) s.end(body);
    });
  assert.equal(await ask('/with-body', inner), 200);
  assert.equal(await ask('/after'), 200);
  assert.deepEqual([...seen].sort(), ['GET /after ""', `GET /with-body ${JSON.stringify(inner)}`]);
});
