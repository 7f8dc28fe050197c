// Scheduled capacity ("timed + HPA fusion"): capacity planned ahead for known busy periods, which
// the metric-driven decision can raise but never lower while a period is active.
//
// Annotation `sluice.dev/scheduled-capacity`, value: a YAML or JSON list of periods
//   - name: office-hours          # optional, defaults to "period-<index>"
//     schedule: "0 9 * * 1-5"     # cron (5 fields, or 6 with seconds first, or @daily...) = start
//     duration: 8h                # Go duration: how long each occurrence lasts
//     timezone: Asia/Shanghai     # optional IANA zone, default UTC
//     replicas: 10                # instances planned while active
// A period is active from each cron occurrence until occurrence + duration. When several are
// active the largest replicas wins.

import { CronExpressionParser } from 'cron-parser';
import { parse as parseYaml } from 'yaml';
import { parseGoDuration } from './goparse.js';

export const SCHEDULE_ANNOTATION = 'sluice.dev/scheduled-capacity';

export interface ScheduledPeriod {
  name: string;
  schedule: string;
  durationMs: number;
  timezone: string;
  replicas: number;
}

export type ScheduleParseResult = { ok: true; periods: ScheduledPeriod[] } | { ok: false; errors: string[] };

const FIELDS = new Set(['name', 'schedule', 'duration', 'timezone', 'replicas']);

function validTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

function cronProblem(expr: string, tz: string): string | undefined {
  const trimmed = expr.trim();
  if (!trimmed.startsWith('@')) {
    const n = trimmed.split(/\s+/).filter(Boolean).length;
    // cron-parser would quietly fill in missing fields; a short expression is almost always a typo.
    if (n !== 5 && n !== 6) return `expected 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds, got ${n}`;
  }
  // 'H' picks a random value per parse: the plan would change from one tick to the next.
  if (/(^|[\s,/-])H/.test(trimmed)) return `the "H" (hashed) form is not supported`;
  try {
    CronExpressionParser.parse(trimmed, { tz, currentDate: new Date(0) }).next();
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

/** Parses the annotation value; every problem is reported, with the index and field it is in. */
export function parseSchedule(text: string): ScheduleParseResult {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    return { ok: false, errors: [`not valid YAML or JSON: ${(e as Error).message.split('\n')[0]}`] };
  }
  if (doc === null || doc === undefined) return { ok: true, periods: [] };
  if (!Array.isArray(doc))
    return { ok: false, errors: ['expected a list of periods, e.g. [{schedule: "0 9 * * 1-5", duration: 8h, replicas: 10}]'] };
  const errors: string[] = [];
  const periods: ScheduledPeriod[] = [];
  const names = new Set<string>();
  doc.forEach((item: unknown, i: number) => {
    const at = `[${i}]`;
    if (item === null || typeof item !== 'object' || Array.isArray(item)) {
      errors.push(`${at}: expected an object with schedule, duration and replicas`);
      return;
    }
    const o = item as Record<string, unknown>;
    const before = errors.length;
    for (const k of Object.keys(o))
      if (!FIELDS.has(k)) errors.push(`${at}.${k}: unknown field (known: name, schedule, duration, timezone, replicas)`);

    let name = `period-${i}`;
    if (o.name !== undefined) {
      if (typeof o.name !== 'string' || o.name.trim() === '') errors.push(`${at}.name: must be a non-empty string`);
      else name = o.name.trim();
    }
    if (names.has(name)) errors.push(`${at}.name: duplicate name "${name}"`);
    names.add(name);

    let timezone = 'UTC';
    if (o.timezone !== undefined) {
      if (typeof o.timezone !== 'string' || !validTimeZone(o.timezone)) {
        errors.push(`${at}.timezone: unknown time zone ${JSON.stringify(o.timezone)} (use an IANA name such as "Asia/Shanghai")`);
      } else timezone = o.timezone;
    }

    let schedule = '';
    if (o.schedule === undefined) errors.push(`${at}.schedule: required (a cron expression such as "0 9 * * 1-5")`);
    else if (typeof o.schedule !== 'string') errors.push(`${at}.schedule: must be a string`);
    else {
      const p = cronProblem(o.schedule, timezone);
      if (p) errors.push(`${at}.schedule: invalid cron expression ${JSON.stringify(o.schedule)}: ${p}`);
      else schedule = o.schedule.trim();
    }

    let durationMs = 0;
    if (o.duration === undefined) errors.push(`${at}.duration: required (e.g. "8h", "90m")`);
    else if (typeof o.duration !== 'string') errors.push(`${at}.duration: must be a duration string such as "8h"`);
    else {
      try {
        durationMs = parseGoDuration(o.duration);
        if (!(durationMs > 0)) errors.push(`${at}.duration: must be positive, was ${o.duration}`);
      } catch (e) {
        errors.push(`${at}.duration: ${(e as Error).message}`);
      }
    }

    let replicas = 0;
    if (o.replicas === undefined) errors.push(`${at}.replicas: required (instances to keep while the period is active)`);
    else if (typeof o.replicas !== 'number' || !Number.isInteger(o.replicas) || o.replicas < 0 || o.replicas > 2147483647) {
      errors.push(`${at}.replicas: must be a whole number >= 0, was ${JSON.stringify(o.replicas)}`);
    } else replicas = o.replicas;

    if (errors.length === before) periods.push({ name, schedule, durationMs, timezone, replicas });
  });
  return errors.length ? { ok: false, errors } : { ok: true, periods };
}

export interface ActivePeriod {
  period: ScheduledPeriod;
  /** Epoch ms of the occurrence that started it. */
  start: number;
  end: number;
}

/** The periods active at `now` (start <= now < start + duration). */
export function activePeriods(periods: readonly ScheduledPeriod[], now: number): ActivePeriod[] {
  const out: ActivePeriod[] = [];
  for (const period of periods) {
    // The latest occurrence at or before now decides: an earlier one ended no later than it.
    let start: number;
    try {
      start = CronExpressionParser.parse(period.schedule, { tz: period.timezone, currentDate: new Date(now + 1) })
        .prev()
        .getTime();
    } catch {
      continue; // no occurrence before now (or an expression that slipped past validation)
    }
    const end = start + period.durationMs;
    if (start <= now && now < end) out.push({ period, start, end });
  }
  return out;
}

/**
 * The first time after `now` at which some period starts or ends (so the planned capacity may
 * change); undefined when none ever will, null when it cannot be told (an expression that does not
 * parse: the caller must not rely on the plan staying put).
 */
export function nextScheduleChange(periods: readonly ScheduledPeriod[], now: number): number | undefined | null {
  let next: number | undefined;
  const consider = (t: number) => {
    if (t > now && (next === undefined || t < next)) next = t;
  };
  for (const a of activePeriods(periods, now)) consider(a.end);
  for (const period of periods) {
    try {
      consider(
        CronExpressionParser.parse(period.schedule, { tz: period.timezone, currentDate: new Date(now) })
          .next()
          .getTime(),
      );
    } catch {
      return null;
    }
  }
  return next;
}

/** Planned instances at `now`: the largest among active periods, 0 when none is active. */
export function plannedCapacity(periods: readonly ScheduledPeriod[], now: number): number {
  let planned = 0;
  for (const a of activePeriods(periods, now)) planned = Math.max(planned, a.period.replicas);
  return planned;
}

/** Clamp to [min, max] (max 0 = unlimited). */
export function clampScale(n: number, min: number, max: number): number {
  let x = Math.max(n, min);
  if (max > 0) x = Math.min(x, max);
  return x;
}

/** Planned capacity is a floor the metric can raise: clamp(max(planned, metricDesired)). */
export function fuse(planned: number, metricDesired: number, min: number, max: number): number {
  return clampScale(Math.max(planned, metricDesired), min, max);
}
