// Revision lifecycle rules as Knative has them: the labeler's routingState, revision GC over an
// injected clock with config-gc, and how runtime failures read on a Revision's conditions.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_GC, GC_DISABLED, parseGcConfig, type GcConfig } from '../../src/api/config-gc.js';
import type { KObject } from '../../src/api/types.js';
import { revisionRoutingMeta, routesByTarget } from '../../src/controllers/labeler.js';
import { failureConditions } from '../../src/controllers/revision.js';
import { revisionsToCollect } from '../../src/controllers/revision-gc.js';

const H = 3600_000;
const T0 = Date.parse('2026-01-10T00:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

function rev(name: string, o: { createdH: number; state?: string; modifiedH?: number; noGc?: boolean; cfg?: string }): KObject {
  const labels: Record<string, string> = { 'serving.knative.dev/configuration': o.cfg ?? 'app' };
  if (o.state) labels['serving.knative.dev/routingState'] = o.state;
  const annotations: Record<string, string> = {};
  if (o.modifiedH !== undefined) annotations['serving.knative.dev/routingStateModified'] = iso(T0 + o.modifiedH * H);
  if (o.noGc) annotations['serving.knative.dev/no-gc'] = 'true';
  return {
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Revision',
    metadata: { name, labels, annotations, creationTimestamp: iso(T0 + o.createdH * H) },
  };
}
const cfg = (latestReady?: string): KObject => ({
  apiVersion: 'serving.knative.dev/v1',
  kind: 'Configuration',
  metadata: { name: 'app' },
  status: latestReady ? { latestReadyRevisionName: latestReady } : {},
});
const gc = (o: Partial<GcConfig>): GcConfig => ({ ...DEFAULT_GC, ...o });

test('config-gc: Knative defaults, "disabled", and its refusals', () => {
  assert.deepEqual(parseGcConfig({}), DEFAULT_GC);
  assert.deepEqual(
    parseGcConfig({ 'retain-since-create-time': 'disabled', 'max-non-active-revisions': 'Disabled', 'min-non-active-revisions': '0' }),
    {
      ...DEFAULT_GC,
      retainSinceCreateTimeMs: GC_DISABLED,
      maxNonActiveRevisions: GC_DISABLED,
      minNonActiveRevisions: 0,
    },
  );
  assert.equal(parseGcConfig({ 'retain-since-last-active-time': '90m' }).retainSinceLastActiveTimeMs, 90 * 60_000);
  const refused: [Record<string, string>, string][] = [
    [{ 'retain-since-create-time': 'soon' }, 'failed to parse retain-since-create-time: time: invalid duration "soon"'],
    [{ 'retain-since-last-active-time': '-1h' }, 'failed to parse retain-since-last-active-time: must be non-negative'],
    [{ 'min-non-active-revisions': '-1' }, 'min-non-active-revisions must be non-negative, was: -1'],
    [
      { 'min-non-active-revisions': '5', 'max-non-active-revisions': '2' },
      'min-non-active-revisions(5) must be <= max-non-active-revisions(2)',
    ],
    [{ 'max-non-active-revisions': 'x' }, 'failed to parse max-non-active-revisions: strconv.ParseUint: parsing "x": invalid syntax'],
  ];
  for (const [data, msg] of refused) assert.throws(() => parseGcConfig(data), { message: msg }, JSON.stringify(data));
});

test('revision GC: only reserve revisions, stale by both clocks, oldest first, min kept, max enforced', () => {
  const now = T0 + 100 * H;
  const revs = [
    rev('app-1', { createdH: 0, state: 'reserve', modifiedH: 10 }), // last active 90h ago
    rev('app-2', { createdH: 1, state: 'reserve', modifiedH: 50 }), // 50h ago
    rev('app-3', { createdH: 2, state: 'reserve', modifiedH: 95 }), // 5h ago: recently active
    rev('app-4', { createdH: 3, state: 'active', modifiedH: 3 }), // routed
    rev('app-5', { createdH: 4, state: 'pending' }), // never routed yet
    rev('app-6', { createdH: 5, state: 'reserve', modifiedH: 6, noGc: true }), // preserved
    rev('app-7', { createdH: 6, state: 'reserve', modifiedH: 7 }), // latest ready
    rev('other-1', { createdH: 0, state: 'reserve', modifiedH: 0, cfg: 'other' }), // another configuration
  ];
  const cases: [string, Partial<GcConfig>, string[]][] = [
    ['defaults keep 20', {}, []],
    ['min 0: stale ones, oldest activity first', { minNonActiveRevisions: 0 }, ['app-1', 'app-2']],
    ['min 2 of 3 candidates: only one may go', { minNonActiveRevisions: 2 }, ['app-1']],
    ['created within retain-since-create-time is kept', { minNonActiveRevisions: 0, retainSinceCreateTimeMs: 99.5 * H }, ['app-1']],
    [
      'active clock off: created long ago is enough',
      { minNonActiveRevisions: 0, retainSinceLastActiveTimeMs: GC_DISABLED },
      ['app-1', 'app-2', 'app-3'],
    ],
    [
      'both clocks off: max alone',
      {
        minNonActiveRevisions: 0,
        retainSinceCreateTimeMs: GC_DISABLED,
        retainSinceLastActiveTimeMs: GC_DISABLED,
        maxNonActiveRevisions: 1,
      },
      ['app-1', 'app-2'],
    ],
    ['max after the stale ones', { minNonActiveRevisions: 0, maxNonActiveRevisions: 0 }, ['app-1', 'app-2', 'app-3']],
    [
      'everything disabled',
      {
        retainSinceCreateTimeMs: GC_DISABLED,
        retainSinceLastActiveTimeMs: GC_DISABLED,
        maxNonActiveRevisions: GC_DISABLED,
        minNonActiveRevisions: 0,
      },
      [],
    ],
  ];
  for (const [name, o, want] of cases) assert.deepEqual(revisionsToCollect(cfg('app-7'), revs, gc(o), now), want, name);
  // A revision a route still names is kept even if its label says reserve.
  assert.deepEqual(revisionsToCollect(cfg('app-7'), revs, gc({ minNonActiveRevisions: 0 }), now, new Set(['app-1'])), ['app-2']);
  // Not enough revisions at all: nothing to do.
  assert.deepEqual(revisionsToCollect(cfg(), revs.slice(0, 2), gc({ minNonActiveRevisions: 2 }), now), []);
});

test('labeler: active while routed, reserve after, pending until first routed, with the modification time', () => {
  const now = T0 + 5 * H;
  const pending = rev('app-1', { createdH: 0, state: 'pending', modifiedH: 0 });
  const routed = revisionRoutingMeta(pending, ['app', 'other'], now)!;
  assert.equal(routed.labels['serving.knative.dev/routingState'], 'active');
  assert.equal(routed.annotations['serving.knative.dev/routes'], 'app,other');
  assert.equal(routed.annotations['serving.knative.dev/routingStateModified'], iso(now));
  const active = { ...pending, metadata: { ...pending.metadata, ...routed } };
  assert.equal(revisionRoutingMeta(active, ['other', 'app'], now + H), undefined, 'no change, no write');
  const dropped = revisionRoutingMeta(active, [], now + H)!;
  assert.equal(dropped.labels['serving.knative.dev/routingState'], 'reserve');
  assert.equal(dropped.annotations['serving.knative.dev/routes'], undefined);
  assert.equal(dropped.annotations['serving.knative.dev/routingStateModified'], iso(now + H));
  assert.equal(revisionRoutingMeta(pending, [], now), undefined, 'pending stays pending');

  const { revisions, configurations } = routesByTarget([
    {
      apiVersion: 'serving.knative.dev/v1',
      kind: 'Route',
      metadata: { name: 'app', namespace: 'default' },
      spec: {
        traffic: [
          { configurationName: 'app', percent: 90 },
          { revisionName: 'app-1', percent: 10, tag: 'old' },
        ],
      },
      status: {
        traffic: [
          { revisionName: 'app-2', percent: 90 },
          { revisionName: 'app-1', percent: 10 },
        ],
      },
    },
  ]);
  assert.deepEqual([...revisions.keys()].sort(), ['app-1', 'app-2']);
  assert.deepEqual(configurations.get('app'), ['app']);
});

test('runtime failures read as Knative shows them on a revision', () => {
  assert.deepEqual(failureConditions({ reason: 'ImageNotMapped', message: 'image "x" has no local mapping' }), {
    health: { status: 'False', reason: 'ContainerMissing', message: 'image "x" has no local mapping' },
    resources: { status: 'False', reason: 'ContainerMissing', message: 'image "x" has no local mapping' },
  });
  const loop = failureConditions({ reason: 'CrashLoopBackOff', message: 'back-off 2s', terminationReason: 'ExitCode3' });
  assert.equal(loop.health.reason, 'ExitCode3');
  assert.equal(loop.resources.reason, 'CrashLoopBackOff');
  assert.equal(failureConditions({ reason: 'ExitCode1', message: 'exited' }).health.reason, 'ExitCode1');
  assert.deepEqual(failureConditions({ reason: 'CreateContainerConfigError', message: 'configmap "x" not found' }), {
    health: { status: 'Unknown', reason: 'Deploying' },
    resources: { status: 'False', reason: 'CreateContainerConfigError', message: 'configmap "x" not found' },
  });
});
