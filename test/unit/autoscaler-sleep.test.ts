// Idle revisions sleep: the autoscaler stops sampling and deciding a revision at zero with no
// traffic until something happens to it. The pure parts (when a decision is settled, paused metric
// windows, the stats reader's idleUntil, the alarm heap) as table tests; then the controller with an
// injected clock, a memory store, a fake runtime and a fake gateway: an idle revision costs no
// decision, no stats read and no PodAutoscaler write per tick, and each kind of change wakes it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject } from '../../src/api/types.js';
import {
  type Decision,
  KPA_CLASS,
  HPA_CLASS,
  EVENT_GATEWAY_CLASS,
  PLUGIN_CLASS,
  RevisionMetrics,
  newKpaState,
  nextScheduleChange,
  parseSchedule,
} from '../../src/autoscaler/index.js';
import { AutoscalerController, type DecisionRecord } from '../../src/controllers/autoscaler.js';
import { Alarms, settledUntil, type SettledInput } from '../../src/controllers/autoscaling/quiet.js';
import { RES } from '../../src/controllers/context.js';
import { createListers, stopListers, syncListers } from '../../src/controllers/listers.js';
import type { RevisionLoad } from '../../src/dataplane/gateway.js';
import { RevisionStats, StatsReader } from '../../src/dataplane/stats.js';
import { openMemoryStore } from '../../src/store/index.js';
import { FakeRuntime } from '../support/fake-runtime.js';
import { waitFor } from '../support/poll.js';
import { prng } from '../support/prng.js';

const T0 = Date.UTC(2026, 0, 5, 8, 0, 0); // a Monday, 08:00 UTC

// ---- settledUntil ----

function kpaDecision(over: Partial<ReturnType<typeof newKpaState>> = {}, desired = 0): Decision {
  return {
    desired,
    state: { kpa: { ...newKpaState(T0 - 60_000, 0), status: 'inactive', recommendation: 0, ...over } },
    class: KPA_CLASS,
    mode: 'stable',
    planned: 0,
    metricDesired: desired,
    details: {},
  };
}

function settledInput(over: Partial<SettledInput> = {}): SettledInput {
  return {
    spec: { class: KPA_CLASS, schedule: [], scaleToZeroGracePeriodMs: 30_000, scaleToZeroPodRetentionPeriodMs: 0 },
    decision: kpaDecision(),
    requested: 0,
    reachable: true,
    instances: 0,
    held: 0,
    inFlight: 0,
    endpoints: 0,
    metricsOnlyZeros: true,
    proxySince: 0,
    now: T0,
    ...over,
  };
}

test('settled decisions: only at zero, with no instance and no traffic, and until when the clock alone changes them', () => {
  const inactiveAt = (ms: number) => kpaDecision({ statusSince: T0 - ms });
  const spec = settledInput().spec;
  const office = parseSchedule('- schedule: "0 9 * * 1-5"\n  duration: 8h\n  replicas: 2\n');
  assert.ok(office.ok);
  const rows: [string, Partial<SettledInput>, ReturnType<typeof settledUntil>][] = [
    ['inactive for longer than the grace period: settled for good', {}, {}],
    ['inactive for 10 s: settled until the grace period ends', { decision: inactiveAt(10_000) }, { until: T0 + 20_000 }],
    [
      'pod retention longer than grace: until the first threshold (then again until the next)',
      { decision: inactiveAt(10_000), spec: { ...spec, scaleToZeroPodRetentionPeriodMs: 45_000 } },
      { until: T0 + 20_000 },
    ],
    [
      'past grace, within pod retention: until it ends',
      { decision: inactiveAt(40_000), spec: { ...spec, scaleToZeroPodRetentionPeriodMs: 45_000 } },
      { until: T0 + 5_000 },
    ],
    [
      'unreachable: retention does not apply',
      { decision: inactiveAt(10_000), reachable: false, spec: { ...spec, scaleToZeroPodRetentionPeriodMs: 45_000 } },
      { until: T0 + 20_000 },
    ],
    ['a scheduled period: until it starts', { spec: { ...spec, schedule: office.ok ? office.periods : [] } }, { until: T0 + 3_600_000 }],
    ['one instance asked', { requested: 1, decision: kpaDecision({}, 1) }, false],
    ['an instance still there', { instances: 1 }, false],
    ['a request held', { held: 1 }, false],
    ['a request in flight', { inFlight: 1 }, false],
    ['an endpoint left', { endpoints: 1 }, false],
    ['traffic still in the windows', { metricsOnlyZeros: false }, false],
    ['activating', { decision: kpaDecision({ status: 'activating' }) }, false],
    ['active', { decision: kpaDecision({ status: 'active' }) }, false],
    ['panicking', { decision: kpaDecision({ panicTime: T0 - 1000 }) }, false],
    ['no metrics yet', { decision: kpaDecision({ recommendation: -1 }) }, false],
    ['a scale-down-delay window above zero', { decision: kpaDecision({ delayWindow: [{ bucket: 1, value: 1 }] }) }, false],
    ['a decision error', { decision: { ...kpaDecision(), error: 'x' } }, false],
    ['HPA is always decided', { spec: { ...spec, class: HPA_CLASS } }, false],
    ['plugins are always decided', { spec: { ...spec, class: PLUGIN_CLASS } }, false],
    [
      'the event gateway at zero',
      { spec: { ...spec, class: EVENT_GATEWAY_CLASS }, decision: { ...kpaDecision(), state: {}, class: EVENT_GATEWAY_CLASS } },
      {},
    ],
  ];
  for (const [name, over, want] of rows) assert.deepEqual(settledUntil(settledInput(over)), want, name);
});

test('the next schedule change: the next start, or the end of an active period', () => {
  const p = parseSchedule('- schedule: "0 9 * * 1-5"\n  duration: 8h\n  replicas: 2\n');
  assert.ok(p.ok);
  if (!p.ok) return;
  assert.equal(nextScheduleChange(p.periods, T0), T0 + 3_600_000);
  assert.equal(nextScheduleChange(p.periods, T0 + 2 * 3_600_000), T0 + 9 * 3_600_000);
  assert.equal(nextScheduleChange([], T0), undefined);
});

test('alarms come out in time order, only once due', () => {
  const a = new Alarms<string>();
  const r = prng(7);
  const times = Array.from({ length: 200 }, () => Math.floor(r() * 1000));
  times.forEach((t, i) => a.add(t, `x${i}`));
  assert.deepEqual(a.due(-1), []);
  const got = [...a.due(499), ...a.due(2000)].map((e) => e.at);
  assert.deepEqual(
    got,
    [...times].sort((x, y) => x - y),
  );
  assert.equal(a.size, 0);
});

// ---- paused metric windows ----

test('paused windows read exactly as windows fed a zero every second, before and after traffic resumes', () => {
  for (const algorithm of ['linear', 'weighted-exponential'] as const) {
    const r = prng(algorithm.length);
    const opts = { stableWindowMs: 60_000, panicWindowMs: 6_000, algorithm, keepSamples: false };
    const fed = new RevisionMetrics(opts);
    const paused = new RevisionMetrics(opts);
    const sample = (c: number) => ({ averageConcurrency: c, requests: c * 3, queued: 0, inFlight: 0, intervalMs: 1000 });
    let t = T0;
    // Traffic, then silence until the windows hold only zeros; then one pauses and the other is fed.
    for (let s = 0; s < 20; s++, t += 1000) for (const m of [fed, paused]) m.record(t, sample(r() * 5));
    for (let s = 0; s < 70; s++, t += 1000) for (const m of [fed, paused]) m.record(t, sample(0));
    assert.ok(paused.onlyZeros());
    paused.pause(t - 1000);
    assert.ok(paused.paused);
    for (let s = 0; s < 500; s++, t += 1000) {
      fed.record(t, sample(0));
      for (const metric of ['concurrency', 'rps'] as const) assert.deepEqual(paused.observed(metric, t), fed.observed(metric, t));
    }
    for (let s = 0; s < 90; s++, t += 1000) {
      const c = s < 30 ? r() * 8 : 0;
      for (const m of [fed, paused]) m.record(t, sample(c));
      for (const metric of ['concurrency', 'rps'] as const)
        assert.deepEqual(paused.observed(metric, t + 500), fed.observed(metric, t + 500), `${algorithm} ${metric} at ${s}`);
    }
  }
});

test('windows with traffic in them, or that keep raw samples, are not paused', () => {
  const m = new RevisionMetrics({ stableWindowMs: 60_000, panicWindowMs: 6_000, keepSamples: false });
  m.record(T0, { averageConcurrency: 1, requests: 1, queued: 0, inFlight: 0, intervalMs: 1000 });
  m.pause(T0);
  assert.equal(m.paused, false);
  const p = new RevisionMetrics({ stableWindowMs: 60_000, panicWindowMs: 6_000, keepSamples: true });
  p.pause(T0);
  assert.equal(p.paused, false);
});

// ---- the stats reader after a pause ----

test('a reader that stops reading an idle revision gets a window of its usual length when it starts again', () => {
  let now = 1000;
  const stats = new RevisionStats(0);
  const reader = new StatsReader({ now: () => now, revision: () => ({ stats, queued: 0, inFlight: 0 }) });
  reader.read('a');
  now = 61_000; // not read for a minute: idle until the last round (60 s)
  stats.arrivals++;
  stats.meter.change(1, 60_500);
  const w = reader.read('a', 60_000);
  assert.equal(w.intervalMs, 1000);
  assert.equal(w.requests, 1);
  assert.equal(w.averageConcurrency, 0.5);
});

// ---- the controller ----

interface Harness {
  ctl: AutoscalerController;
  store: ReturnType<typeof openMemoryStore>;
  runtime: FakeRuntime;
  /** Per revision key: decisions applied, and times its stats were looked up. */
  decisions: Map<string, DecisionRecord[]>;
  reads: Map<string, number>;
  load: Map<string, RevisionLoad>;
  demand: (key: string) => void;
  clock: { now: number };
  /** Moves the clock one tick interval on and waits for that tick to finish. */
  tick(n?: number): Promise<void>;
  track(name: string, annotations?: Record<string, string>): Promise<KObject>;
  count(key: string): number;
  stop(): Promise<void>;
}

async function harness(): Promise<Harness> {
  const store = openMemoryStore();
  const listers = createListers(store);
  await syncListers(listers);
  const runtime = new FakeRuntime();
  const clock = { now: T0 };
  const decisions = new Map<string, DecisionRecord[]>();
  const reads = new Map<string, number>();
  const load = new Map<string, RevisionLoad>();
  const demandListeners: ((key: string) => void)[] = [];
  const revStats = new Map<string, RevisionStats>();
  const ctl = new AutoscalerController({
    store,
    listers,
    runtime,
    gateway: {
      reader: () =>
        new StatsReader({
          now: () => clock.now,
          revision: (key) => {
            reads.set(key, (reads.get(key) ?? 0) + 1);
            let s = revStats.get(key);
            if (!s) revStats.set(key, (s = new RevisionStats(clock.now)));
            return { stats: s, queued: load.get(key)?.queued ?? 0, inFlight: load.get(key)?.inFlight ?? 0 };
          },
        }),
      load: (key) => load.get(key),
      onDemand: (cb) => {
        demandListeners.push(cb);
        return () => undefined;
      },
      failHeld: () => 0,
    },
    enqueue: () => undefined,
    log: () => undefined,
    configOverrides: { 'allow-zero-initial-scale': 'true' },
    now: () => clock.now,
    // The timer runs often in real time; ticks follow the injected clock (tick-interval 2 s).
    sampleIntervalMs: 5,
    // Writes land in real time while the test moves the clock: no holding back by that clock.
    metricsWriteIntervalMs: 0,
    onDecision: (r) => decisions.set(r.key, [...(decisions.get(r.key) ?? []), r]),
  });
  await ctl.start();
  // The first timer ticks at once (nothing tracked yet); from then on ticks follow the clock.
  await waitFor('the first tick', () => ctl.tickStats().count > 0, 5000, 2);
  const h: Harness = {
    ctl,
    store,
    runtime,
    decisions,
    reads,
    load,
    clock,
    demand: (key) => demandListeners.forEach((cb) => cb(key)),
    async tick(n = 1) {
      for (let i = 0; i < n; i++) {
        const before = ctl.tickStats().count;
        clock.now += 2000;
        await waitFor('a tick', () => ctl.tickStats().count > before, 5000, 2);
        // Let the decisions' PodAutoscaler writes (50 ms later) land before looking.
        await new Promise((r) => setTimeout(r, 70));
      }
    },
    async track(name, annotations = {}) {
      const rev = await store.create(RES.revisions, {
        apiVersion: 'serving.knative.dev/v1',
        kind: 'Revision',
        metadata: {
          name,
          namespace: 'default',
          uid: `uid-${name}`,
          labels: { 'serving.knative.dev/configuration': 'c' },
          annotations: { 'autoscaling.knative.dev/min-scale': '0', 'autoscaling.knative.dev/initial-scale': '0', ...annotations },
        },
        spec: { containerConcurrency: 0, containers: [{ image: 'x' }] },
      });
      await waitFor('the revision in the lister', () => listers.revisions.get('default', name));
      ctl.desiredReplicas(listers.revisions.get('default', name)!);
      return rev;
    },
    count: (key) => decisions.get(key)?.length ?? 0,
    async stop() {
      ctl.stop();
      stopListers(listers);
      await store.close();
    },
  };
  return h;
}

const KEY = 'default/idle-00001';

/** Tracks a revision and ticks until it sleeps for good (its grace period is over). */
async function asleep(h: Harness): Promise<void> {
  await h.track('idle-00001');
  await h.tick(1);
  assert.equal(h.ctl.sleeping(), 1, 'asleep after its first decision');
  h.clock.now += 30_000; // the grace period: its alarm
  await h.tick(1);
  assert.equal(h.decisions.get(KEY)?.at(-1)?.reason, 'scale to zero');
  await waitFor('the PodAutoscaler says so', () =>
    h.store.get(RES.podautoscalers, 'default', 'idle-00001').then((pa) => pa?.status?.reason === 'scale to zero'),
  );
  assert.equal(h.ctl.sleeping(), 1);
}

test('an idle revision at zero costs no decision, no stats read and no PodAutoscaler write per tick', async () => {
  const h = await harness();
  try {
    await h.track('idle-00001');
    await h.tick(1);
    assert.equal(h.count(KEY), 1);
    assert.equal(h.ctl.sleeping(), 1);
    // Within the grace period the decision would not change: nothing happens.
    const reads = h.reads.get(KEY);
    await h.tick(5);
    assert.equal(h.count(KEY), 1, 'no decision while asleep');
    assert.equal(h.reads.get(KEY), reads, 'no stats read while asleep');
    assert.equal(h.ctl.tickStats().decided, 0);
    // The grace period ends with no event: its alarm wakes it, the reason changes, it sleeps again.
    h.clock.now += 20_000;
    await h.tick(1);
    assert.equal(h.count(KEY), 2);
    assert.equal(h.decisions.get(KEY)?.at(-1)?.reason, 'scale to zero');
    const pa = await waitFor('the PodAutoscaler written', async () => {
      const p = await h.store.get(RES.podautoscalers, 'default', 'idle-00001');
      return p?.status?.reason === 'scale to zero' && p;
    });
    await h.tick(20);
    assert.equal(h.count(KEY), 2, 'asleep for good');
    const after = await h.store.get(RES.podautoscalers, 'default', 'idle-00001');
    assert.equal(after?.metadata.resourceVersion, pa.metadata.resourceVersion, 'no PodAutoscaler write while asleep');
    assert.equal(h.ctl.tickStats().revisions, 1);
  } finally {
    await h.stop();
  }
});

interface WakeRow {
  name: string;
  act: (h: Harness) => Promise<void> | void;
  /** False: the PodAutoscaler is synced, but nothing feeds a decision, so it sleeps on. */
  decides?: boolean;
  /** What the decision after waking shows (default: just that there is one). */
  check?: (h: Harness, last: DecisionRecord) => Promise<void> | void;
}

const WAKES: WakeRow[] = [
  {
    name: 'its annotations change',
    act: async (h) => {
      const rev = (await h.store.get(RES.revisions, 'default', 'idle-00001'))!;
      await h.store.update(RES.revisions, {
        ...rev,
        metadata: { ...rev.metadata, annotations: { ...rev.metadata.annotations, 'autoscaling.knative.dev/min-scale': '2' } },
      });
    },
    check: (_h, last) => assert.equal(last.to, 2),
  },
  {
    name: 'its labels change (copied onto the PodAutoscaler; no decision needed)',
    decides: false,
    act: async (h) => {
      const rev = (await h.store.get(RES.revisions, 'default', 'idle-00001'))!;
      await h.store.update(RES.revisions, { ...rev, metadata: { ...rev.metadata, labels: { ...rev.metadata.labels, team: 'a' } } });
    },
    check: async (h) => {
      await waitFor('the label on the PodAutoscaler', () =>
        h.store.get(RES.podautoscalers, 'default', 'idle-00001').then((pa) => pa?.metadata.labels?.team === 'a'),
      );
    },
  },
  {
    name: 'a route starts sending it traffic',
    act: async (h) => {
      await h.store.create(RES.routes, {
        apiVersion: 'serving.knative.dev/v1',
        kind: 'Route',
        metadata: { name: 'idle', namespace: 'default' },
        spec: { traffic: [{ revisionName: 'idle-00001', percent: 100 }] },
      });
    },
    check: async (h) => {
      await waitFor('Reachable on the PodAutoscaler', () =>
        h.store.get(RES.podautoscalers, 'default', 'idle-00001').then((pa) => pa?.spec?.reachability === 'Reachable'),
      );
    },
  },
  { name: 'the runtime reports a change of its workload', act: (h) => h.runtime.setReady(KEY, 0) },
  {
    name: 'the gateway holds a request for it',
    act: (h) => {
      h.load.set(KEY, { queued: 1, inFlight: 0, endpoints: [] });
      h.demand(KEY);
    },
    check: (_h, last) => assert.equal(last.to, 1),
  },
  {
    name: 'config-autoscaler changes',
    act: async (h) => {
      const cm = (await h.store.get(RES.configmaps, 'knative-serving', 'config-autoscaler'))!;
      await h.store.update(RES.configmaps, { ...cm, data: { ...(cm.data as Record<string, string>), 'enable-scale-to-zero': 'false' } });
    },
    check: (_h, last) => assert.equal(last.to, 1),
  },
];

test('each kind of change wakes a sleeping revision (or syncs its PodAutoscaler)', async () => {
  for (const row of WAKES) {
    const h = await harness();
    try {
      await asleep(h);
      const before = h.count(KEY);
      await h.tick(2);
      assert.equal(h.count(KEY), before, `${row.name}: asleep before`);
      await row.act(h);
      if (row.decides === false) {
        await row.check?.(h, h.decisions.get(KEY)!.at(-1)!);
        await h.tick(2);
        assert.equal(h.count(KEY), before, `${row.name}: still asleep`);
        continue;
      }
      await waitFor(`${row.name}: a decision`, async () => {
        if (h.count(KEY) > before) return true;
        await h.tick(1);
        return false;
      });
      await row.check?.(h, h.decisions.get(KEY)!.at(-1)!);
    } finally {
      await h.stop();
    }
  }
});

test('a scheduled period starts with no event: the sleeping revision is decided then and scales to its plan', async () => {
  const h = await harness();
  try {
    await h.track('idle-00001', { 'sluice.dev/scheduled-capacity': '- schedule: "10 8 * * *"\n  duration: 1m\n  replicas: 2\n' });
    await h.tick(1);
    h.clock.now += 30_000;
    await h.tick(1);
    assert.equal(h.ctl.sleeping(), 1);
    const before = h.count(KEY);
    await h.tick(3);
    assert.equal(h.count(KEY), before, 'asleep until the period starts');
    h.clock.now = T0 + 10 * 60_000; // 08:10, the period's start
    await h.tick(1);
    assert.equal(h.decisions.get(KEY)?.at(-1)?.to, 2);
  } finally {
    await h.stop();
  }
});

test('a deleted PodAutoscaler of a sleeping revision is written again (nothing on it feeds a decision, so it sleeps on)', async () => {
  const h = await harness();
  try {
    await asleep(h);
    const before = h.count(KEY);
    await h.store.delete(RES.podautoscalers, 'default', 'idle-00001');
    const pa = await waitFor('the PodAutoscaler written again', () =>
      h.store.get(RES.podautoscalers, 'default', 'idle-00001').then((p) => p?.status?.reason === 'scale to zero' && p),
    );
    assert.equal(pa.status?.desiredScale, 0);
    await h.tick(2);
    assert.equal(h.count(KEY), before);
  } finally {
    await h.stop();
  }
});
