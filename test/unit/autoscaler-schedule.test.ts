import { test } from 'node:test';
import assert from 'node:assert/strict';
import { activePeriods, fuse, parseSchedule, plannedCapacity, type ScheduledPeriod } from '../../src/autoscaler/schedule.js';

function periods(text: string): ScheduledPeriod[] {
  const r = parseSchedule(text);
  assert.ok(r.ok, r.ok ? '' : r.errors.join('\n'));
  return r.periods;
}

test('parses YAML and JSON', () => {
  const yaml = periods(`
- name: office-hours
  schedule: "0 9 * * 1-5"
  duration: 8h
  timezone: Asia/Shanghai
  replicas: 10
- schedule: "@daily"
  duration: 30m
  replicas: 2
`);
  assert.deepEqual(yaml[0], {
    name: 'office-hours',
    schedule: '0 9 * * 1-5',
    durationMs: 8 * 3_600_000,
    timezone: 'Asia/Shanghai',
    replicas: 10,
  });
  assert.equal(yaml[1].name, 'period-1');
  assert.equal(yaml[1].timezone, 'UTC');
  const json = periods('[{"schedule":"*/15 * * * *","duration":"5m","replicas":3}]');
  assert.equal(json[0].durationMs, 300_000);
  assert.deepEqual(periods(''), []);
});

const errorCases: Array<[string, string, RegExp]> = [
  ['not a list', '{schedule: "0 9 * * *"}', /expected a list of periods/],
  ['bad yaml', '[{schedule: "0 9 * * *"', /not valid YAML or JSON/],
  ['item not an object', '[3]', /\[0\]: expected an object/],
  ['missing fields', '[{}]', /\[0\]\.schedule: required[\s\S]*\[0\]\.duration: required[\s\S]*\[0\]\.replicas: required/],
  [
    'cron out of range',
    '[{schedule: "61 * * * *", duration: 1h, replicas: 1}]',
    /\[0\]\.schedule: invalid cron expression "61 \* \* \* \*": .*61/,
  ],
  ['cron too short', '[{schedule: "0 9 * *", duration: 1h, replicas: 1}]', /expected 5 fields .* got 4/],
  ['cron garbage', '[{schedule: "every morning", duration: 1h, replicas: 1}]', /\[0\]\.schedule: invalid cron expression/],
  ['hashed cron', '[{schedule: "H 9 * * *", duration: 1h, replicas: 1}]', /"H" \(hashed\) form is not supported/],
  [
    'bad duration',
    '[{schedule: "0 9 * * *", duration: 8hours, replicas: 1}]',
    /\[0\]\.duration: time: unknown unit "hours" in duration "8hours"/,
  ],
  ['zero duration', '[{schedule: "0 9 * * *", duration: 0s, replicas: 1}]', /\[0\]\.duration: must be positive/],
  ['numeric duration', '[{schedule: "0 9 * * *", duration: 8, replicas: 1}]', /\[0\]\.duration: must be a duration string/],
  [
    'bad zone',
    '[{schedule: "0 9 * * *", duration: 1h, timezone: Mars/Olympus, replicas: 1}]',
    /\[0\]\.timezone: unknown time zone "Mars\/Olympus"/,
  ],
  ['bad replicas', '[{schedule: "0 9 * * *", duration: 1h, replicas: -1}]', /\[0\]\.replicas: must be a whole number >= 0, was -1/],
  ['fractional replicas', '[{schedule: "0 9 * * *", duration: 1h, replicas: 1.5}]', /\[0\]\.replicas: must be a whole number/],
  ['unknown field', '[{schedule: "0 9 * * *", duration: 1h, replica: 1}]', /\[0\]\.replica: unknown field/],
  [
    'duplicate names',
    '[{name: a, schedule: "0 9 * * *", duration: 1h, replicas: 1}, {name: a, schedule: "0 10 * * *", duration: 1h, replicas: 1}]',
    /\[1\]\.name: duplicate name "a"/,
  ],
];

for (const [name, text, re] of errorCases) {
  test(`schedule error: ${name}`, () => {
    const r = parseSchedule(text);
    assert.equal(r.ok, false);
    if (!r.ok) assert.match(r.errors.join('\n'), re);
  });
}

test('active periods across time zones', () => {
  const office = periods('[{schedule: "0 9 * * 1-5", duration: 8h, timezone: Asia/Shanghai, replicas: 10}]');
  // Monday 2024-01-08: 09:00 in Shanghai is 01:00 UTC; the period lasts until 17:00 local (09:00 UTC).
  const at = (iso: string) => plannedCapacity(office, Date.parse(iso));
  assert.equal(at('2024-01-08T00:59:59Z'), 0);
  assert.equal(at('2024-01-08T01:00:00Z'), 10);
  assert.equal(at('2024-01-08T08:59:59Z'), 10);
  assert.equal(at('2024-01-08T09:00:00Z'), 0);
  // Saturday 2024-01-13 10:00 in Shanghai: not a weekday.
  assert.equal(at('2024-01-13T02:00:00Z'), 0);
  // Sunday 2024-01-07 at 20:00 in New York is already Monday 09:00 in Shanghai.
  assert.equal(at('2024-01-08T01:30:00Z'), 10);

  const ny = periods('[{schedule: "0 9 * * *", duration: 1h, timezone: America/New_York, replicas: 4}]');
  // Winter (UTC-5) and summer (UTC-4).
  assert.equal(plannedCapacity(ny, Date.parse('2024-01-15T14:30:00Z')), 4);
  assert.equal(plannedCapacity(ny, Date.parse('2024-07-15T13:30:00Z')), 4);
  assert.equal(plannedCapacity(ny, Date.parse('2024-07-15T14:30:00Z')), 0);
});

test('overlapping periods: the largest wins; periods spanning midnight work', () => {
  const p = periods(`
- {name: day, schedule: "0 8 * * *", duration: 12h, replicas: 3}
- {name: peak, schedule: "0 12 * * *", duration: 2h, replicas: 8}
- {name: night, schedule: "0 22 * * *", duration: 4h, replicas: 1}
`);
  assert.equal(plannedCapacity(p, Date.parse('2024-03-01T09:00:00Z')), 3);
  assert.equal(plannedCapacity(p, Date.parse('2024-03-01T13:00:00Z')), 8);
  assert.equal(plannedCapacity(p, Date.parse('2024-03-02T01:00:00Z')), 1);
  assert.equal(plannedCapacity(p, Date.parse('2024-03-02T03:00:00Z')), 0);
  assert.deepEqual(
    activePeriods(p, Date.parse('2024-03-01T13:00:00Z')).map((a) => a.period.name),
    ['day', 'peak'],
  );
});

test('fusion: the article examples', () => {
  // Planned 10, CPU says 20 -> 20; planned 10, CPU says 4 -> 10.
  assert.equal(fuse(10, 20, 1, 0), 20);
  assert.equal(fuse(10, 4, 1, 0), 10);
  // max-scale still caps, min-scale still floors.
  assert.equal(fuse(10, 20, 1, 15), 15);
  assert.equal(fuse(0, 0, 2, 0), 2);
});
