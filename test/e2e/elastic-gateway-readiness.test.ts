// The event-gateway class's first instance: an app that takes seconds to start keeps its instance
// (the initial scale holds until it is ready), and an app that cannot start makes the Revision and
// the Service not Ready with the runtime's reason, as for the KPA class.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { R } from '../../src/api/resources.js';
import { waitFor } from '../support/poll.js';
import { applyDoc, exampleService, startTestSluice } from '../support/sluice.js';

const EVENT_GATEWAY = 'event-gateway.autoscaling.sluice.dev';

function app(t: { after: (fn: () => void) => void }, source: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-eg-app-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'app.mjs');
  writeFileSync(file, source);
  return file;
}

const service = (name: string, file: string) =>
  exampleService(name, {
    annotations: { 'autoscaling.knative.dev/class': EVENT_GATEWAY },
    env: {},
    command: [process.execPath, file],
  });

const condition = (o: { status?: { conditions?: { type: string; status: string; reason?: string }[] } } | undefined, type: string) =>
  o?.status?.conditions?.find((c) => c.type === type);

test('an app that needs 3 s to start keeps its first instance until it is ready', async (t) => {
  const file = app(
    t,
    `import http from 'node:http';
setTimeout(() => http.createServer((q, s) => s.end('ok')).listen(Number(process.env.PORT), '127.0.0.1'), 3000);
process.on('SIGTERM', () => process.exit(0));
`,
  );
  // Ticks every second, so a decider that took a starting instance for an idle one would stop it.
  const s = await startTestSluice(t, { autoscalerConfig: { 'tick-interval': '1s' } });
  await applyDoc(s, service('slow', file));
  const st = await waitFor(
    'the first instance ready',
    () => (s.runtime.status('default/slow-v1')?.readyReplicas ?? 0) > 0 && s.runtime.status('default/slow-v1'),
    20_000,
  );
  // The instance that became ready is the one started first: it was never stopped.
  assert.equal(st.instances[0].restarts, 0);
  const svc = await waitFor('the Service Ready', async () => {
    const o = await s.store.get(R.services, 'default', 'slow');
    return condition(o, 'Ready')?.status === 'True' && o;
  });
  assert.ok(svc);
});

test('an app that exits 2.5 s after starting leaves the Revision and the Service not Ready, with the reason', async (t) => {
  const file = app(t, `setTimeout(() => process.exit(3), 2500);\n`);
  const s = await startTestSluice(t);
  // Every state the Revision goes through, to show it is never Ready on the way.
  const readyStates: string[] = [];
  const unwatch = await s.store.watch(
    R.revisions,
    {},
    { onEvent: (e) => readyStates.push(condition(e.object, 'Ready')?.status ?? 'none') },
  );
  t.after(unwatch);
  await applyDoc(s, service('broken', file));
  const rev = await waitFor(
    'the Revision not Ready',
    async () => {
      const o = await s.store.get(R.revisions, 'default', 'broken-v1');
      return condition(o, 'Ready')?.status === 'False' && o;
    },
    30_000,
  );
  assert.equal(condition(rev, 'ContainerHealthy')?.status, 'False');
  const svc = await waitFor('the Service not Ready', async () => {
    const o = await s.store.get(R.services, 'default', 'broken');
    return condition(o, 'Ready')?.status === 'False' && o;
  });
  assert.equal(condition(svc, 'ConfigurationsReady')?.reason, 'RevisionFailed');
  assert.ok(!readyStates.includes('True'), readyStates.join(' '));
});
