import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Service, TrafficTarget } from '../../src/api/types.js';
import { computeTraffic, parseTrafficFlag, splitFlagList, trafficByRevision } from '../../src/cli/traffic.js';
import { CliError } from '../../src/cli/errors.js';

// The walkthrough's service after revision-v3.yaml: v1/v2 at 50/50, v3 latest with 0%.
const svc = (traffic?: TrafficTarget[], statusTraffic?: TrafficTarget[]): Service => ({
  apiVersion: 'serving.knative.dev/v1',
  kind: 'Service',
  metadata: { name: 'stock', namespace: 'default', generation: 3 },
  spec: { template: { spec: { containers: [{ image: 'x' }] } }, traffic },
  status: { latestReadyRevisionName: 'stock-v3', traffic: statusTraffic },
});

const walkthrough = () =>
  svc([
    { tag: 'v1', revisionName: 'stock-v1', percent: 50, latestRevision: false },
    { tag: 'v2', revisionName: 'stock-v2', percent: 50, latestRevision: false },
    { tag: 'latest', latestRevision: true, percent: 0 },
  ]);

const brief = (ts: TrafficTarget[]) => ts.map((t) => [t.tag ?? '', t.latestRevision ? '@latest' : t.revisionName, t.percent]);

test('--traffic by tag replaces the whole split; unlisted targets keep their tags at 0%', () => {
  const out = computeTraffic(walkthrough(), { traffic: ['v1=40,v2=30,latest=30'] });
  assert.deepEqual(brief(out), [
    ['v1', 'stock-v1', 40],
    ['v2', 'stock-v2', 30],
    ['latest', '@latest', 30],
  ]);
});

test('--traffic resolves tags before revision names, then adds unknown revisions', () => {
  const s = svc([
    // a tag that collides with another target's revision name: the tag wins
    { tag: 'stock-v1', revisionName: 'stock-v2', percent: 100, latestRevision: false },
    { revisionName: 'stock-v1', percent: 0, latestRevision: false },
  ]);
  const out = computeTraffic(s, { traffic: ['stock-v1=70', 'stock-v3=30'] });
  assert.deepEqual(brief(out), [
    ['stock-v1', 'stock-v2', 70],
    ['', 'stock-v3', 30],
  ]);
});

test('@latest and a bare percent address the latestRevision target; default traffic when spec has none', () => {
  assert.deepEqual(brief(computeTraffic(svc(undefined), { traffic: ['@latest=100'] })), [['', '@latest', 100]]);
  const out = computeTraffic(svc([{ revisionName: 'stock-v1', percent: 100 }]), { traffic: ['stock-v1=90', '10'] });
  assert.deepEqual(brief(out), [
    ['', 'stock-v1', 90],
    ['', '@latest', 10],
  ]);
});

test('untagged targets left at 0% disappear', () => {
  const s = svc([
    { revisionName: 'stock-v1', percent: 50, latestRevision: false },
    { revisionName: 'stock-v2', percent: 50, latestRevision: false },
  ]);
  assert.deepEqual(brief(computeTraffic(s, { traffic: ['stock-v2=100'] })), [['', 'stock-v2', 100]]);
});

test('--tag tags an existing target, adds a 0% target for a new revision, @latest tags the latest target', () => {
  const s = svc([
    { revisionName: 'stock-v1', percent: 100, latestRevision: false },
    { latestRevision: true, percent: 0, tag: undefined },
  ]);
  const out = computeTraffic(s, { tags: ['stock-v1=v1', 'stock-v2=v2', '@latest=candidate'] });
  assert.deepEqual(brief(out), [
    ['v1', 'stock-v1', 100],
    ['candidate', '@latest', 0],
    ['v2', 'stock-v2', 0],
  ]);
});

test('a revision can carry a second tag; re-tagging the same revision is a no-op', () => {
  const out = computeTraffic(walkthrough(), { tags: ['stock-v1=stable', 'stock-v2=v2'] });
  assert.deepEqual(brief(out), [
    ['v1', 'stock-v1', 50],
    ['v2', 'stock-v2', 50],
    ['latest', '@latest', 0],
    ['stable', 'stock-v1', 0],
  ]);
});

test('--untag happens before --tag and --traffic, so a tag can move in one command', () => {
  const out = computeTraffic(walkthrough(), { untags: ['v1'], tags: ['stock-v3=v1'], traffic: ['v1=100'] });
  // stock-v1 lost its tag and its traffic, so it is gone; the tag now names stock-v3.
  assert.deepEqual(brief(out), [
    ['v2', 'stock-v2', 0],
    ['latest', '@latest', 0],
    ['v1', 'stock-v3', 100],
  ]);
});

test('--untag keeps a target that still has traffic', () => {
  const out = computeTraffic(walkthrough(), { untags: ['v2'] });
  assert.deepEqual(brief(out), [
    ['v1', 'stock-v1', 50],
    ['', 'stock-v2', 50],
    ['latest', '@latest', 0],
  ]);
});

test('traffic sums are not checked client-side (the server answers)', () => {
  const out = computeTraffic(walkthrough(), { traffic: ['v1=50', 'v2=60'] });
  assert.deepEqual(
    out.map((t) => t.percent),
    [50, 60, 0],
  );
});

test('malformed and conflicting flags give clear errors', () => {
  const err = (f: () => unknown, re: RegExp) => assert.throws(f, (e: unknown) => e instanceof CliError && re.test(e.message));
  err(() => parseTrafficFlag('v1=abc'), /percent "abc" is not a whole number/);
  err(() => parseTrafficFlag('v1=-5'), /not a whole number/);
  err(() => parseTrafficFlag('=50'), /expected REVISION=PERCENT/);
  err(() => parseTrafficFlag('a=b=c'), /expected REVISION=PERCENT/);
  err(() => computeTraffic(walkthrough(), { traffic: ['v1=50,v1=50'] }), /names "v1" more than once/);
  err(() => computeTraffic(walkthrough(), { untags: ['nope'] }), /tag "nope" not found in the traffic of service "stock"/);
  err(() => computeTraffic(walkthrough(), { tags: ['stock-v3=v1'] }), /tag "v1" is already used.*--untag v1/);
  err(() => computeTraffic(walkthrough(), { tags: ['@latest=newest'] }), /already has tag "latest"; add --untag latest/);
  err(() => computeTraffic(walkthrough(), { tags: ['@latest=a', '@latest=b'] }), /@latest only once/);
  err(() => computeTraffic(walkthrough(), { tags: ['stock-v1='] }), /expected REVISION=TAG/);
  assert.deepEqual(parseTrafficFlag('v1=50%'), { ref: 'v1', percent: 50 });
  assert.deepEqual(splitFlagList(['a=1, b=2', 'c=3', '']), ['a=1', 'b=2', 'c=3']);
});

test('the service is not modified in place', () => {
  const s = walkthrough();
  const before = JSON.stringify(s);
  computeTraffic(s, { traffic: ['v1=100'], untags: ['v2'] });
  assert.equal(JSON.stringify(s), before);
});

test('trafficByRevision sums percents and collects tags per revision from status.traffic', () => {
  const m = trafficByRevision([
    { tag: 'v1', revisionName: 'stock-v1', percent: 40, latestRevision: false },
    { revisionName: 'stock-v1', percent: 10, latestRevision: false },
    { tag: 'latest', revisionName: 'stock-v3', percent: 50, latestRevision: true },
    { tag: 'v3', revisionName: 'stock-v3', percent: 0, latestRevision: false },
  ]);
  assert.deepEqual(m.get('stock-v1'), { percent: 50, tags: ['v1'], latest: false });
  assert.deepEqual(m.get('stock-v3'), { percent: 50, tags: ['latest', 'v3'], latest: true });
});
