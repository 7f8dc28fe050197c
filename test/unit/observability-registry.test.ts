// The metrics registry: recorded and observed families rendered as Prometheus text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry, histogramLines } from '../../src/observability/registry.js';

test('counters, gauges and histograms render with escaped labels and cumulative buckets', () => {
  const reg = new Registry();
  const c = reg.counter('x_total', 'Things.', ['kind']);
  const g = reg.gauge('x_level', 'Level.');
  const h = reg.histogram('x_seconds', 'Durations.', [0.1, 1], ['op']);
  c.child('a"b').inc();
  c.child('a"b').inc(2);
  g.child().set(4);
  const put = h.child('put');
  put.observe(0.05);
  put.observe(0.5);
  put.observe(7);
  const text = reg.render();
  assert.match(text, /^# TYPE x_total counter$/m);
  assert.match(text, /^x_total\{kind="a\\"b"\} 3$/m);
  assert.match(text, /^x_level 4$/m);
  assert.match(text, /^x_seconds_bucket\{op="put",le="0.1"\} 1$/m);
  assert.match(text, /^x_seconds_bucket\{op="put",le="1"\} 2$/m);
  assert.match(text, /^x_seconds_bucket\{op="put",le="\+Inf"\} 3$/m);
  assert.match(text, /^x_seconds_sum\{op="put"\} 7.55$/m);
  assert.match(text, /^x_seconds_count\{op="put"\} 3$/m);
});

test('a child is the same object every time, so callers keep it and record without lookups', () => {
  const reg = new Registry();
  const c = reg.counter('y_total', 'Y.', ['a', 'b']);
  assert.equal(c.child('1', '2'), c.child('1', '2'));
  assert.notEqual(c.child('1', '2'), c.child('12', ''));
  c.child('1', '2').inc();
  c.remove('1', '2');
  assert.doesNotMatch(reg.render(), /a="1",b="2"/);
});

test('observed families are read at scrape time; a failing collector does not break the others', () => {
  const reg = new Registry();
  let level = 1;
  reg.observed({ name: 'z_level', help: 'Z.', type: 'gauge', labels: ['r'], collect: (e) => e.value(['r1'], level) });
  reg.observed({
    name: 'z_broken',
    help: 'Broken.',
    type: 'gauge',
    labels: [],
    collect: () => {
      throw new Error('nope');
    },
  });
  reg.observed({
    name: 'z_ms',
    help: 'Ms.',
    type: 'histogram',
    labels: [],
    buckets: [10],
    collect: (e) => e.histogram([], [2, 1], 25),
  });
  assert.match(reg.render(), /^z_level\{r="r1"\} 1$/m);
  level = 5;
  const text = reg.render();
  assert.match(text, /^z_level\{r="r1"\} 5$/m);
  assert.match(text, /^# z_broken: collecting failed: nope$/m);
  assert.match(text, /^z_ms_bucket\{le="10"\} 2$/m);
  assert.match(text, /^z_ms_count 3$/m);
});

test('bad names, labels, bounds and duplicate registrations are refused at registration', () => {
  const reg = new Registry();
  assert.throws(() => reg.counter('bad-name', 'x'), /invalid metric name "bad-name"/);
  assert.throws(() => reg.counter('ok', 'x', ['le']), /invalid label name "le"/);
  assert.throws(() => reg.histogram('h', 'x', [1, 1]), /bounds must increase/);
  reg.gauge('dup', 'x');
  assert.throws(() => reg.gauge('dup', 'x'), /already registered/);
  assert.throws(() => reg.counter('c', 'x', ['a']).child(), /expected 1 label values/);
});

test('histogram lines without labels', () => {
  const out: string[] = [];
  histogramLines(out, 'h', '', [1], [0, 0], 0);
  assert.deepEqual(out, ['h_bucket{le="1"} 0', 'h_bucket{le="+Inf"} 0', 'h_sum 0', 'h_count 0']);
});
