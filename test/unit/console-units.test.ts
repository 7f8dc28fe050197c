// The console's pure parts: the snapshot it draws, the traffic an action means, the live ticks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject } from '../../src/api/types.js';
import { applyChanges, buildSnapshot, SnapshotModel, type LiveRevisionState } from '../../src/console/snapshot.js';
import { type ActionError, trafficFlags } from '../../src/console/actions.js';
import { LiveFeed } from '../../src/console/live.js';
import { RevisionStats, StatsReader } from '../../src/dataplane/stats.js';

const ready = { conditions: [{ type: 'Ready', status: 'True' }] };

function rev(name: string, extra: Record<string, unknown> = {}): KObject {
  return {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Revision',
    metadata: {
      namespace: 'default',
      name,
      labels: { 'serving.knative.dev/service': 'stock', 'serving.knative.dev/configuration': 'stock' },
    },
    status: ready,
    ...extra,
  } as KObject;
}

test('snapshot: the served split per service, each revision its share, tags and live state', () => {
  const svc = {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: { namespace: 'default', name: 'stock' },
    spec: { traffic: [{ revisionName: 'stock-v1', percent: 40 }] },
    status: {
      ...ready,
      url: 'http://stock.default.example.com',
      latestReadyRevisionName: 'stock-v3',
      traffic: [
        { tag: 'v1', revisionName: 'stock-v1', percent: 40 },
        { tag: 'v2', revisionName: 'stock-v2', percent: 30 },
        { revisionName: 'stock-v3', percent: 30 },
        { tag: 'latest', revisionName: 'stock-v3', latestRevision: true, percent: 0 },
      ],
    },
  } as unknown as KObject;
  const failing = rev('stock-v4', { status: { conditions: [{ type: 'Ready', status: 'False', message: 'exit code 1' }] } });
  const snap = buildSnapshot(
    { services: [svc], revisions: [rev('stock-v3'), rev('stock-v1'), rev('stock-v2'), failing], time: 5 },
    (key) => ({
      readyInstances: key.endsWith('v1') ? 2 : 0,
      desired: 2,
    }),
  );
  assert.deepEqual(
    snap.services[0].traffic.map((t) => [t.revisionName, t.percent, t.tag ?? '']),
    [
      ['stock-v1', 40, 'v1'],
      ['stock-v2', 30, 'v2'],
      ['stock-v3', 30, ''],
      ['stock-v3', 0, 'latest'],
    ],
  );
  assert.deepEqual(
    snap.revisions.map((r) => [r.name, r.percent, r.tags.join(','), r.readyInstances, r.ready]),
    [
      ['stock-v1', 40, 'v1', 2, 'True'],
      ['stock-v2', 30, 'v2', 0, 'True'],
      ['stock-v3', 30, 'latest', 0, 'True'],
      ['stock-v4', 0, '', 0, 'False'],
    ],
  );
  assert.equal(snap.revisions[3].message, 'exit code 1');
  assert.deepEqual(snap.rollouts, []);
  const withRollout = buildSnapshot(
    {
      services: [],
      revisions: [],
      rollouts: [
        {
          apiVersion: 'sluice.dev/v1alpha1',
          kind: 'Rollout',
          metadata: { namespace: 'default', name: 'stock' },
          spec: { steps: [10, 50] },
          status: { phase: 'Progressing', step: 0, canaryRevision: 'stock-v2', canaryWeight: 10, message: 'step 1 of 2' },
        } as KObject,
      ],
      time: 0,
    },
    () => ({ readyInstances: 0 }),
  );
  assert.deepEqual(withRollout.rollouts, [
    {
      namespace: 'default',
      name: 'stock',
      service: 'stock',
      steps: [10, 50],
      phase: 'Progressing',
      step: 0,
      canaryRevision: 'stock-v2',
      canaryWeight: 10,
      message: 'step 1 of 2',
    },
  ]);
  assert.equal(snap.revisions[0].service, 'stock');
});

test('actions: traffic, rollback and promote as traffic flags; bad bodies refused with reasons', () => {
  assert.deepEqual(trafficFlags('traffic', { traffic: { 'stock-v1': 60, v2: 40 } }), ['stock-v1=60', 'v2=40']);
  assert.deepEqual(trafficFlags('rollback', { revision: 'stock-v1' }), ['stock-v1=100']);
  assert.deepEqual(trafficFlags('promote', {}), ['@latest=100']);
  assert.throws(() => trafficFlags('traffic', { traffic: { a: 101 } }), /percent for "a" must be a whole number 0-100, got 101/);
  assert.throws(() => trafficFlags('traffic', { traffic: [] }), /"traffic" must be an object/);
  assert.throws(() => trafficFlags('rollback', { revision: 'Bad_Name' }), /"revision" must be a lower-case DNS label/);
  assert.throws(
    () => trafficFlags('delete', {}),
    (e: ActionError) => e.status === 404 && /unknown action "delete"/.test(e.message),
  );
});

test('live feed: per-second rates, error rate and quantiles from its own reader; history bounded', () => {
  let now = 0;
  const stats = new RevisionStats(0);
  const reader = new StatsReader({ now: () => now, revision: (k) => (k === 'ns/r' ? { stats, queued: 0, inFlight: 0 } : undefined) });
  const feed = new LiveFeed({
    reader,
    keys: () => ['ns/r', 'ns/r'],
    instances: () => ({ readyInstances: 2, desired: 3 }),
    now: () => now,
    history: 2,
  });
  for (let i = 0; i < 4; i++) {
    stats.arrivals++;
    stats.observe(i === 0 ? 503 : 200, 0.03);
  }
  now = 2000;
  const t1 = feed.tick();
  assert.deepEqual(t1.revisions['ns/r'], {
    rps: 2,
    errorsPerSecond: 0.5,
    errorRate: 0.25,
    p50Ms: 30,
    p99Ms: 39.8,
    concurrency: 0,
    readyInstances: 2,
    desired: 3,
  });
  now = 3000;
  assert.equal(feed.tick().revisions['ns/r'].p50Ms, null, 'no responses in the second: no latency');
  feed.tick();
  assert.equal(feed.history().length, 2);
});

test('live feed: ticks only while subscribed; after a pause the first point covers only the new second', () => {
  let now = 0;
  const stats = new RevisionStats(0);
  let reads = 0;
  const reader = new StatsReader({ now: () => now, revision: (k) => (k === 'ns/r' ? { stats, queued: 0, inFlight: 0 } : undefined) });
  const feed = new LiveFeed({
    reader,
    keys: () => {
      reads++;
      return ['ns/r'];
    },
    instances: () => ({ readyInstances: 0 }),
    now: () => now,
    intervalMs: 60_000,
  });
  feed.start();
  assert.equal(feed.ticking, false, 'nobody subscribed: no timer');
  assert.equal(reads, 0);
  for (let i = 0; i < 100; i++) stats.arrivals++; // traffic while nobody watched
  now = 100_000;
  const stop = feed.subscribe(() => {});
  assert.equal(feed.ticking, true);
  assert.equal(reads, 1, 'subscribing starts the windows');
  stats.arrivals += 3;
  now += 1000;
  assert.equal(feed.tick().revisions['ns/r'].rps, 3, 'not an average over the pause');
  stop();
  assert.equal(feed.ticking, false, 'the last subscriber gone: no timer');
  feed.stop();
});

function svcWith(name: string, rv: string, traffic: { revisionName: string; percent: number; tag?: string }[]): KObject {
  return {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: { namespace: 'default', name, resourceVersion: rv },
    status: { ...ready, traffic },
  } as unknown as KObject;
}

function revOf(service: string, name: string, rv: string, readyStatus = 'True'): KObject {
  return {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Revision',
    metadata: { namespace: 'default', name, resourceVersion: rv, labels: { 'serving.knative.dev/service': service } },
    status: { conditions: [{ type: 'Ready', status: readyStatus }] },
  } as unknown as KObject;
}

test('snapshot model: the same snapshot as buildSnapshot, then changes keyed by object, only for what changed', () => {
  const liveState = new Map<string, LiveRevisionState>();
  const live = (key: string) => liveState.get(key) ?? { readyInstances: 0 };
  const services = [svcWith('a', '1', [{ revisionName: 'a-1', percent: 100 }]), svcWith('b', '2', [{ revisionName: 'b-1', percent: 100 }])];
  const revisions = [revOf('a', 'a-1', '3'), revOf('a', 'a-2', '4', 'Unknown'), revOf('b', 'b-1', '5')];
  const m = SnapshotModel.of({ services, revisions }, live);
  assert.deepEqual(m.snapshot(7), buildSnapshot({ services, revisions, time: 7 }, live));
  const before = m.snapshot(7);

  const cases: { what: string; act: () => void; services: string[]; revisions: string[]; removed?: string[] }[] = [
    { what: 'the same resourceVersion again', act: () => m.set('services', services[0]), services: [], revisions: [] },
    {
      what: 'a new resourceVersion, same view',
      act: () => m.set('services', { ...services[0], metadata: { ...services[0].metadata, resourceVersion: '9' } }),
      services: [],
      revisions: [],
    },
    {
      what: 'a split moves: the service and the two revisions whose share changed',
      act: () =>
        m.set(
          'services',
          svcWith('a', '10', [
            { revisionName: 'a-1', percent: 40 },
            { revisionName: 'a-2', percent: 60, tag: 'next' },
          ]),
        ),
      services: ['default/a'],
      revisions: ['default/a-1', 'default/a-2'],
    },
    { what: 'a revision gets ready', act: () => m.set('revisions', revOf('a', 'a-2', '11')), services: [], revisions: ['default/a-2'] },
    {
      what: 'live state of one revision',
      act: () => {
        liveState.set('default/b-1', { readyInstances: 2, desired: 2 });
        m.touch('default/b-1');
        m.touch('default/a-1'); // touched, unchanged: not reported
      },
      services: [],
      revisions: ['default/b-1'],
    },
    {
      what: 'a revision deleted',
      act: () => m.remove('revisions', 'default', 'a-1'),
      services: [],
      revisions: [],
      removed: ['default/a-1'],
    },
  ];
  let snap = before;
  for (const c of cases) {
    c.act();
    const ch = m.changes();
    assert.deepEqual(
      [
        ch?.services.set.map((v) => `${v.namespace}/${v.name}`) ?? [],
        ch?.revisions.set.map((v) => v.key).sort() ?? [],
        ch?.revisions.removed ?? [],
      ],
      [c.services, c.revisions, c.removed ?? []],
      c.what,
    );
    if (ch) snap = applyChanges(snap, ch, 7);
    // What the page holds after applying the changes is what a new page would get.
    assert.deepEqual(snap, m.snapshot(7), c.what);
  }
  assert.deepEqual(
    m.snapshot(7).revisions.map((r) => [r.name, r.percent, r.tags.join(','), r.ready, r.readyInstances]),
    [
      ['a-2', 60, 'next', 'True', 0],
      ['b-1', 100, '', 'True', 2],
    ],
  );
});

test('snapshot model: a change costs the objects it touches, not the number stored', () => {
  const services: KObject[] = [];
  const revisions: KObject[] = [];
  for (let i = 0; i < 2000; i++) {
    services.push(svcWith(`s${i}`, `${i}`, [{ revisionName: `s${i}-1`, percent: 100 }]));
    revisions.push(revOf(`s${i}`, `s${i}-1`, `${i}`));
  }
  const m = SnapshotModel.of({ services, revisions }, () => ({ readyInstances: 0 }));
  const built = m.rebuilt;
  m.set(
    'services',
    svcWith('s7', 'x', [
      { revisionName: 's7-1', percent: 50 },
      { revisionName: 's7-2', percent: 50 },
    ]),
  );
  m.set('revisions', revOf('s7', 's7-2', 'y'));
  for (const s of services) if (s.metadata.name !== 's7') m.set('services', s); // unchanged: a lookup each
  const ch = m.changes();
  assert.ok(m.rebuilt - built <= 4, `rebuilt ${m.rebuilt - built} views for one changed service and one new revision`);
  assert.deepEqual(
    ch?.revisions.set.map((r) => [r.name, r.percent]),
    [
      ['s7-1', 50],
      ['s7-2', 50],
    ],
  );
});
