// The fast path's upstream sockets all read into one shared buffer (fastpath/upstream-pool.ts), so
// every byte a response keeps past a read (a head cut across reads, body bytes a slow client has
// not taken yet) must be a copy. Here several large responses are relayed at once to clients that
// stop reading for a while, with heads and bodies written in uneven pieces: each client must get
// exactly the bytes its backend sent.

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { test } from 'node:test';
import { gatewayToBackends } from '../support/gateway.js';

const HOST = 'relay.default.example.com';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Bodies by path: /length/N (Content-Length), /chunked/N (chunked), each N random bytes, head in three writes. */
const bodies = new Map<string, Buffer>();

function backend(): Promise<net.Server> {
  const server = net.createServer((s) => {
    let got = '';
    s.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      for (let end = got.indexOf('\r\n\r\n'); end >= 0; end = got.indexOf('\r\n\r\n')) {
        const path = got.slice(got.indexOf(' ') + 1, got.indexOf(' HTTP/1.1'));
        got = got.slice(end + 4);
        void answer(s, path);
      }
    });
    s.on('error', () => {});
  });
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r(server)));
}

async function answer(s: net.Socket, path: string): Promise<void> {
  const body = bodies.get(path)!;
  const chunked = path.startsWith('/chunked/');
  const head = `HTTP/1.1 200 OK\r\nX-Pad: ${'p'.repeat(300)}\r\n${chunked ? 'Transfer-Encoding: chunked' : `Content-Length: ${body.length}`}\r\n\r\n`;
  // The head in three pieces, apart: the gateway must keep the first ones across reads.
  s.write(head.slice(0, 20));
  await sleep(5);
  s.write(head.slice(20, 200));
  await sleep(5);
  s.write(head.slice(200));
  for (let at = 0, i = 0; at < body.length; i++) {
    const n = Math.min(body.length - at, [1, 70_000, 333, 150_000][i % 4]);
    const piece = body.subarray(at, at + n);
    s.write(chunked ? Buffer.concat([Buffer.from(`${n.toString(16)}\r\n`), piece, Buffer.from('\r\n')]) : piece);
    at += n;
    if (i % 3 === 0) await sleep(1);
  }
  if (chunked) s.write('0\r\n\r\n');
}

/** One request on a new connection; the client reads nothing for `stallMs`, then the whole response. */
function fetchSlowly(port: number, path: string, stallMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const c = net.connect(port, '127.0.0.1', () => c.write(`GET ${path} HTTP/1.1\r\nHost: ${HOST}\r\nConnection: close\r\n\r\n`));
    const parts: Buffer[] = [];
    c.pause();
    setTimeout(() => c.resume(), stallMs);
    c.on('data', (d: Buffer) => parts.push(d));
    c.on('error', reject);
    c.on('close', () => resolve(Buffer.concat(parts)));
  });
}

/** The body of a whole response (Content-Length, or chunked de-framed). */
function bodyOf(raw: Buffer): Buffer {
  const end = raw.indexOf('\r\n\r\n');
  assert.ok(end > 0, 'no response head');
  const head = raw.subarray(0, end).toString('latin1');
  assert.match(head, /^HTTP\/1\.1 200 OK\r\n/);
  let rest = raw.subarray(end + 4);
  const length = /\r\ncontent-length: (\d+)/i.exec(head);
  if (length !== null) {
    assert.equal(rest.length, Number(length[1]));
    return rest;
  }
  assert.match(head, /\r\ntransfer-encoding: chunked/i);
  const out: Buffer[] = [];
  for (;;) {
    const lf = rest.indexOf('\r\n');
    const size = parseInt(rest.subarray(0, lf).toString('latin1'), 16);
    if (size === 0) break;
    out.push(rest.subarray(lf + 2, lf + 2 + size));
    rest = rest.subarray(lf + 2 + size + 2);
  }
  return Buffer.concat(out);
}

test('fast path: large responses to stalled clients arrive intact while other reads reuse the read buffer', async (t) => {
  const servers = [await backend(), await backend()];
  const { gw, port } = await gatewayToBackends(servers, { host: HOST, key: 'default/relay-1' });
  t.after(async () => {
    await gw.close();
    for (const s of servers) s.close();
  });

  const paths: string[] = [];
  for (const [kind, size] of [
    ['length', 1_500_000],
    ['chunked', 1_200_000],
    ['length', 40_000],
    ['chunked', 9_000],
  ] as const)
    for (let i = 0; i < 3; i++) {
      const path = `/${kind}/${size}-${i}`;
      bodies.set(path, randomBytes(size));
      paths.push(path);
    }
  const got = await Promise.all(paths.map((p, i) => fetchSlowly(port, p, [0, 150, 400][i % 3])));
  for (const [i, p] of paths.entries()) assert.equal(sha(bodyOf(got[i])), sha(bodies.get(p)!), p);
});

/** Sends `head` on `c` and resolves with the whole response (Content-Length framed). */
function exchange(c: net.Socket, head: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = '';
    const onData = (d: Buffer): void => {
      got += d.toString('latin1');
      const end = got.indexOf('\r\n\r\n');
      const length = /\r\ncontent-length: (\d+)/i.exec(got);
      if (end >= 0 && length !== null && got.length >= end + 4 + Number(length[1])) {
        c.off('data', onData);
        resolve(got);
      }
    };
    c.on('data', onData);
    c.once('error', reject);
    c.write(head);
  });
}

test('fast path: a repeated request head is sent as edited the first time, K-Proxy-Request only when held', async (t) => {
  const seen: string[] = [];
  let release: (() => void) | null = null;
  const server = net.createServer((s) => {
    let got = '';
    s.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      for (let end = got.indexOf('\r\n\r\n'); end >= 0; end = got.indexOf('\r\n\r\n')) {
        const head = got.slice(0, end);
        got = got.slice(end + 4);
        seen.push(head);
        const reply = (): void => void s.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
        // /slow is answered when the test says so: it holds the one slot.
        if (head.startsWith('GET /slow ')) release = reply;
        else reply();
      }
    });
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { gw, port } = await gatewayToBackends([server], { host: HOST, key: 'default/repeat-1', containerConcurrency: 1 });
  const connect = (): Promise<net.Socket> =>
    new Promise((r) => {
      const c: net.Socket = net.connect(port, '127.0.0.1', () => r(c));
    });
  const [a, b] = [await connect(), await connect()];
  t.after(async () => {
    a.destroy();
    b.destroy();
    await gw.close();
    server.close();
  });
  const head = `GET /r?x=1 HTTP/1.1\r\nHost: ${HOST}\r\nX-Forwarded-For: 10.0.0.1\r\nUser-Agent: t\r\n\r\n`;
  await exchange(a, head);
  await exchange(a, head);
  assert.equal(seen.length, 2);
  assert.equal(seen[1], seen[0]);
  assert.doesNotMatch(seen[0], /k-proxy-request/i);
  // b's first request waits for the slot /slow holds, so it goes as through the activator.
  const slow = exchange(a, `GET /slow HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`);
  while (release === null) await sleep(5);
  const held = exchange(b, head);
  await sleep(50);
  (release as () => void)();
  await slow;
  await held;
  await exchange(b, head);
  assert.equal(seen.length, 5);
  assert.match(seen[3], /\r\nk-proxy-request: activator/i);
  assert.equal(seen[3].replace(/\r\nk-proxy-request: activator/i, ''), seen[0]);
  assert.equal(seen[4], seen[0]);
});

test('fast path: a response head seen again is edited as the first time, per method and client Connection', async (t) => {
  let head = 'HTTP/1.1 200 OK\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT\r\nX-A: 1\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\n';
  const server = net.createServer((s) => {
    let got = '';
    s.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      for (let end = got.indexOf('\r\n\r\n'); end >= 0; end = got.indexOf('\r\n\r\n')) {
        const isHead = got.startsWith('HEAD ');
        got = got.slice(end + 4);
        s.write(isHead ? head : `${head}ok`);
      }
    });
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { gw, port } = await gatewayToBackends([server], { host: HOST, key: 'default/heads-1' });
  const c: net.Socket = await new Promise((r) => {
    const s: net.Socket = net.connect(port, '127.0.0.1', () => r(s));
  });
  t.after(async () => {
    c.destroy();
    await gw.close();
    server.close();
  });
  /** One request on c; a HEAD answer has no body, so it ends at its head. */
  const ask = (method: string, extra = ''): Promise<string> =>
    new Promise((resolve) => {
      let got = '';
      const onData = (d: Buffer): void => {
        got += d.toString('latin1');
        const end = got.indexOf('\r\n\r\n');
        if (end >= 0 && got.length >= end + 4 + (method === 'HEAD' ? 0 : 2)) {
          c.off('data', onData);
          resolve(got);
        }
      };
      c.on('data', onData);
      c.write(`${method} / HTTP/1.1\r\nHost: ${HOST}\r\n${extra}\r\n`);
    });
  const get1 = await ask('GET');
  assert.match(
    get1,
    /^HTTP\/1\.1 200 OK\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT\r\nX-A: 1\r\nContent-Length: 2\r\nConnection: keep-alive\r\n/,
  );
  assert.ok(get1.endsWith('\r\n\r\nok'));
  assert.equal(await ask('GET'), get1);
  const head1 = await ask('HEAD');
  assert.equal(head1, get1.slice(0, -2));
  assert.equal(await ask('HEAD'), head1);
  assert.equal(await ask('GET'), get1);
  // A changed head is parsed and edited anew.
  head = head.replace('X-A: 1', 'X-A: 2');
  const get2 = await ask('GET');
  assert.equal(get2, get1.replace('X-A: 1', 'X-A: 2'));
  assert.equal(await ask('GET'), get2);
  const last = await ask('GET', 'Connection: close\r\n');
  assert.match(last, /\r\nConnection: close\r\n/);
  assert.doesNotMatch(last, /keep-alive/i);
});
