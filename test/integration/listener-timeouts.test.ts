// The gateway's listener cuts off slow clients: headers trickled past the header timeout get a
// 408 and a closed connection, and an idle keep-alive connection is closed after the idle timeout
// (both shortened here; the defaults are nginx's 60 s and 75 s).

import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import { Gateway } from '../../src/dataplane/gateway.js';
import { DEFAULT_LISTENER_TIMEOUTS, listenerOptions } from '../../src/net/listener.js';

function open(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.on('error', reject);
  });
}

/** What the server sends until it closes the connection. */
function untilClosed(s: Socket): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    s.on('data', (c: Buffer) => (text += c.toString('utf8')));
    s.on('close', () => resolve(text));
  });
}

test(
  'gateway: a client trickling headers gets 408 at the header timeout; an idle keep-alive connection is closed',
  { timeout: 15_000 },
  async (t) => {
    const gateway = new Gateway({ timeouts: { headersTimeoutMs: 500, keepAliveTimeoutMs: 300 } });
    const port = await gateway.listen(0);
    t.after(() => gateway.close());

    const slow = await open(port);
    const answer = untilClosed(slow);
    slow.write('GET / HTTP/1.1\r\nHost: x.default.example.com\r\n');
    const trickle = setInterval(() => slow.write('X-Slow: 1\r\n'), 100);
    try {
      assert.match(await answer, /^HTTP\/1\.1 408 /);
    } finally {
      clearInterval(trickle);
    }

    // One complete request (no such route: 404), then silence: the server closes the connection.
    const idle = await open(port);
    const text = untilClosed(idle);
    idle.write('GET / HTTP/1.1\r\nHost: nothing.default.example.com\r\n\r\n');
    // Resolves only once the server has closed the idle connection.
    const got = await text;
    assert.match(got, /^HTTP\/1\.1 404 /);
    assert.doesNotMatch(got, /Connection: close/i);
  },
);

test('listener options: nginx defaults, overrides, and out-of-range values refused', () => {
  assert.deepEqual(DEFAULT_LISTENER_TIMEOUTS, { headersTimeoutMs: 60_000, keepAliveTimeoutMs: 75_000 });
  const o = listenerOptions({ headersTimeoutMs: 5000 });
  assert.equal(o.headersTimeout, 5000);
  assert.equal(o.keepAliveTimeout, 75_000);
  assert.throws(() => listenerOptions({ headersTimeoutMs: 0 }), /headersTimeoutMs must be a whole number/);
  assert.throws(() => listenerOptions({ keepAliveTimeoutMs: 2 ** 31 }), /keepAliveTimeoutMs/);
  assert.throws(() => new Gateway({ timeouts: { headersTimeoutMs: -1 } }), /headersTimeoutMs/);
});
