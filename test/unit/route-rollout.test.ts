// Knative's gradual rollout state machine, driven by a fake clock (Unix ns).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  type Rollout,
  buildRollout,
  nextStepTime,
  observeReady,
  parseRollout,
  rolloutDone,
  rolloutDurationSecs,
  serializeRollout,
  stepRollout,
  withRollout,
} from '../../src/controllers/route-rollout.js';

const S = 1e9;
const T0 = 1_700_000_000 * S;
const shape = (r: Rollout) =>
  (r.configurations ?? []).map((c) => (c.revisions ?? []).map((x) => `${x.revisionName}=${x.percent}`).join(' '));
const want = (rev: string, percent = 100) => buildRollout([{ configurationName: 'cfg', revisionName: rev, percent }]);

/** One reconcile as the route controller does it: step, then observe the table in effect. */
function reconcile(cur: Rollout, prev: Rollout | undefined, now: number, duration: number): Rollout {
  return observeReady(stepRollout(cur, prev, now).rollout, now, duration);
}

test('rollout: no previous state means the desired shape at once; steady state stays put', () => {
  assert.deepEqual(shape(stepRollout(want('r1'), undefined, T0).rollout), ['r1=100']);
  const r = stepRollout(want('r1'), want('r1'), T0);
  assert.deepEqual(shape(r.rollout), ['r1=100']);
  assert.equal(r.nextStepNs, 0);
  assert.ok(rolloutDone(r.rollout));
});

test('rollout: a new revision starts at 1%, then equal steps fill the duration (Knative computeProperties)', () => {
  const cases: { duration: number; stepSize: number; stepSeconds: number; steps: number }[] = [
    // 1 s already spent on the first 1%: 9 s left for 99% -> 9 steps of 11% every second.
    { duration: 10, stepSize: 11, stepSeconds: 1, steps: 9 },
    // 119 s for 99% -> at most 99 steps of 1%, 119/99 s apart.
    { duration: 120, stepSize: 1, stepSeconds: 119 / 99, steps: 99 },
    // 3 s: 2 s left -> 2 steps of round(99/2)=50%.
    { duration: 3, stepSize: 50, stepSeconds: 1, steps: 2 },
    // Shorter than the first step: one jump.
    { duration: 1, stepSize: 99, stepSeconds: 1, steps: 1 },
  ];
  for (const c of cases) {
    let ro = reconcile(want('r2'), want('r1'), T0, c.duration);
    assert.deepEqual(shape(ro), ['r1=99 r2=1'], `duration ${c.duration}`);
    const p = ro.configurations![0].stepParams;
    assert.equal(p.starttime, T0);
    assert.equal(p.stepSize, c.stepSize, `duration ${c.duration}: step size`);
    assert.ok(Math.abs(p.stepDuration! / S - c.stepSeconds) < 1e-6, `duration ${c.duration}: step ${p.stepDuration! / S}s`);
    // Walk the clock step by step; each due step moves stepSize, the last one caps at 100.
    let steps = 0;
    let now = T0;
    const seen: string[] = [];
    while (!rolloutDone(ro)) {
      now = nextStepTime(ro);
      // Not yet due: nothing moves.
      assert.deepEqual(shape(reconcile(want('r2'), ro, now - 1e6, c.duration)), shape(ro));
      ro = reconcile(want('r2'), ro, now, c.duration);
      seen.push(shape(ro)[0]);
      steps++;
      assert.ok(steps <= 100);
    }
    assert.equal(steps, c.steps, `duration ${c.duration}: ${seen.join(' | ')}`);
    assert.deepEqual(shape(ro), ['r2=100']);
    assert.deepEqual(ro.configurations![0].stepParams, {}, 'params cleared when done');
    assert.ok((now - T0) / S <= c.duration + 1e-6, `duration ${c.duration}: done after ${(now - T0) / S}s`);
  }
});

test('rollout: the intermediate percents of a 10 s rollout', () => {
  let ro = reconcile(want('r2'), want('r1'), T0, 10);
  const seen = [shape(ro)[0]];
  while (!rolloutDone(ro)) {
    ro = reconcile(want('r2'), ro, nextStepTime(ro), 10);
    seen.push(shape(ro)[0]);
  }
  assert.deepEqual(seen, [
    'r1=99 r2=1',
    'r1=88 r2=12',
    'r1=77 r2=23',
    'r1=66 r2=34',
    'r1=55 r2=45',
    'r1=44 r2=56',
    'r1=33 r2=67',
    'r1=22 r2=78',
    'r1=11 r2=89',
    'r2=100',
  ]);
});

test('rollout: a revision arriving mid-rollout takes 1% from the newest, restarts timing, and drains the newer one first', () => {
  let ro = reconcile(want('r2'), want('r1'), T0, 10);
  ro = reconcile(want('r2'), ro, nextStepTime(ro), 10); // r1=88 r2=12
  const t3 = T0 + 5 * S;
  ro = stepRollout(want('r3'), ro, t3).rollout;
  assert.deepEqual(shape(ro), ['r1=88 r2=11 r3=1']);
  assert.equal(ro.configurations![0].stepParams.starttime, t3);
  assert.equal(ro.configurations![0].stepParams.stepSize, undefined, 'timing waits for observeReady');
  ro = observeReady(ro, t3, 10);
  ro = reconcile(want('r3'), ro, nextStepTime(ro), 10);
  // 11% moves: all of r2 (11%) goes first.
  assert.deepEqual(shape(ro), ['r1=88 r3=12']);
  ro = reconcile(want('r3'), ro, nextStepTime(ro), 10);
  assert.deepEqual(shape(ro), ['r1=77 r3=23']);
});

test('rollout: percent changes mid-rollout go to the newest (up) or come off the oldest (down)', () => {
  const mid = parseRollout(
    serializeRollout({
      configurations: [
        {
          configurationName: 'cfg',
          percent: 100,
          revisions: [
            { revisionName: 'r1', percent: 60 },
            { revisionName: 'r2', percent: 40 },
          ],
          stepParams: { starttime: T0, stepDuration: 10 * S, stepSize: 10, nextStepTime: T0 + 100 * S },
        },
      ],
    }),
  )!;
  assert.deepEqual(shape(stepRollout(want('r2', 50), mid, T0 + S).rollout), ['r1=10 r2=40']);
  const down = parseRollout(
    serializeRollout({
      configurations: [
        {
          ...mid.configurations![0],
          percent: 50,
          revisions: [
            { revisionName: 'r1', percent: 10 },
            { revisionName: 'r2', percent: 40 },
          ],
        },
      ],
    }),
  )!;
  assert.deepEqual(shape(stepRollout(want('r2', 80), down, T0 + S).rollout), ['r1=10 r2=70']);
  // 0%: the configuration leaves the rollout.
  assert.deepEqual(shape(stepRollout(want('r2', 0), mid, T0 + S).rollout), []);
});

test('rollout: tags are separate rollouts; a new tag gets its share at once', () => {
  const cur = buildRollout([
    { configurationName: 'cfg', revisionName: 'r2', percent: 100 },
    { tag: 'canary', configurationName: 'cfg', revisionName: 'r2', percent: 10 },
  ]);
  const ro = stepRollout(cur, want('r1'), T0).rollout;
  assert.deepEqual(
    ro.configurations!.map((c) => [c.tag ?? '', shape({ configurations: [c] })[0]]),
    [
      ['', 'r1=99 r2=1'],
      ['canary', 'r2=10'],
    ],
  );
});

test('rollout: stored state that is malformed or inconsistent counts as none', () => {
  for (const bad of [
    '',
    'not json',
    '[]',
    '{"configurations":{}}',
    '{"configurations":[{"configurationName":"c","percent":100,"revisions":[{"revisionName":"a","percent":50}],"stepParams":{}}]}',
    '{"configurations":[{"configurationName":"c","percent":10,"revisions":[{"revisionName":"a","percent":10}],"stepParams":{"stepSize":20}}]}',
  ])
    assert.equal(parseRollout(bad), undefined, bad);
  const ok =
    '{"configurations":[{"configurationName":"c","percent":100,"revisions":[{"revisionName":"a","percent":99},{"revisionName":"b","percent":1}],"stepParams":{"starttime":1}}]}';
  assert.deepEqual(shape(parseRollout(ok)!), ['a=99 b=1']);
});

test('rollout: status traffic expands a rolling latestRevision target; duration from annotation, else config-network', () => {
  const ro = reconcile(want('r2'), want('r1'), T0, 10);
  const targets = [
    { configurationName: 'cfg', latestRevision: true, revisionName: 'r2', percent: 100 },
    { tag: 'old', latestRevision: false, revisionName: 'r1', percent: 0 },
  ];
  assert.deepEqual(
    withRollout(targets, ro).map((t) => [t.tag, t.revisionName, t.percent, t.latestRevision]),
    [
      [undefined, 'r1', 99, true],
      [undefined, 'r2', 1, true],
      ['old', 'r1', 0, false],
    ],
  );
  assert.equal(rolloutDurationSecs('2m', '30'), 120);
  assert.equal(rolloutDurationSecs(undefined, '30'), 30);
  assert.equal(rolloutDurationSecs(undefined, undefined), 0);
  assert.equal(rolloutDurationSecs('0s', 'junk'), 0);
});
