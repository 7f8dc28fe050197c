// Scheduled capacity (sluice.dev/scheduled-capacity) fused with the metric-based autoscalers, end
// to end with real instances. The autoscaler runs on an injected clock the test moves forward, so
// "now" can be put inside and outside the planned period (office hours in Asia/Shanghai):
//   HPA: planned 3, CPU wants 1 -> 3; planned 3, CPU wants more -> the CPU's count (up to max-scale);
//        outside the period -> what the CPU wants.
//   KPA: planned instances start ahead of any traffic and go back to zero after the period.
// Invalid schedules are refused at admission with the reason.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { CronExpressionParser } from 'cron-parser';
import { waitFor } from '../support/poll.js';
import { gatewayGet, kubectl, startTestSluice, applyDoc, paStatus, exampleService, recordPa } from '../support/sluice.js';
import type { RunningSluice } from '../../src/server.js';

const A = 'autoscaling.knative.dev/';
const SCHEDULE = 'sluice.dev/scheduled-capacity';
const TZ = 'Asia/Shanghai';

const officeHours = (replicas: number) => `- name: office-hours
  schedule: "0 9 * * 1-5"
  duration: 8h
  timezone: ${TZ}
  replicas: ${replicas}
`;

function service(name: string, annotations: Record<string, string>, containerConcurrency = 0): string {
  return exampleService(name, { annotations, containerConcurrency, env: { RESOURCE: name } });
}

/** The autoscaler's clock: real time plus an offset that only moves forward. */
function testClock() {
  let offset = 0;
  const now = () => Date.now() + offset;
  const fmt = new Intl.DateTimeFormat('en-GB', { timeZone: TZ, weekday: 'short', hour: '2-digit', minute: '2-digit', second: '2-digit' });
  return {
    now,
    /** Jumps to the next time matching `cron` in Asia/Shanghai. */
    jumpTo(cron: string): void {
      offset =
        CronExpressionParser.parse(cron, { tz: TZ, currentDate: new Date(now()) })
          .next()
          .getTime() - Date.now();
    },
    advance(ms: number): void {
      offset += ms;
    },
    label: () => fmt.format(now()),
  };
}

function load(s: RunningSluice, host: string, clients: number, path: string): () => Promise<void> {
  let stopped = false;
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  const loops = Array.from({ length: clients }, async () => {
    while (!stopped) await gatewayGet(s.gatewayPort, host, path, agent).catch(() => undefined);
  });
  return async () => {
    stopped = true;
    await Promise.all(loops);
    agent.destroy();
  };
}

test('invalid schedules are refused at admission with the reason', async (t) => {
  const s = await startTestSluice(t);
  const at = `spec\\.template\\.metadata\\.annotations\\.sluice\\.dev/scheduled-capacity`;
  const refused = async (value: string, message: RegExp) => {
    const r = await kubectl(s.kubeconfigPath, ['apply', '-f', '-'], service('bad', { [SCHEDULE]: value }));
    assert.notEqual(r.code, 0, `accepted: ${value}`);
    assert.match(r.stderr, message);
  };
  await refused(
    '[{schedule: "61 9 * * *", duration: 8h, replicas: 3}]',
    new RegExp(`\\[0\\]\\.schedule: invalid cron expression "61 9 \\* \\* \\*": .*: ${at}`),
  );
  await refused(
    '[{schedule: "0 9 * *", duration: 8h, replicas: 3}]',
    /\[0\]\.schedule: invalid cron expression "0 9 \* \*": expected 5 fields \(minute hour day-of-month month day-of-week\) or 6 with seconds, got 4/,
  );
  await refused(
    '[{schedule: "0 9 * * *", duration: 8h, timezone: Mars/Olympus, replicas: 3}]',
    /\[0\]\.timezone: unknown time zone "Mars\/Olympus"/,
  );
  await refused('[{schedule: "0 9 * * *", duration: eight hours, replicas: 3}]', /\[0\]\.duration: time: invalid duration "eight hours"/);
  await refused('[{schedule: "0 9 * * *", duration: 8h, replicas: -1}]', /\[0\]\.replicas: must be a whole number >= 0, was -1/);
  await refused('[{schedule: "0 9 * * *", duration: 8h}]', /\[0\]\.replicas: required/);
  await refused('schedule: "0 9 * * *"', /expected a list of periods/);
  assert.equal(await s.store.get('serving.knative.dev/services', 'default', 'bad'), undefined);
  // The good one goes through.
  const ok = await kubectl(s.kubeconfigPath, ['apply', '-f', '-'], service('good', { [SCHEDULE]: officeHours(2), [A + 'min-scale']: '0' }));
  assert.equal(ok.code, 0, ok.stderr);
});

test('planned capacity with HPA on CPU: planned 3 and CPU wants 1 -> 3; CPU wants more -> more; outside the period -> what CPU wants', async (t) => {
  const clock = testClock();
  clock.jumpTo('0 20 * * 1'); // Monday 20:00 in Shanghai: after office hours
  const s = await startTestSluice(t, { clock: clock.now });
  const rec = recordPa(s, 'office-v1', () => `${clock.label()} ${TZ}`);
  t.after(rec.stop);
  await applyDoc(
    s,
    service('office', {
      [A + 'class']: 'hpa.autoscaling.knative.dev',
      [A + 'metric']: 'cpu',
      [A + 'target']: '20',
      [A + 'max-scale']: '4',
      [SCHEDULE]: officeHours(3),
    }),
  );
  const host = 'office.default.example.com';
  const key = 'default/office-v1';

  // Outside the period: the HPA alone, one idle instance.
  const before = await waitFor(
    'an HPA decision outside the period',
    async () => {
      const x = await paStatus(s, 'office-v1');
      return x?.mode === 'hpa' && x.metrics?.metric === 'cpu' && x.actualScale === 1 ? x : undefined;
    },
    20_000,
  );
  assert.equal(before.desiredScale, 1);
  assert.equal(before.metrics.planned, undefined);

  // Tuesday 10:00: inside office hours. Planned 3, the CPU (idle) wants 1 -> 3.
  clock.jumpTo('0 10 * * 2');
  const inside = await waitFor(
    'the planned three',
    async () => {
      const x = await paStatus(s, 'office-v1');
      return x?.desiredScale === 3 && x.actualScale === 3 ? x : undefined;
    },
    20_000,
  );
  assert.equal(inside.metrics.planned, 3);
  assert.equal(inside.metrics.metricDesired, 1);
  assert.equal(inside.reason, 'scheduled capacity: 3 planned, the metric wants 1');

  // CPU load on the three: the HPA wants more than planned -> its count, up to max-scale 4.
  const stopLoad = load(s, host, 3, '/burn?ms=250');
  let loading = true;
  t.after(async () => {
    if (loading) await stopLoad();
  });
  const busy = await waitFor(
    'the CPU above the plan',
    async () => {
      const x = await paStatus(s, 'office-v1');
      return x?.desiredScale === 4 && x.actualScale === 4 ? x : undefined;
    },
    30_000,
  );
  assert.equal(busy.metrics.planned, 3);
  assert.ok(busy.metrics.metricDesired >= 4, `the HPA's own count: ${JSON.stringify(busy.metrics)}`);
  await stopLoad();
  loading = false;

  // Load gone: the HPA's stabilization window (300 s) holds 4 first ...
  await waitFor(
    'held by the stabilization window',
    async () => {
      const x = await paStatus(s, 'office-v1');
      return x?.desiredScale === 4 && x.reason === 'stabilized' ? x : undefined;
    },
    20_000,
  );
  // ... then, still in office hours, the plan is the floor: CPU wants 1 -> 3.
  clock.advance(6 * 60_000);
  const floor = await waitFor(
    'back to the planned three',
    async () => {
      const x = await paStatus(s, 'office-v1');
      return x?.desiredScale === 3 && s.runtime.status(key)?.replicas === 3 ? x : undefined;
    },
    20_000,
  );
  assert.equal(floor.metrics.planned, 3);
  assert.equal(floor.metrics.metricDesired, 1);

  // Tuesday 18:00: office hours are over (09:00 + 8h): the HPA alone again -> 1.
  clock.jumpTo('0 18 * * 2');
  const after = await waitFor(
    'one instance after the period',
    async () => {
      const x = await paStatus(s, 'office-v1');
      return x?.desiredScale === 1 && s.runtime.status(key)?.replicas === 1 ? x : undefined;
    },
    20_000,
  );
  assert.equal(after.metrics.planned, undefined);
  for (const line of rec.lines()) t.diagnostic(line);
});

test('planned capacity with KPA: instances start before any traffic and go back to zero after the period', async (t) => {
  const clock = testClock();
  clock.jumpTo('0 20 * * 1'); // Monday 20:00 in Shanghai
  const s = await startTestSluice(t, { clock: clock.now, autoscalerConfig: { 'stable-window': '6s', 'scale-to-zero-grace-period': '1s' } });
  const rec = recordPa(s, 'warm-v1', () => `${clock.label()} ${TZ}`);
  t.after(rec.stop);
  await applyDoc(s, service('warm', { [SCHEDULE]: officeHours(2) }));
  const key = 'default/warm-v1';
  await waitFor('the first instance', () => s.runtime.status(key)?.readyReplicas === 1, 20_000);
  // No traffic, an hour later: the KPA scales to zero.
  clock.advance(3_600_000);
  await waitFor(
    'zero outside the period',
    async () => (await paStatus(s, 'warm-v1'))?.desiredScale === 0 && s.runtime.status(key)?.replicas === 0,
    20_000,
  );

  // Tuesday 09:00: two instances, with no request at all.
  clock.jumpTo('0 9 * * 2');
  const inside = await waitFor(
    'two planned instances',
    async () => {
      const x = await paStatus(s, 'warm-v1');
      return x?.desiredScale === 2 && x.actualScale === 2 ? x : undefined;
    },
    20_000,
  );
  assert.equal(inside.metrics.planned, 2);
  assert.equal(inside.metrics.metricDesired, 0);
  // They serve at once.
  const r = await gatewayGet(s.gatewayPort, 'warm.default.example.com');
  assert.equal(r.status, 200);

  // Tuesday 17:00: the period is over, nothing else keeps them.
  clock.jumpTo('0 17 * * 2');
  await waitFor(
    'zero after the period',
    async () => (await paStatus(s, 'warm-v1'))?.desiredScale === 0 && s.runtime.status(key)?.replicas === 0,
    20_000,
  );
  for (const line of rec.lines()) t.diagnostic(line);
});
