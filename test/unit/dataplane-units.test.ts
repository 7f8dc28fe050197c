// Pure pieces of the data plane: split schedule, host normalisation, routing table, concurrency meter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildSchedule, integerWeights, Split } from '../../src/dataplane/split.js';
import { normalizeHost, RoutingTable } from '../../src/dataplane/router.js';
import { ConcurrencyMeter, RevisionStats } from '../../src/dataplane/stats.js';
import { registerGatewayMetrics } from '../../src/dataplane/metrics.js';
import { Registry } from '../../src/observability/registry.js';
import { RevisionState } from '../../src/dataplane/revision.js';

function shares(weights: number[], picks: number): number[] {
  const s = new Split(
    weights.map((_, i) => i),
    weights,
  );
  const counts = weights.map(() => 0);
  for (let i = 0; i < picks; i++) counts[s.pick()!]++;
  return counts.map((c) => (100 * c) / picks);
}

test('50/50 and 40/30/30 over 2000 picks are exact', () => {
  assert.deepEqual(shares([50, 50], 2000), [50, 50]);
  assert.deepEqual(shares([40, 30, 30], 2000), [40, 30, 30]);
  for (const s of shares([40, 30, 30], 2000)) assert.ok(Number.isFinite(s));
});

test('odd shares are within a point over 2000 picks, 0% never picked', () => {
  const got = shares([33, 33, 34, 0], 2000);
  assert.ok(Math.abs(got[0] - 33) <= 1 && Math.abs(got[1] - 33) <= 1 && Math.abs(got[2] - 34) <= 1, String(got));
  assert.equal(got[3], 0);
  assert.deepEqual(shares([0, 100], 50), [0, 100]);
});

test('schedule is interleaved, not bursty', () => {
  const s = buildSchedule([40, 30, 30]);
  assert.equal(s.length, 10); // reduced by gcd
  // No target appears more than twice in a row.
  let run = 1;
  for (let i = 1; i < s.length; i++) {
    run = s[i] === s[i - 1] ? run + 1 : 1;
    assert.ok(run <= 2, `run of ${run} in ${s.join(',')}`);
  }
  assert.deepEqual(buildSchedule([0, 0]), []);
  assert.deepEqual(buildSchedule([]), []);
});

test('integer weights: fractions, junk and huge values', () => {
  assert.deepEqual(integerWeights([12.5, 87.5]), [1, 7]);
  assert.deepEqual(integerWeights([-1, NaN, 5]), [0, 0, 1]);
  const big = integerWeights([1e9, 1]);
  assert.ok(big[1] >= 1 && big.reduce((a, b) => a + b) <= 10_001);
});

test('normalizeHost strips port and trailing dot, lower-cases, keeps IPv6 brackets', () => {
  assert.equal(normalizeHost('Stock.Default.Example.com:8080'), 'stock.default.example.com');
  assert.equal(normalizeHost('a.b.'), 'a.b');
  assert.equal(normalizeHost('[::1]:80'), '[::1]');
  assert.equal(normalizeHost('plain'), 'plain');
});

test('routing table: exact, port alias, normalised fallback; unchanged routes keep their cycle', () => {
  const t = new RoutingTable<string>();
  t.replace([{ host: 'a.ns.example.com', targets: [{ revisionKey: 'ns/a-1', percent: 100 }] }], (k) => k);
  t.setPort(8080);
  const at = (host: string) => t.resolve({ host }).target;
  assert.equal(at('a.ns.example.com'), 'ns/a-1');
  assert.equal(at('a.ns.example.com:8080'), 'ns/a-1');
  assert.equal(at('A.NS.example.com:9999'), 'ns/a-1');
  assert.equal(t.lookup('b.ns.example.com'), undefined);

  const routes = [
    {
      host: 'x',
      targets: [
        { revisionKey: 'r1', percent: 50 },
        { revisionKey: 'r2', percent: 50 },
      ],
    },
  ];
  t.replace(routes, (k) => k);
  const r = t.lookup('x')!;
  t.resolve({ host: 'x' });
  t.replace([...routes, { host: 'y', targets: [] }], (k) => k);
  assert.equal(t.lookup('x'), r, 'unchanged route object reused');
  assert.equal(r.split.cursor, 1);
  assert.deepEqual([...t.referencedKeys()].sort(), ['r1', 'r2']);
});

test('routing table: one resolution answers every request, with the reason when it cannot route', () => {
  const t = new RoutingTable<string>();
  t.replace(
    [
      { host: 'a.ns.example.com', targets: [{ revisionKey: 'ns/a-1', percent: 100 }] },
      { host: 'z.ns.example.com', targets: [] },
    ],
    (k) => k,
  );
  const plain = t.resolve({ host: 'a.ns.example.com' });
  assert.equal(t.resolve({ host: 'a.ns.example.com' }), plain, 'a plain split answers with a precomputed object');
  assert.deepEqual(
    [t.resolve({}), t.resolve({ host: 'B.ns.example.com:80' }), t.resolve({ host: 'z.ns.example.com' })].map((r) => [
      r.target,
      'status' in r ? r.status : 0,
      'reason' in r ? r.reason : '',
    ]),
    [
      [undefined, 400, 'no_host'],
      [undefined, 404, 'unknown_host'],
      [undefined, 503, 'no_targets'],
    ],
  );
  const unknown = t.resolve({ host: 'B.ns.example.com:80' });
  assert.match(unknown.target === undefined ? unknown.message : '', /no service is routed at host "b\.ns\.example\.com"/);
});

test('routing table: a cluster-local host is unknown to the public listener, answered on the internal one', () => {
  const t = new RoutingTable<string>();
  const to = [{ revisionKey: 'ns/a-1', percent: 100 }];
  t.upsert(
    'ns/a',
    [
      { host: 'a.ns.example.com', targets: to },
      { host: 'a.ns.svc.cluster.local', targets: to, visibility: 'cluster-local' },
    ],
    (k) => k,
  );
  assert.equal(t.resolve({ host: 'a.ns.example.com' }).target, 'ns/a-1');
  assert.equal(t.resolve({ host: 'a.ns.example.com' }, true).target, 'ns/a-1', 'public hosts are served internally too');
  const outside = t.resolve({ host: 'a.ns.svc.cluster.local' });
  assert.equal(outside.target, undefined);
  assert.equal(outside.target === undefined && outside.status, 404);
  assert.equal(outside.target === undefined && outside.message, 'sluice gateway: no service is routed at host "a.ns.svc.cluster.local"');
  assert.equal(t.resolve({ host: 'a.ns.svc.cluster.local' }, true).target, 'ns/a-1');
  // The same host turning public (the label removed) is recompiled, not kept as it was.
  t.upsert('ns/a', [{ host: 'a.ns.svc.cluster.local', targets: to }], (k) => k);
  assert.equal(t.resolve({ host: 'a.ns.svc.cluster.local' }).target, 'ns/a-1');
});

test('concurrency meter integrates level over time, cumulatively', () => {
  const m = new ConcurrencyMeter(0);
  m.change(1, 0); // 1 from 0..100
  m.change(1, 100); // 2 from 100..200
  m.change(-2, 200); // 0 from 200..400
  assert.equal(m.areaAt(400), 100 * 1 + 100 * 2);
  assert.equal(m.areaAt(400), 300, 'reading changes nothing');
  m.change(3, 400);
  assert.equal(m.areaAt(500) - m.areaAt(400), 300);
});

test('revision state: breaker picks least loaded with room, FIFO unlinks from the middle', () => {
  const r = new RevisionState('ns/r', 0);
  r.containerConcurrency = 1;
  r.setEndpoints([
    { id: 'a', host: '127.0.0.1', port: 1 },
    { id: 'b', host: '127.0.0.1', port: 2 },
  ]);
  const e1 = r.acquire()!;
  const e2 = r.acquire()!;
  assert.notEqual(e1, e2);
  assert.equal(r.acquire(), null);
  r.release(e1);
  assert.equal(r.acquire(), e1);
  assert.equal(r.acquire(e1), null);

  const n = () => ({ qPrev: null, qNext: null, queued: false });
  const [a, b, c] = [n(), n(), n()];
  r.enqueue(a);
  r.enqueue(b);
  r.enqueue(c);
  r.unlink(b);
  assert.equal(r.queued, 2);
  assert.equal(r.shift(), a);
  assert.equal(r.shift(), c);
  assert.equal(r.shift(), null);
  r.destroyPools();
});

test('metrics text is well-formed', () => {
  const st = new RevisionStats(0);
  st.observe(200, 0.02);
  st.observe(503, 2);
  const reg = new Registry();
  registerGatewayMetrics(reg, {
    revisionViews: () => [{ key: 'default/app-00001', stats: st, inFlight: 1, queued: 2 }],
    rejections: () => new Map([['timeout', 3]]),
  });
  const text = reg.render();
  assert.match(text, /sluice_gateway_requests_total\{namespace="default",revision="app-00001",code="2xx"\} 1/);
  assert.match(text, /sluice_gateway_requests_queued\{namespace="default",revision="app-00001"\} 2/);
  assert.match(text, /sluice_gateway_request_duration_seconds_bucket\{namespace="default",revision="app-00001",le="\+Inf"\} 2/);
  assert.match(text, /sluice_gateway_rejected_total\{reason="timeout"\} 3/);
});

test('retry policy: refused always, broken connections only for idempotent methods', async () => {
  const { isRetryable } = await import('../../src/dataplane/proxy.js');
  const err = (code: string) => Object.assign(new Error(code), { code });
  assert.equal(isRetryable(err('ECONNREFUSED'), 'POST'), true);
  assert.equal(isRetryable(err('ECONNRESET'), 'GET'), true);
  assert.equal(isRetryable(err('ECONNRESET'), 'POST'), false);
  assert.equal(isRetryable(err('ETIMEDOUT'), 'GET'), false);
  assert.equal(isRetryable(new Error('x'), 'GET'), false);
});
