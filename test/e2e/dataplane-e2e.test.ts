// The data plane end to end, through a real server: a revision whose app dies at start never gets
// traffic and says why; a crashing instance is restarted; shifting traffic under load loses nothing.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { parse } from 'yaml';
import { waitFor } from '../support/poll.js';
import { exampleService, gatewayGet, kubectl, startTestSluice } from '../support/sluice.js';

const service = (name: string, rev: string, env: Record<string, string>, traffic?: unknown[]) =>
  exampleService(name, { revision: rev, env, traffic });

const cond = (obj: any, type: string) => obj?.status?.conditions?.find((c: any) => c.type === type);

test('a revision whose app exits at start gets no traffic, shows why, and latest stays on the ready one', async (t) => {
  const s = await startTestSluice(t);
  const kc = s.kubeconfigPath;
  const apply = async (doc: string) => {
    const r = await kubectl(kc, ['apply', '-f', '-'], doc);
    assert.equal(r.code, 0, r.stderr);
  };
  await apply(service('exits', 'good', { RESOURCE: 'good' }));
  await waitFor(
    'good ready',
    async () => (await gatewayGet(s.gatewayPort, 'exits.default.example.com')).body === 'Welcome to the good app! \n',
  );

  await apply(service('exits', 'bad', { RESOURCE: 'bad', EXIT_AT_START: '7' }, [{ tag: 'latest', latestRevision: true, percent: 100 }]));
  const bad = await waitFor('bad revision failed', async () => {
    const r = parse((await kubectl(kc, ['get', 'revision', 'exits-bad', '-o', 'yaml'])).stdout);
    return cond(r, 'Ready')?.status === 'False' ? r : undefined;
  });
  assert.match(cond(bad, 'ContainerHealthy').reason, /ExitCode7|CrashLoopBackOff/);
  assert.match(cond(bad, 'ContainerHealthy').message, /7/);

  const svc = parse((await kubectl(kc, ['get', 'ksvc', 'exits', '-o', 'yaml'])).stdout);
  assert.equal(svc.status.latestCreatedRevisionName, 'exits-bad');
  assert.equal(svc.status.latestReadyRevisionName, 'exits-good');
  assert.match(cond(svc, 'Ready').message ?? '', /exits-bad/);
  for (let i = 0; i < 20; i++) {
    assert.equal((await gatewayGet(s.gatewayPort, 'exits.default.example.com')).body, 'Welcome to the good app! \n');
  }
  assert.equal((await gatewayGet(s.gatewayPort, 'latest-exits.default.example.com')).body, 'Welcome to the good app! \n');
});

test('a crashing instance is restarted and the revision recovers', async (t) => {
  const s = await startTestSluice(t);
  const kc = s.kubeconfigPath;
  assert.equal((await kubectl(kc, ['apply', '-f', '-'], service('crashy', 'v1', { RESOURCE: 'v1' }))).code, 0);
  const host = 'crashy.default.example.com';
  await waitFor('ready', async () => (await gatewayGet(s.gatewayPort, host)).status === 200);
  // The app exits on /crash; the connection breaks, so the request fails one way or another.
  await gatewayGet(s.gatewayPort, host, '/crash').catch(() => undefined);
  await waitFor('restarted instance answers', async () => {
    const st = s.runtime.status('default/crashy-v1');
    return st && st.instances.some((i) => i.restarts >= 1 && i.ready) && (await gatewayGet(s.gatewayPort, host)).status === 200;
  });
  const rev = parse((await kubectl(kc, ['get', 'revision', 'crashy-v1', '-o', 'yaml'])).stdout);
  await waitFor('revision ready again', async () => {
    const r = parse((await kubectl(kc, ['get', 'revision', 'crashy-v1', '-o', 'yaml'])).stdout);
    return cond(r, 'Ready')?.status === 'True';
  });
  assert.ok(rev);
});

test('shifting traffic from v1 to v2 under concurrent load completes every request with 200', async (t) => {
  const s = await startTestSluice(t);
  const kc = s.kubeconfigPath;
  const apply = async (doc: string) => {
    const r = await kubectl(kc, ['apply', '-f', '-'], doc);
    assert.equal(r.code, 0, r.stderr);
  };
  await apply(service('shift', 'v1', { RESOURCE: 'v1' }));
  const host = 'shift.default.example.com';
  await waitFor('v1 ready', async () => (await gatewayGet(s.gatewayPort, host)).status === 200);
  await apply(service('shift', 'v2', { RESOURCE: 'v2' }, [{ revisionName: 'shift-v1', percent: 100 }]));
  await waitFor('v2 ready', async () => {
    const r = parse((await kubectl(kc, ['get', 'revision', 'shift-v2', '-o', 'yaml'])).stdout);
    return cond(r, 'Ready')?.status === 'True';
  });

  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  t.after(() => agent.destroy());
  const statuses = new Map<number, number>();
  const seen = new Set<string>();
  let stop = false;
  const worker = async () => {
    while (!stop) {
      const r = await gatewayGet(s.gatewayPort, host, '/', agent).catch(() => ({ status: -1, body: '' }));
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      seen.add(r.body.trim());
    }
  };
  const workers = Array.from({ length: 16 }, worker);
  // Walk the split from v1 to v2 while the load runs.
  for (const p of [90, 70, 50, 30, 10, 0]) {
    await apply(
      service('shift', 'v2', { RESOURCE: 'v2' }, [
        { revisionName: 'shift-v1', percent: p },
        { revisionName: 'shift-v2', percent: 100 - p },
      ]),
    );
  }
  await waitFor('all traffic on v2', async () => {
    const r = await gatewayGet(s.gatewayPort, host, '/', agent);
    return r.body === 'Welcome to the v2 app! \n';
  });
  stop = true;
  await Promise.all(workers);
  const total = [...statuses.values()].reduce((a, b) => a + b, 0);
  assert.ok(total > 100, `only ${total} requests were made`);
  assert.deepEqual([...statuses.keys()], [200], `statuses: ${JSON.stringify([...statuses])}`);
  assert.deepEqual([...seen].sort(), ['Welcome to the v1 app!', 'Welcome to the v2 app!']);
});
