// Timers computed from user input stay within setTimeout's range (a longer delay fires after
// 1 ms in Node), for the helper itself and for the probe timings built from a Knative probe.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { normalizeProbe, type ProbeConfig } from '../../src/runtime/local/probe.js';
import { clampDelay, MAX_TIMEOUT_MS } from '../../src/timers.js';

test('clampDelay keeps every delay inside [0, 2^31-1]', () => {
  const rows: [number, number][] = [
    [0, 0],
    [1500, 1500],
    [MAX_TIMEOUT_MS, MAX_TIMEOUT_MS],
    [MAX_TIMEOUT_MS + 1, MAX_TIMEOUT_MS],
    [3_000_000_000, MAX_TIMEOUT_MS],
    [Infinity, MAX_TIMEOUT_MS],
    [-5, 0],
    [NaN, 0],
  ];
  for (const [input, want] of rows) assert.equal(clampDelay(input), want, String(input));
});

test('probe periods, delays and timeouts far past setTimeout range are clamped, not overflowed', () => {
  const p = normalizeProbe(
    { tcpSocket: {}, periodSeconds: 3_000_000, initialDelaySeconds: 2_147_483_647, timeoutSeconds: 2_147_483_647 },
    undefined,
    'readinessProbe',
  ) as ProbeConfig;
  assert.equal(p.periodMs, MAX_TIMEOUT_MS);
  assert.equal(p.initialDelayMs, MAX_TIMEOUT_MS);
  assert.equal(p.timeoutMs, MAX_TIMEOUT_MS);
  const normal = normalizeProbe({ tcpSocket: {}, periodSeconds: 3, timeoutSeconds: 2 }, undefined, 'r') as ProbeConfig;
  assert.equal(normal.periodMs, 3000);
  assert.equal(normal.timeoutMs, 2000);
});
