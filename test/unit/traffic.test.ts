import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveTraffic } from '../../src/controllers/traffic.js';
import { hostRoutesFor } from '../../src/controllers/route-ingress.js';

const lookups = (ready: Record<string, 'True' | 'False' | 'Unknown'>, latestReady?: string) => ({
  revision: (n: string) => ({ exists: n in ready, ready: ready[n] ?? ('Unknown' as const) }),
  latestReady: (c: string) => ({ exists: c === 'stock', latestReady }),
});

test('latestRevision follows the latest ready revision; tags get their own hosts', () => {
  const { targets, problem } = resolveTraffic(
    [
      { tag: 'v1', revisionName: 'stock-v1', percent: 50, latestRevision: false },
      { tag: 'v2', revisionName: 'stock-v2', percent: 50, latestRevision: false },
      { tag: 'latest', configurationName: 'stock', latestRevision: true, percent: 0 },
    ],
    lookups({ 'stock-v1': 'True', 'stock-v2': 'True', 'stock-v3': 'True' }, 'stock-v3'),
  );
  assert.equal(problem, undefined);
  assert.deepEqual(
    targets.map((t) => [t.tag, t.revisionName, t.percent, t.latestRevision]),
    [
      ['v1', 'stock-v1', 50, false],
      ['v2', 'stock-v2', 50, false],
      ['latest', 'stock-v3', 0, true],
    ],
  );
  const hosts = hostRoutesFor('default', 'stock', 'example.com', targets);
  assert.deepEqual(hosts[0], {
    host: 'stock.default.example.com',
    targets: [
      { revisionKey: 'default/stock-v1', percent: 50 },
      { revisionKey: 'default/stock-v2', percent: 50 },
    ],
  });
  assert.deepEqual(
    hosts.slice(1).map((h) => [h.host, h.targets[0].revisionKey]),
    [
      ['v1-stock.default.example.com', 'default/stock-v1'],
      ['v2-stock.default.example.com', 'default/stock-v2'],
      ['latest-stock.default.example.com', 'default/stock-v3'],
    ],
  );
});

test('a missing revision is reported, not silently dropped', () => {
  const { problem } = resolveTraffic([{ revisionName: 'stock-v9', percent: 100 }], lookups({}));
  assert.deepEqual(problem, {
    status: 'False',
    reason: 'RevisionMissing',
    message: 'Revision "stock-v9" referenced in traffic not found.',
  });
  const latest = [{ configurationName: 'stock', latestRevision: true, percent: 100 }];
  const waiting = resolveTraffic(latest, lookups({}));
  assert.deepEqual(waiting.problem, {
    status: 'Unknown',
    reason: 'RevisionMissing',
    message: 'Configuration "stock" is waiting for a Revision to become ready.',
  });
  // The configuration's latest revision failed: the route fails too (Knative's error-condition tests).
  const failed = resolveTraffic(latest, { ...lookups({}), latestReady: () => ({ exists: true, failed: true }) });
  assert.deepEqual(failed.problem, {
    status: 'False',
    reason: 'RevisionMissing',
    message: 'Configuration "stock" does not have any ready Revision.',
  });
  const pinnedFailed = resolveTraffic([{ revisionName: 'stock-v1', percent: 100 }], lookups({ 'stock-v1': 'False' }));
  assert.deepEqual(pinnedFailed.problem, {
    status: 'False',
    reason: 'RevisionMissing',
    message: 'Revision "stock-v1" failed to become ready.',
  });
  assert.equal(pinnedFailed.targets.length, 1);
});
