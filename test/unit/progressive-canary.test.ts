// The canary state machine and its analysis, on an injected clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyse, type TrafficWindow } from '../../src/progressive/analysis.js';
import { type Observation, decide, preStepFailed, trafficFor } from '../../src/progressive/machine.js';
import { type RolloutStatus, resolvePolicy, validateRollout } from '../../src/progressive/spec.js';
import { LATENCY_BOUNDS_SECONDS } from '../../src/dataplane/stats.js';
import { formatFieldErrors } from '../../src/api/field-error.js';

const T0 = Date.parse('2026-12-01T12:00:00Z');
const policy = (analysis: Record<string, unknown> = {}) =>
  resolvePolicy('svc', { steps: [10, 50], interval: '10s', analysis: { minRequests: 10, successRate: { min: 95 }, ...analysis } });

/** A window of `n` responses, `errors` of them 5xx, all with latency `ms`. */
function win(n: number, errors = 0, ms = 30): TrafficWindow {
  const counts = new Float64Array(LATENCY_BOUNDS_SECONDS.length + 1);
  counts[LATENCY_BOUNDS_SECONDS.findIndex((b) => b * 1000 >= ms)] = n;
  return { completed: n, errors, latency: { counts } };
}

const obs = (o: Partial<Observation>): Observation => ({ nowMs: T0, canaryReady: true, confirmed: true, rollbackRequested: false, ...o });

test('analysis: absolute and relative gates, and too little traffic', () => {
  const p = resolvePolicy('svc', {
    steps: [10],
    interval: '10s',
    analysis: {
      minRequests: 10,
      successRate: { min: 95, maxDropVsStable: 2 },
      latency: { percentile: 99, maxMs: 500, maxRatioVsStable: 2 },
    },
  });
  assert.equal(analyse(p, win(9), win(100)).verdict, 'insufficient');
  assert.equal(analyse(p, win(100, 1), win(100)).verdict, 'pass');
  assert.deepEqual(analyse(p, win(100, 10), win(100)).failures, [
    'success rate 90% < 95%',
    "success rate 90% is 10 points below stable's 100% (at most 2)",
  ]);
  assert.match(analyse(p, win(100, 0, 900), win(100, 0, 30)).failures.join(';'), /p99 latency \d+(\.\d+)? ms > 500 ms;.*stable's/);
  // Stable without enough traffic of its own: only absolute gates apply.
  assert.equal(analyse(p, win(100, 3), win(2, 1)).verdict, 'pass');
});

test('machine: pins the stable revision, waits for confirmation, steps, promotes', () => {
  const p = policy();
  let st: RolloutStatus = {};
  const run = (o: Partial<Observation>) => {
    const d = decide(p, st, obs(o));
    st = d.status;
    return d;
  };
  run({ latestReady: 'svc-1', serving: 'svc-1' });
  assert.deepEqual([st.phase, st.stableRevision], ['Initialized', 'svc-1']);
  assert.deepEqual(trafficFor(st), [
    { revisionName: 'svc-1', percent: 100 },
    { tag: 'latest', latestRevision: true, percent: 0 },
  ]);
  run({ latestReady: 'svc-2' });
  assert.deepEqual([st.phase, st.canaryRevision, st.canaryWeight], ['Waiting', 'svc-2', 0]);
  run({ latestReady: 'svc-2', confirmed: false });
  assert.equal(st.phase, 'Waiting');
  assert.match(st.message!, /confirm-rollout/);
  let d = run({ latestReady: 'svc-2', nowMs: T0 + 1000 });
  assert.deepEqual([st.phase, st.step, st.canaryWeight, d.effects.resetWindow], ['Progressing', 0, 10, true]);
  assert.deepEqual(trafficFor(st)!.slice(0, 2), [
    { revisionName: 'svc-1', percent: 90 },
    { tag: 'canary', revisionName: 'svc-2', percent: 10 },
  ]);
  // Before the interval nothing is judged, even with a bad window.
  run({ latestReady: 'svc-2', nowMs: T0 + 5000, verdict: analyse(p, win(100, 50), undefined) });
  assert.equal(st.failedChecks ?? 0, 0);
  d = run({ latestReady: 'svc-2', nowMs: T0 + 11_000, verdict: analyse(p, win(100), win(500)) });
  assert.deepEqual([st.step, st.canaryWeight, d.effects.preStep], [1, 50, true]);
  run({ latestReady: 'svc-2', nowMs: T0 + 22_000, verdict: analyse(p, win(100), win(500)) });
  assert.deepEqual([st.phase, st.stableRevision, st.canaryWeight], ['Succeeded', 'svc-2', 0]);
  assert.equal(st.conditions![0].status, 'True');
  assert.deepEqual(trafficFor(st)![0], { revisionName: 'svc-2', percent: 100 });
});

test('machine: a failed gate rolls back; failureThreshold allows retries; a rollback webhook rolls back', () => {
  const start = (p: ReturnType<typeof policy>): RolloutStatus => {
    let st = decide(p, {}, obs({ latestReady: 'a' })).status;
    st = decide(p, st, obs({ latestReady: 'b' })).status;
    return decide(p, st, obs({ latestReady: 'b' })).status;
  };
  const p1 = policy();
  const bad = decide(p1, start(p1), obs({ latestReady: 'b', nowMs: T0 + 10_000, verdict: analyse(p1, win(100, 30), undefined) })).status;
  assert.equal(bad.phase, 'Failed');
  assert.match(bad.message!, /Rolled back to a: Check failed: success rate 70% < 95%/);
  assert.deepEqual(trafficFor(bad)!.slice(0, 2), [
    { revisionName: 'a', percent: 100 },
    { tag: 'canary', revisionName: 'b', percent: 0 },
  ]);

  const p3 = policy({ failureThreshold: 3 });
  let st = start(p3);
  for (let i = 1; i <= 2; i++) {
    st = decide(p3, st, obs({ latestReady: 'b', nowMs: T0 + i * 10_000, verdict: analyse(p3, win(100, 30), undefined) })).status;
    assert.deepEqual([st.phase, st.failedChecks], ['Progressing', i]);
  }
  st = decide(p3, st, obs({ latestReady: 'b', nowMs: T0 + 30_000, verdict: analyse(p3, win(100, 30), undefined) })).status;
  assert.equal(st.phase, 'Failed');

  assert.equal(decide(p1, start(p1), obs({ latestReady: 'b', rollbackRequested: true })).status.phase, 'Failed');
  const pre = preStepFailed(p3, start(p3), T0, 'hook down');
  assert.deepEqual([pre.phase, pre.failedChecks], ['Progressing', 1]);
});

test('machine: too little traffic waits, sends synthetic requests, or fails, as chosen; a cold canary is started, not judged', () => {
  const few = (rule: string, nowMs: number, extra: Record<string, unknown> = {}) => {
    const p = policy({ tooFewRequests: rule, maxWait: '30s', ...extra });
    let st = decide(p, {}, obs({ latestReady: 'a' })).status;
    st = decide(p, st, obs({ latestReady: 'b' })).status;
    st = decide(p, st, obs({ latestReady: 'b' })).status;
    return decide(p, st, obs({ latestReady: 'b', nowMs, verdict: analyse(p, win(3), undefined) }));
  };
  assert.match(few('wait', T0 + 10_000).status.message!, /3 of 10 requests in the step: waiting for more traffic/);
  assert.equal(few('wait', T0 + 41_000).status.phase, 'Failed');
  assert.match(few('wait', T0 + 41_000).status.message!, /after waiting 30s/);
  const syn = few('synthetic', T0 + 10_000);
  assert.deepEqual([syn.status.phase, syn.effects.synthetic], ['Progressing', 7]);
  assert.equal(few('fail', T0 + 10_000).status.phase, 'Failed');

  const p = policy();
  let st = decide(p, {}, obs({ latestReady: 'a' })).status;
  st = decide(p, st, obs({ latestReady: 'b' })).status;
  st = decide(p, st, obs({ latestReady: 'b' })).status;
  const cold = decide(
    p,
    st,
    obs({ latestReady: 'b', nowMs: T0 + 60_000, canaryReady: false, verdict: analyse(p, win(100, 100), undefined) }),
  );
  assert.deepEqual(
    [cold.status.phase, cold.effects.warmUp, cold.status.stepStartedAt],
    ['Progressing', true, new Date(T0 + 60_000).toISOString()],
  );
});

test('machine: a newer revision mid-analysis restarts it; pause holds; resume restarts the window; user actions', () => {
  const p = policy();
  let st = decide(p, {}, obs({ latestReady: 'a' })).status;
  st = decide(p, st, obs({ latestReady: 'b' })).status;
  st = decide(p, st, obs({ latestReady: 'b' })).status;
  st = decide(p, st, obs({ latestReady: 'c', nowMs: T0 + 3000 })).status;
  assert.deepEqual([st.phase, st.canaryRevision, st.canaryWeight, st.step], ['Waiting', 'c', 0, -1]);
  assert.match(st.message!, /New revision c arrived during the analysis: restarting it with c/);

  st = decide(p, st, obs({ latestReady: 'c' })).status;
  const paused = resolvePolicy('svc', { steps: [10, 50], interval: '10s', paused: true });
  st = decide(paused, st, obs({ latestReady: 'c', nowMs: T0 + 60_000, verdict: analyse(p, win(100, 100), undefined) })).status;
  assert.deepEqual([st.phase, st.canaryWeight], ['Paused', 10]);
  const resumed = decide(p, st, obs({ latestReady: 'c', nowMs: T0 + 90_000 }));
  assert.deepEqual(
    [resumed.status.phase, resumed.effects.resetWindow, resumed.status.stepStartedAt],
    ['Progressing', true, new Date(T0 + 90_000).toISOString()],
  );

  const promoted = decide(p, resumed.status, obs({ latestReady: 'c', action: 'promote' }));
  assert.deepEqual([promoted.status.phase, promoted.status.stableRevision, promoted.effects.clearAction], ['Succeeded', 'c', true]);
  const aborted = decide(p, resumed.status, obs({ latestReady: 'c', action: 'abort' }));
  assert.deepEqual([aborted.status.phase, aborted.status.stableRevision], ['Failed', 'a']);
});

test('Rollout admission: clear messages for bad policies', () => {
  const check = (spec: unknown) => formatFieldErrors(validateRollout({ spec }));
  assert.equal(check({ steps: [10, 50], interval: '30s' }), '');
  assert.equal(check(undefined), 'missing field(s): spec');
  assert.equal(check({ steps: [], interval: '30s' }), 'must list at least one canary percent, e.g. [10, 50]: spec.steps');
  assert.equal(check({ steps: [0, 100], interval: '30s' }), 'expected 1 <= 0 <= 99: spec.steps[0]\nexpected 1 <= 100 <= 99: spec.steps[1]');
  assert.equal(
    check({ steps: [10], interval: '30s', analysis: { tooFewRequests: 'maybe' }, webhooks: [{ name: 'x', type: 'post', url: 'ftp://x' }] }),
    [
      'invalid value: ftp://x (want an http or https URL): spec.webhooks[0].url',
      'invalid value: maybe (want wait, synthetic or fail): spec.analysis.tooFewRequests',
      'invalid value: post (want confirm-rollout, pre-step or rollback): spec.webhooks[0].type',
    ].join('\n'),
  );
});
