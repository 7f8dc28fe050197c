// A valid but huge probe period (periodSeconds: 3000000, beyond setTimeout's 24.8 days) must not
// turn into a probe every millisecond: a real probe loop against a real TCP listener.

import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { normalizeProbe, ProbeLoop, type ProbeConfig } from '../../src/runtime/local/probe.js';
import { waitFor } from '../support/poll.js';

test('periodSeconds: 3000000 probes once, then waits instead of storming', async (t) => {
  let connections = 0;
  const server = createServer((s) => {
    connections++;
    s.destroy();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const port = (server.address() as AddressInfo).port;
  const cfg = normalizeProbe({ tcpSocket: {}, periodSeconds: 3_000_000 }, undefined, 'livenessProbe') as ProbeConfig;
  const loop = new ProbeLoop(
    cfg,
    { host: '127.0.0.1', port, cwd: process.cwd(), env: {} },
    { initiallyPassing: true, fastUntilFirstPass: false },
    () => {},
  );
  loop.start();
  t.after(() => loop.stop());
  await waitFor('the first probe', () => connections >= 1);
  // With the overflowed timer the loop probed every millisecond (hundreds in this window); a
  // period clamped to setTimeout's range leaves the first probe the only one.
  const second = await waitFor('a second probe', () => connections >= 2, 500).then(
    () => true,
    () => false,
  );
  assert.equal(second, false, `${connections} probes`);
});
