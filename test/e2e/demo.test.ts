// `sluice demo` replays the article against a fresh server; its observed shares must be the
// article's: v1 only, 50/50, v3 only on its latest URL, 40/30/30, then the rollback.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runDemo } from '../../src/demo/demo.js';

test('the demo observes the article’s shares', async () => {
  const lines: string[] = [];
  const steps = await runDemo({ requests: 2000, print: (l) => lines.push(l) });
  const shares = steps.map((s) => s.shares);
  const near = (got: Record<string, number>, want: Record<string, number>) => {
    assert.deepEqual(Object.keys(got).sort(), Object.keys(want).sort(), JSON.stringify(got));
    for (const k of Object.keys(want)) assert.ok(Math.abs(got[k] - want[k]) <= 1, `${k}: ${got[k]} vs ${want[k]}`);
  };
  near(shares[0], { v1: 100 });
  near(shares[1], { v1: 50, v2: 50 });
  near(shares[2], { v1: 50, v2: 50 });
  near(shares[3], { v3: 100 });
  near(shares[4], { v1: 40, v2: 30, v3: 30 });
  near(shares[5], { v1: 100 });
  // The printed line is what a user reads: it names each revision with the share just measured
  // (with several gateway workers each keeps its own split schedule, so a share may be off by a few requests).
  const printed =
    /40\/30\/30\n\s+2000 requests to stock-service-example.default.example.com: v1 ([\d.]+)%, v2 ([\d.]+)%, v3 ([\d.]+)%/.exec(
      lines.join('\n'),
    );
  assert.ok(printed, lines.join('\n'));
  near({ v1: Number(printed[1]), v2: Number(printed[2]), v3: Number(printed[3]) }, { v1: 40, v2: 30, v3: 30 });
});
