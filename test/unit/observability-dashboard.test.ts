// The Grafana dashboard under docs/ queries only series Sluice exports, with labels they have: it
// is checked against the registry the server builds (gateway, autoscaler, controllers, store, runtime).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../src/server.js';
import { Registry } from '../../src/observability/registry.js';
import { EventLog } from '../../src/observability/events.js';
import { silentLogger } from '../../src/observability/log.js';
import { keyOnlyLabeler, registerGatewayMetrics } from '../../src/dataplane/metrics.js';
import { observeAutoscaler } from '../../src/controllers/autoscaling/metrics.js';
import { registerControllerMetrics } from '../../src/controllers/metrics.js';
import { instrumentStore } from '../../src/store/metrics.js';
import { observeRuntime } from '../../src/runtime/metrics.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import type { Store } from '../../src/store/store.js';

/** Family name → its label names, from the HELP/TYPE and sample lines of a render with one sample each. */
function exported(): Set<string> {
  const reg = new Registry();
  const runtime = { onChange: () => () => {}, status: () => undefined } as unknown as Runtime;
  registerGatewayMetrics(reg, { revisionViews: () => [], rejections: () => new Map() });
  observeAutoscaler(reg, () => undefined, runtime, keyOnlyLabeler, new EventLog({ logger: silentLogger }));
  registerControllerMetrics(reg, () => 0);
  instrumentStore({} as Store, reg);
  observeRuntime(reg, runtime);
  const names = new Set<string>();
  for (const line of reg.render().split('\n')) {
    const m = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (!m) continue;
    names.add(m[1]);
    if (m[2] === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(m[1] + s);
  }
  return names;
}

test('every metric the Grafana dashboard queries is exported', () => {
  const dash = JSON.parse(readFileSync(join(projectRoot, 'docs', 'grafana', 'sluice-dashboard.json'), 'utf8'));
  const have = exported();
  const exprs: string[] = dash.panels.flatMap((p: { targets?: { expr: string }[] }) => (p.targets ?? []).map((t) => t.expr));
  assert.ok(exprs.length >= 20, `${exprs.length} queries`);
  const functions = new Set(['sum', 'by', 'rate', 'increase', 'histogram_quantile', 'le']);
  const used = new Set<string>();
  for (const e of exprs) {
    // Metric names: the identifiers left once label matchers, grouping labels and calls are taken out.
    const bare = e.replace(/\{[^}]*\}/g, '').replace(/\bby \([^)]*\)/g, '');
    for (const m of bare.matchAll(/\b([a-z_][a-z0-9_]*)\b(?!\s*\()/g)) if (!functions.has(m[1])) used.add(m[1]);
  }
  for (const name of used) assert.ok(have.has(name), `the dashboard queries ${name}, which Sluice does not export`);
  for (const want of [
    'revision_request_count',
    'revision_request_latencies_bucket',
    'autoscaler_desired_pods',
    'sluice_runtime_cold_start_seconds_bucket',
  ])
    assert.ok(used.has(want), `the dashboard shows ${want}`);
});
