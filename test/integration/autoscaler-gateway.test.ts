import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideEventGateway, type GatewayInstance } from '../../src/autoscaler/event-gateway.js';

const NOW = 1_700_000_000_000;
const idle = (id: string, idleMs: number): GatewayInstance => ({ id, busy: false, lastBusy: NOW - idleMs });
const busy = (id: string): GatewayInstance => ({ id, busy: true, lastBusy: NOW });

test('one instance per request, capped by max-scale (table)', () => {
  const rows: Array<[string, number, number, GatewayInstance[], number, number]> = [
    // name, pending, inFlight, instances, maxScale, want
    ['first request at zero', 1, 0, [], 0, 1],
    ['burst at zero', 7, 0, [], 0, 7],
    ['capped', 7, 0, [], 5, 5],
    ['pending on top of busy', 2, 3, [busy('a'), busy('b'), busy('c')], 0, 5],
    ['warm idle instance absorbs a request', 1, 1, [busy('a'), idle('b', 1000)], 0, 2],
    ['nothing to do', 0, 2, [busy('a'), busy('b')], 0, 2],
  ];
  for (const [name, pending, inFlight, instances, maxScale, want] of rows) {
    const d = decideEventGateway({ pending, inFlight, instances, idleTimeoutMs: 60_000, minScale: 0, maxScale }, NOW);
    assert.equal(d.desired, want, name);
    assert.deepEqual(d.release, [], name);
  }
});

test('instances idle longer than the timeout are released, longest idle first', () => {
  const d = decideEventGateway(
    {
      pending: 0,
      inFlight: 1,
      instances: [busy('a'), idle('b', 10_000), idle('c', 90_000), idle('d', 61_000), idle('e', 60_000)],
      idleTimeoutMs: 60_000,
      minScale: 0,
      maxScale: 0,
    },
    NOW,
  );
  assert.deepEqual(d.release, ['c', 'd', 'e']);
  assert.equal(d.desired, 2);
});

test('expired instances are reused rather than released when requests wait', () => {
  const d = decideEventGateway(
    {
      pending: 2,
      inFlight: 0,
      instances: [idle('old', 500_000), idle('older', 900_000), idle('oldest', 990_000)],
      idleTimeoutMs: 60_000,
      minScale: 0,
      maxScale: 0,
    },
    NOW,
  );
  assert.equal(d.desired, 2);
  assert.deepEqual(d.release, ['oldest']);
});

test('min-scale keeps instances even when idle', () => {
  const d = decideEventGateway(
    { pending: 0, inFlight: 0, instances: [idle('a', 900_000), idle('b', 800_000)], idleTimeoutMs: 60_000, minScale: 1, maxScale: 0 },
    NOW,
  );
  assert.equal(d.desired, 1);
  assert.deepEqual(d.release, ['a']);
});

test('all idle past the timeout: back to zero', () => {
  const d = decideEventGateway(
    { pending: 0, inFlight: 0, instances: [idle('a', 61_000)], idleTimeoutMs: 60_000, minScale: 0, maxScale: 0 },
    NOW,
  );
  assert.equal(d.desired, 0);
  assert.deepEqual(d.release, ['a']);
});

test('above max-scale: idle instances go first', () => {
  const d = decideEventGateway(
    { pending: 0, inFlight: 1, instances: [busy('a'), idle('b', 1000), idle('c', 5000)], idleTimeoutMs: 60_000, minScale: 0, maxScale: 2 },
    NOW,
  );
  assert.equal(d.desired, 2);
  assert.deepEqual(d.release, ['c']);
});
