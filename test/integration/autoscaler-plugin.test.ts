import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPlugins, PluginLoadError, runPlugin, type PluginContext, type ScalingPlugin } from '../../src/autoscaler/plugin.js';

const ctx = (over: Partial<PluginContext> = {}): PluginContext => ({
  revision: { namespace: 'default', name: 'hello-00001', key: 'default/hello-00001' },
  annotations: {},
  current: 2,
  ready: 2,
  samples: [],
  usage: [],
  now: 1_700_000_000_000,
  ...over,
});

const plugin = (decide: ScalingPlugin['decide'], collect: ScalingPlugin['collect'] = () => ({})): ScalingPlugin => ({
  name: 'test',
  collect,
  decide,
});

test('plugin faults are contained (table)', async () => {
  const rows: Array<[string, ScalingPlugin, RegExp]> = [
    [
      'throw in decide',
      plugin(() => {
        throw new Error('boom');
      }),
      /failed in decide: boom/,
    ],
    [
      'throw in collect',
      plugin(
        () => 1,
        () => {
          throw new Error('no data');
        },
      ),
      /failed in collect: no data/,
    ],
    ['rejected promise', plugin(() => Promise.reject(new Error('later'))), /failed in decide: later/],
    [
      'throws a string',
      plugin(() => {
        throw 'plain';
      }),
      /failed in decide: plain/,
    ],
    ['hangs', plugin(() => new Promise<number>(() => {})), /did not answer within 50 ms/],
    [
      'collect hangs',
      plugin(
        () => 1,
        () => new Promise(() => {}),
      ),
      /did not answer within 50 ms/,
    ],
    ['NaN', plugin(() => NaN), /returned NaN/],
    ['negative', plugin(() => -1), /negative count \(-1\)/],
    ['Infinity', plugin(() => Infinity), /returned Infinity/],
    ['string', plugin(() => '3' as unknown as number), /returned a string \("3"\), expected a number/],
    ['undefined', plugin(() => undefined as unknown as number), /returned nothing, expected a number/],
    ['too big', plugin(() => 3e9), /more than 2147483647/],
  ];
  for (const [name, p, re] of rows) {
    const r = await runPlugin(p, ctx(), 50);
    assert.ok('error' in r, `${name}: expected an error, got ${JSON.stringify(r)}`);
    if ('error' in r) assert.match(r.error, re, name);
  }
});

test('plugin results: integers pass, fractions are rounded up', async () => {
  assert.deepEqual(
    await runPlugin(
      plugin(() => 4),
      ctx(),
      1000,
    ),
    { desired: 4 },
  );
  assert.deepEqual(
    await runPlugin(
      plugin(async () => 0),
      ctx(),
      1000,
    ),
    { desired: 0 },
  );
  assert.deepEqual(
    await runPlugin(
      plugin(() => 2.1),
      ctx(),
      1000,
    ),
    { desired: 3, rounded: true },
  );
  // collect's indicators reach decide
  const p = plugin(
    (ind) => ind.x * 2,
    async () => ({ x: 5 }),
  );
  assert.deepEqual(await runPlugin(p, ctx(), 1000), { desired: 10 });
});

test('queue-depth example plugin', async () => {
  const path = fileURLToPath(new URL('../../src/autoscaler/plugins/queue-depth.js', import.meta.url));
  const plugins = await loadPlugins([path]);
  const qd = plugins.get('queue-depth')!;
  assert.ok(qd);
  const sample = { averageConcurrency: 0, requests: 0, queued: 17, inFlight: 8, intervalMs: 1000, time: 0 };
  assert.deepEqual(await runPlugin(qd, ctx({ samples: [sample] }), 1000), { desired: 3 }); // ceil(25 / 10)
  assert.deepEqual(await runPlugin(qd, ctx({ samples: [sample], annotations: { 'sluice.dev/queue-depth-per-instance': '5' } }), 1000), {
    desired: 5,
  });
  assert.deepEqual(await runPlugin(qd, ctx(), 1000), { desired: 0 });
});

test('loadPlugins reports every problem clearly', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-plugins-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, body: string) => {
    const p = join(dir, name);
    writeFileSync(p, body);
    return p;
  };
  const good = write('good.mjs', `export default { name: 'fixed', collect() { return {}; }, decide() { return 2; } };`);
  const named = write('named.mjs', `export const plugin = { name: 'named', collect() { return {}; }, decide() { return 1; } };`);
  const dup = write('dup.mjs', `export default { name: 'fixed', collect() { return {}; }, decide() { return 3; } };`);
  const noDecide = write('nodecide.mjs', `export default { name: 'half', collect() { return {}; } };`);
  const badName = write('badname.mjs', `export default { name: 'Bad Name', collect() {}, decide() {} };`);
  const syntax = write('syntax.mjs', `export default {{;`);
  const throws = write('throws.mjs', `throw new Error('init failed');`);
  const nothing = write('nothing.mjs', `export const x = 1;`);

  const ok = await loadPlugins([good, named]);
  assert.deepEqual([...ok.keys()].sort(), ['fixed', 'named']);

  await assert.rejects(loadPlugins([good, dup, noDecide, badName, syntax, throws, nothing, join(dir, 'missing.mjs')]), (e: unknown) => {
    assert.ok(e instanceof PluginLoadError);
    const m = (e as PluginLoadError).message;
    assert.equal((e as PluginLoadError).problems.length, 7);
    assert.match(m, /dup\.mjs: a plugin named "fixed" is already loaded/);
    assert.match(m, /nodecide\.mjs: plugin "half" has no decide\(indicators, ctx\) function/);
    assert.match(m, /badname\.mjs: plugin\.name must be a lower-case DNS-style name/);
    assert.match(m, /syntax\.mjs: import failed: /);
    assert.match(m, /throws\.mjs: import failed: init failed/);
    assert.match(m, /nothing\.mjs: the module exports no plugin object/);
    assert.match(m, /missing\.mjs: no such file/);
    return true;
  });
});
