// The fast path's parsers on their own: the request head parser takes only plain HTTP/1.1 and
// never a request llhttp refuses (the smuggling/framing table), the chunked reader finds the same
// data and end however the bytes are split, and malformed backend responses are refused.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ChunkedReader } from '../../src/dataplane/fastpath/chunked.js';
import { isNotPlain, MAX_HEAD_BYTES, parseRequestHead, parseResponseHead, ResponseError } from '../../src/dataplane/fastpath/heads.js';
import { FRAMING_CASES } from '../support/smuggling-cases.js';

test('framing table: the fast path relays only plain requests, never one node:http refuses', () => {
  for (const c of FRAMING_CASES) {
    if (c.node === 'refuses') assert.equal(c.fast, false, `table error: ${c.name} is refused by node:http but marked fast`);
    const r = parseRequestHead(Buffer.from(c.raw, 'latin1'));
    assert.equal(!isNotPlain(r), c.fast, `${c.name}: ${isNotPlain(r) ? r.reason : 'taken'}`);
  }
});

test('request head: fields as node:http would give them', () => {
  const raw =
    'POST /a/b?c=d%20e HTTP/1.1\r\nHost: X.Example.com\r\nContent-Length: 5\r\nX-Tab:\t v\r\nConnection: keep-alive, close\r\n\r\nhello';
  const r = parseRequestHead(Buffer.from(raw, 'latin1'));
  assert.ok(!isNotPlain(r));
  assert.equal(r.method, 'POST');
  assert.equal(r.target, '/a/b?c=d%20e');
  assert.deepEqual({ ...r.headers }, { host: 'X.Example.com', 'content-length': '5', 'x-tab': 'v', connection: 'keep-alive, close' });
  assert.equal(r.contentLength, 5);
  assert.equal(r.close, true);
  assert.equal(raw.slice(r.end), 'hello');
});

test('request head: incomplete heads, oversized heads and Upgrade are not plain', () => {
  const whole = 'GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n\r\n';
  for (let cut = 0; cut < whole.length; cut++) {
    const r = parseRequestHead(Buffer.from(whole.slice(0, cut), 'latin1'));
    assert.ok(isNotPlain(r), `cut at ${cut}`);
    // A cut inside a line is "incomplete"; a cut at a CR can also be seen as a bare CR: both hand over.
  }
  assert.ok(isNotPlain(parseRequestHead(Buffer.from(`GET / HTTP/1.1\r\nHost: a\r\nX: ${'a'.repeat(MAX_HEAD_BYTES)}\r\n\r\n`))));
  for (const h of [
    'Connection: Upgrade\r\nUpgrade: websocket',
    'Connection: keep-alive, Upgrade',
    'Upgrade: h2c',
    'HTTP2-Settings: AAA',
    'Trailer: X-T',
  ])
    assert.ok(isNotPlain(parseRequestHead(Buffer.from(`GET / HTTP/1.1\r\nHost: a\r\n${h}\r\n\r\n`))), h);
  assert.ok(isNotPlain(parseRequestHead(Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'))), 'HTTP/2 preface');
});

function readAll(body: string, splits: number[]): { data: string; end: number } {
  const buf = Buffer.from(body, 'latin1');
  const r = new ChunkedReader();
  let data = '';
  let at = 0;
  let end = -1;
  const bounds = [...splits, buf.length];
  for (const b of bounds) {
    const piece = buf.subarray(at, b);
    const e = r.read(piece, 0, piece.length, (x, s, t) => (data += x.toString('latin1', s, t)));
    if (e >= 0) {
      end = at + e;
      break;
    }
    at = b;
  }
  return { data, end };
}

test('chunked reader: same data and end at every split point; extensions and trailers dropped', () => {
  const body = '5;name="v"\r\nhello\r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\nNEXT';
  const expected = { data: 'hello0123456789', end: body.length - 4 };
  assert.deepEqual(readAll(body, []), expected);
  for (let i = 1; i < body.length - 4; i++) assert.deepEqual(readAll(body, [i]), expected, `split at ${i}`);
  assert.deepEqual(readAll('0\r\n\r\n', []), { data: '', end: 5 });
});

test('chunked reader: malformed framing is an error', () => {
  for (const bad of ['zz\r\n', '\r\n', '3\r\nabcX\r\n', '3;\x01\r\nabc\r\n', 'FFFFFFFFFFFFFFFF\r\n', '3\rxabc', '0\r\nX\nY\r\n\r\n']) {
    assert.throws(
      () => readAll(bad, []),
      (e: unknown) => e instanceof ResponseError,
      JSON.stringify(bad),
    );
  }
});

test('response head: framing, 1xx, and ambiguous framing refused', () => {
  const ok = parseResponseHead(
    Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 3\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\nX-A: 1\r\nx-a: 2\r\n\r\nabc'),
    1 << 14,
  );
  assert.ok(ok);
  assert.equal(ok.status, 200);
  assert.equal(ok.contentLength, 3);
  assert.deepEqual(ok.headers['set-cookie'], ['a=1', 'b=2']);
  assert.equal(ok.headers['x-a'], '1, 2');
  const chunked = parseResponseHead(Buffer.from('HTTP/1.1 200 \r\nTransfer-Encoding: gzip, chunked\r\n\r\n'), 1 << 14);
  assert.equal(chunked?.chunked, true);
  assert.equal(chunked?.reason, '');
  const close = parseResponseHead(Buffer.from('HTTP/1.0 200 OK\r\n\r\n'), 1 << 14);
  assert.equal(close?.http10, true);
  assert.equal(close?.contentLength, -1);
  assert.equal(parseResponseHead(Buffer.from('HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n'), 1 << 14)?.status, 103);
  assert.equal(parseResponseHead(Buffer.from('HTTP/1.1 200 OK\r\nX: 1\r\n'), 1 << 14), null);
  for (const bad of [
    'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n',
    'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n',
    'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n',
    'HTTP/1.1 2000 OK\r\n\r\n',
    'HTTX/1.1 200 OK\r\n\r\n',
    'HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n',
    'HTTP/1.1 200 OK\r\nX: a\x00b\r\n\r\n',
  ])
    assert.throws(() => parseResponseHead(Buffer.from(bad, 'latin1'), 1 << 14), ResponseError, JSON.stringify(bad));
  assert.throws(() => parseResponseHead(Buffer.alloc(20000, 65), 1 << 14), ResponseError);
});
