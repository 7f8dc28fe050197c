// Structured log lines in both formats, and the event ring the console reads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger, formatLine, parseLogFormat } from '../../src/observability/log.js';
import { EventLog } from '../../src/observability/events.js';

test('json lines carry time, level, message and fields; text lines read as words', () => {
  const t = Date.UTC(2026, 0, 2, 3, 4, 5);
  assert.deepEqual(
    JSON.parse(formatLine('json', t, 'info', 'scaled 1 -> 3', { component: 'autoscaler', from: 1, to: 3, reason: 'panic' })),
    {
      time: '2026-01-02T03:04:05.000Z',
      level: 'info',
      msg: 'scaled 1 -> 3',
      component: 'autoscaler',
      from: 1,
      to: 3,
      reason: 'panic',
    },
  );
  assert.equal(
    formatLine('text', t, 'warn', 'instance failed', {
      component: 'runtime',
      reason: 'ExitCode1',
      message: 'exit code 1',
      skipped: undefined,
    }),
    'sluice: warn runtime: instance failed reason=ExitCode1 message="exit code 1"',
  );
  assert.equal(formatLine('text', t, 'info', 'plain', {}), 'sluice: plain');
  assert.throws(() => parseLogFormat('xml'), /invalid log format "xml": expected json or text/);
});

test('levels below the minimum are not written; with() adds fields to every line', () => {
  const lines: string[] = [];
  const log = createLogger({ format: 'json', level: 'info', write: (l) => lines.push(l), now: () => 0 }).with({ component: 'gw' });
  log.debug('hidden');
  log.info('shown', { n: 1 });
  assert.equal(lines.length, 1);
  assert.equal(JSON.parse(lines[0]).component, 'gw');
  assert.equal(log.enabled('debug'), false);
});

test('events are logged, kept in a bounded ring and pushed to subscribers; debug ones are only logged', () => {
  const lines: string[] = [];
  const logger = createLogger({ format: 'json', level: 'debug', write: (l) => lines.push(l), now: () => 0 });
  const ev = new EventLog({ logger, capacity: 2, now: () => 42 });
  const got: string[] = [];
  const stop = ev.subscribe((e) => got.push(e.message));
  ev.subscribe(() => {
    throw new Error('a broken subscriber');
  });
  ev.emit('scale', 'scaled 0 -> 1', { object: 'ns/r', from: 0, to: 1 });
  ev.emit('decision', 'kept 1', { object: 'ns/r' }, 'debug');
  ev.emit('traffic', 'split a', {});
  ev.emit('traffic', 'split b', {}, 'info', true);
  stop();
  ev.emit('traffic', 'split c', {});
  assert.deepEqual(got, ['scaled 0 -> 1', 'split a', 'split b']);
  assert.deepEqual(
    ev.recent().map((e) => [e.id, e.message]),
    [
      [3, 'split b'],
      [4, 'split c'],
    ],
  );
  assert.deepEqual(
    ev.recent(3).map((e) => e.id),
    [4],
  );
  assert.equal(lines.length, 4, 'the already-logged event is not logged twice');
  assert.deepEqual(JSON.parse(lines[0]), {
    time: '1970-01-01T00:00:00.000Z',
    level: 'info',
    msg: 'scaled 0 -> 1',
    event: 'scale',
    object: 'ns/r',
    from: 0,
    to: 1,
  });
  assert.equal(JSON.parse(lines[1]).level, 'debug');
});
