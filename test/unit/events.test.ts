// Events: retention (TTL and per-namespace cap), the lifecycle events derived from status
// changes, and the conversion between core v1 and events.k8s.io/v1.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KObject } from '../../src/api/types.js';
import { coreToEventsV1, eventsV1ToCore } from '../../src/apiserver/events.js';
import { lifecycleEvents, observe } from '../../src/events/lifecycle.js';
import { expiredEvents, StoreEventRecorder } from '../../src/events/recorder.js';
import { openMemoryStore } from '../../src/store/index.js';

const ev = (name: string, ns: string, last: string): KObject => ({
  apiVersion: 'v1',
  kind: 'Event',
  metadata: { name, namespace: ns },
  lastTimestamp: last,
});

test('retention: events past the TTL go, then the oldest beyond the per-namespace cap', () => {
  const now = Date.parse('2026-01-01T12:00:00Z');
  const events = [
    ev('old', 'a', '2026-01-01T10:00:00Z'),
    ev('a1', 'a', '2026-01-01T11:50:00Z'),
    ev('a2', 'a', '2026-01-01T11:55:00Z'),
    ev('a3', 'a', '2026-01-01T11:59:00Z'),
    ev('b1', 'b', '2026-01-01T11:00:30Z'),
  ];
  const gone = expiredEvents(events, now, 3600_000, 2).map((e) => e.metadata.name);
  assert.deepEqual(
    gone.sort((a, b) => String(a).localeCompare(String(b))),
    ['a1', 'old'],
  );
  assert.deepEqual(
    expiredEvents(events, now, 3600_000, 100).map((e) => e.metadata.name),
    ['old'],
  );
});

test('retention at scale: of 30,000 Events in one namespace the newest 1,000 stay, whatever their order', () => {
  const now = Date.parse('2026-01-01T12:00:00Z');
  // One per second over the last 30,000 s (all within a 10 h TTL), listed in a shuffled order.
  const events = Array.from({ length: 30_000 }, (_, i) => ev(`e${i}`, 'default', new Date(now - (30_000 - i) * 1000).toISOString()));
  const shuffled = events.map((e, i) => ({ e, k: (i * 7919) % 30_011 })).sort((a, b) => a.k - b.k);
  const gone = new Set(
    expiredEvents(
      shuffled.map((x) => x.e),
      now,
      36_000_000,
      1000,
    ).map((e) => e.metadata.name),
  );
  assert.equal(gone.size, 29_000);
  assert.ok(!gone.has('e29000') && !gone.has('e29999'));
  assert.ok(gone.has('e0') && gone.has('e28999'));
});

const REV = 'serving.knative.dev/revisions';
const rev = (ready?: { status: string; reason?: string; message?: string }): KObject => ({
  apiVersion: 'serving.knative.dev/v1',
  kind: 'Revision',
  metadata: { name: 'hello-00001', namespace: 'default' },
  status: ready ? { conditions: [{ type: 'Ready', ...ready }] } : {},
});

test('lifecycle events: a table of status changes and what they report', () => {
  const cases: { what: string; resource: string; type: 'ADDED' | 'MODIFIED'; before?: KObject; after: KObject; want: string[] }[] = [
    { what: 'a new revision', resource: REV, type: 'ADDED', after: rev(), want: ['Normal Created Created Revision "hello-00001"'] },
    {
      what: 'ready',
      resource: REV,
      type: 'MODIFIED',
      before: rev({ status: 'Unknown' }),
      after: rev({ status: 'True' }),
      want: ['Normal RevisionReady Revision "hello-00001" is ready'],
    },
    { what: 'still ready', resource: REV, type: 'MODIFIED', before: rev({ status: 'True' }), after: rev({ status: 'True' }), want: [] },
    {
      what: 'failed',
      resource: REV,
      type: 'MODIFIED',
      before: rev({ status: 'Unknown' }),
      after: rev({ status: 'False', reason: 'ExitCode1', message: 'container exited' }),
      want: ['Warning RevisionFailed Revision "hello-00001" failed with message: ExitCode1: container exited'],
    },
    {
      what: 'traffic shift',
      resource: 'serving.knative.dev/routes',
      type: 'MODIFIED',
      before: { apiVersion: 'v', kind: 'Route', metadata: { name: 'r' }, status: { traffic: [{ revisionName: 'a', percent: 100 }] } },
      after: {
        apiVersion: 'v',
        kind: 'Route',
        metadata: { name: 'r' },
        status: {
          traffic: [
            { revisionName: 'a', percent: 50 },
            { revisionName: 'b', percent: 50, tag: 'v2' },
          ],
        },
      },
      want: ['Normal TrafficShifted Route "r" sends traffic to a 50%, b 50% (tag v2)'],
    },
    {
      what: 'scaled with the reason',
      resource: 'autoscaling.internal.knative.dev/podautoscalers',
      type: 'MODIFIED',
      before: { apiVersion: 'v', kind: 'PodAutoscaler', metadata: { name: 'p' }, status: { desiredScale: 1 } },
      after: {
        apiVersion: 'v',
        kind: 'PodAutoscaler',
        metadata: { name: 'p', labels: { 'serving.knative.dev/revision': 'hello-00001' } },
        status: { desiredScale: 0, reason: 'no traffic for the stable window' },
      },
      want: ['Normal Scaled Revision "hello-00001" scaled from 1 to 0: no traffic for the stable window'],
    },
  ];
  for (const c of cases) {
    const got = lifecycleEvents(c.resource, c.type, c.before ? observe(c.resource, c.before) : undefined, c.after);
    assert.deepEqual(
      got.map((e) => `${e.type} ${e.reason} ${e.message}`),
      c.want,
      c.what,
    );
  }
});

test('events.k8s.io/v1 and core v1 are two views of one Event', () => {
  const core: KObject = {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: 'x.1', namespace: 'default' },
    involvedObject: { kind: 'Service', name: 'hello', namespace: 'default' },
    reason: 'Scaled',
    message: 'from 1 to 2',
    source: { component: 'sluice' },
    count: 3,
    type: 'Normal',
    firstTimestamp: '2026-01-01T00:00:00Z',
    lastTimestamp: '2026-01-01T00:01:00Z',
    reportingComponent: 'sluice',
    reportingInstance: 'host',
  };
  const v1 = coreToEventsV1(core);
  assert.equal(v1.apiVersion, 'events.k8s.io/v1');
  assert.equal(v1.note, 'from 1 to 2');
  assert.deepEqual(v1.regarding, core.involvedObject);
  assert.equal(v1.deprecatedCount, 3);
  assert.equal(v1.reportingController, 'sluice');
  const back = eventsV1ToCore(v1);
  for (const k of ['reason', 'message', 'count', 'type', 'firstTimestamp', 'lastTimestamp', 'involvedObject', 'source']) {
    assert.deepEqual(back[k], core[k], k);
  }
});

test('recorder: beyond the events waiting to be written, new ones are dropped (as client-go does)', async () => {
  const store = openMemoryStore();
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const create = store.create.bind(store);
  // Writes wait until the gate opens, so every event recorded meanwhile queues.
  store.create = async (resource, obj) => {
    await gate;
    return create(resource, obj);
  };
  const logs: string[] = [];
  const recorder = new StoreEventRecorder({ store, maxQueued: 3, log: (m) => logs.push(m) });
  const pod = { kind: 'Revision', metadata: { name: 'r', namespace: 'ns', uid: 'u' } } as KObject;
  for (let i = 0; i < 5; i++) recorder.recordEvent(pod, 'Normal', 'Reason', `message ${i}`);
  release();
  await recorder.flush();
  const { items } = await store.list('events', 'ns');
  assert.deepEqual(
    items.map((e) => String(e.message)).sort((a, b) => a.localeCompare(b)),
    ['message 0', 'message 1', 'message 2'],
  );
  // Room again: the next one is written, and the drops are reported.
  recorder.recordEvent(pod, 'Normal', 'Reason', 'message 5');
  await recorder.flush();
  assert.equal((await store.list('events', 'ns')).items.length, 4);
  assert.deepEqual(logs, ['events: 2 dropped while 3 were waiting to be written']);
  await store.close();
});
