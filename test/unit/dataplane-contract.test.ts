// Pure pieces of the gateway's Knative data-plane contract and HTTP/2 handling: request headers,
// probes, deadline verdicts, connection sniffing, HPACK literals, protocol by port name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { forwardedFrom, editRequestHeaders, downstreamHeaders } from '../../src/dataplane/proxy.js';
import { probeAnswer } from '../../src/dataplane/probes.js';
import { idleVerdict, timeoutOutcome } from '../../src/dataplane/deadlines.js';
import { claimsH2Preface, decide, H2_PREFACE, type Claimant } from '../../src/dataplane/connections.js';
import { hpackInt, hpackLiterals } from '../../src/dataplane/h2/hpack.js';
import { h2RequestHeaders, h2ErrorCode } from '../../src/dataplane/h2/upstream.js';
import { servingProtocol } from '../../src/controllers/revision.js';
import type { KObject } from '../../src/api/types.js';

test("forwardedFrom builds RFC 7239 Forwarded as Knative's queue-proxy shim does", () => {
  const cases: Array<[string, string, string, string]> = [
    ['1.2.3.4', 'http', 'a.example', 'for=1.2.3.4;host=a.example;proto=http'],
    ['1.2.3.4, 5.6.7.8', 'https', '', 'for=1.2.3.4;proto=https, for=5.6.7.8'],
    ['::1', 'http', '', 'for="[::1]";proto=http'],
    ['', 'http', 'h', 'host=h;proto=http'],
    ['', '', '', ''],
  ];
  for (const [xff, xfp, xfh, want] of cases) assert.equal(forwardedFrom(xff, xfp, xfh), want, `${xff}|${xfp}|${xfh}`);
});

test('upstreamHeaders: hop-by-hop, pseudo and internal headers go; TE: trailers stays; forwarding headers set once', () => {
  const out = editRequestHeaders(
    {
      host: 'a.example',
      connection: 'keep-alive, x-hop',
      'x-hop': '1',
      te: 'trailers',
      ':authority': 'a.example',
      'k-proxy-request': 'activator',
      'k-network-hash': 'x',
      expect: '100-continue',
      'content-type': 'application/grpc',
    },
    '10.0.0.9',
    false,
    false,
  );
  assert.deepEqual(out, {
    host: 'a.example',
    te: 'trailers',
    'content-type': 'application/grpc',
    'x-forwarded-for': '10.0.0.9',
    'x-forwarded-proto': 'http',
    'x-forwarded-host': 'a.example',
    forwarded: 'for=10.0.0.9;host=a.example;proto=http',
  });
  assert.equal(editRequestHeaders({ te: 'gzip' }, '1.1.1.1', false, false).te, undefined);
  assert.equal(editRequestHeaders({}, '1.1.1.1', false, true)['k-proxy-request'], 'activator');
  assert.deepEqual(downstreamHeaders({ ':status': '200', connection: 'close', 'x-a': '1' }), { 'x-a': '1' });
});

test("probeAnswer: which requests the gateway answers itself, with Knative's answers", () => {
  const cases: Array<[Record<string, string>, boolean, { status: number; body: string } | null]> = [
    [{}, false, null],
    [{ 'user-agent': 'curl/8' }, false, null],
    [{ 'k-network-probe': '' }, false, null],
    [{ 'user-agent': 'kube-probe/1.30' }, false, { status: 200, body: '' }],
    [{ 'k-kubelet-probe': 'x' }, false, { status: 200, body: '' }],
    [{ 'user-agent': 'kube-probe/1.30', 'k-network-probe': 'bogus' }, false, { status: 200, body: '' }],
    [{ 'user-agent': 'kube-probe/1.30' }, true, { status: 503, body: 'shutting down\n' }],
    [{ 'k-network-probe': 'probe', 'k-network-hash': 'h' }, false, { status: 200, body: '' }],
    [{ 'k-network-probe': 'probe' }, false, { status: 400, body: 'a probe request must contain a non-empty "K-Network-Hash" header\n' }],
    [{ 'k-network-probe': 'activator' }, false, { status: 200, body: 'activator' }],
    [{ 'k-network-probe': 'queue' }, false, { status: 400, body: 'unexpected probe header value: "queue"\n' }],
  ];
  for (const [h, closing, want] of cases) {
    const got = probeAnswer(h, closing);
    assert.deepEqual(got && { status: got.status, body: got.body }, want, JSON.stringify(h));
  }
  assert.deepEqual(probeAnswer({ 'k-network-probe': 'probe', 'k-network-hash': 'h' }, false)?.headers, { 'k-network-hash': 'h' });
});

test('deadline verdicts: idle re-arms for what is left, a started response is cut, else 504 with whose body', () => {
  assert.deepEqual(idleVerdict(1000, 0, 1000), { timedOut: true });
  assert.deepEqual(idleVerdict(1000, 400, 1000), { timedOut: false, recheckMs: 400 });
  assert.deepEqual(idleVerdict(1000, 1000, 1000), { timedOut: false, recheckMs: 1000 });
  assert.deepEqual(timeoutOutcome(true, false), { cut: true });
  assert.deepEqual(timeoutOutcome(false, true), { cut: false, status: 504, body: 'activator request timeout' });
  assert.deepEqual(timeoutOutcome(false, false), { cut: false, status: 504, body: 'request timeout' });
});

test('connection sniffing: the HTTP/2 preface, byte by byte; claimants in order', () => {
  assert.equal(claimsH2Preface(Buffer.from('GET / HTTP/1.1\r\n')), 'no');
  assert.equal(claimsH2Preface(Buffer.from('P')), 'more');
  assert.equal(claimsH2Preface(Buffer.from('PRI * HTTP/2.0\r\n')), 'more');
  assert.equal(claimsH2Preface(Buffer.from('PUT / HTTP/1.1')), 'no');
  assert.equal(claimsH2Preface(Buffer.concat([H2_PREFACE, Buffer.from([0, 0, 0, 4])])), 'yes');
  const c = (name: string, answer: (b: Buffer) => 'yes' | 'no' | 'more'): Claimant => ({ name, claims: answer, take: () => {} });
  const h2 = c('h2', claimsH2Preface);
  const fast = c('fast', (b) => (b.subarray(0, 4).toString() === 'GET ' ? 'yes' : b.length < 4 ? 'more' : 'no'));
  assert.equal(decide([h2, fast], Buffer.from('GET /')), fast);
  assert.equal(decide([h2, fast], Buffer.from('POST /')), 'fallback');
  assert.equal(decide([h2, fast], Buffer.from('PR')), 'more');
  assert.equal(decide([h2, fast], H2_PREFACE), h2);
});

test('HPACK integers and literal fields (RFC 7541 C.1, C.2.2)', () => {
  const out: number[] = [];
  hpackInt(10, 5, out);
  assert.deepEqual(out, [10]);
  const big: number[] = [];
  hpackInt(1337, 5, big);
  assert.deepEqual(big, [31, 154, 10]);
  // C.2.2 is ":path: /sample/path" without indexing but with an indexed name; the all-literal form:
  assert.equal(hpackLiterals([[':path', '/sample/path']]).toString('hex'), '00053a70617468' + '0c2f73616d706c652f70617468');
});

test('h2RequestHeaders: pseudo-headers from the request, Host as :authority, HTTP/1-only fields dropped', () => {
  assert.deepEqual(
    h2RequestHeaders('POST', '/pkg.Svc/Call', { host: 'a.example', 'transfer-encoding': 'chunked', te: 'trailers', 'x-a': '1' }),
    {
      ':method': 'POST',
      ':scheme': 'http',
      ':path': '/pkg.Svc/Call',
      ':authority': 'a.example',
      te: 'trailers',
      'x-a': '1',
    },
  );
  assert.equal(
    h2ErrorCode(Object.assign(new Error('x'), { code: 'ERR_HTTP2_STREAM_CANCEL', cause: { code: 'ECONNREFUSED' } })),
    'ECONNREFUSED',
  );
  assert.equal(
    h2ErrorCode(Object.assign(new Error('Stream closed with error code NGHTTP2_REFUSED_STREAM'), { code: 'ERR_HTTP2_STREAM_ERROR' })),
    'ECONNREFUSED',
  );
});

test('servingProtocol: a port named h2c on the serving container means HTTP/2 cleartext', () => {
  const rev = (containers: unknown[]) => ({ metadata: {}, spec: { containers } }) as unknown as KObject;
  assert.equal(servingProtocol(rev([{ image: 'x', ports: [{ name: 'h2c', containerPort: 8080 }] }])), 'h2c');
  assert.equal(servingProtocol(rev([{ image: 'x', ports: [{ name: 'http1', containerPort: 8080 }] }])), 'http1');
  assert.equal(servingProtocol(rev([{ image: 'x' }])), 'http1');
  assert.equal(servingProtocol(rev([{ image: 'side' }, { image: 'x', ports: [{ name: 'h2c' }] }])), 'h2c');
});
