// Events a Knative user reads with the stock kubectl against a whole Sluice: `kubectl describe
// ksvc` ends with the revision being created and becoming ready, the traffic moving to it and the
// scale to zero with the autoscaler's reason; `kubectl events --for ksvc/NAME` and `kubectl get
// events` show the same, on the Revision too.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { waitFor } from '../support/poll.js';
import { applyDoc, exampleService, gatewayGet, kubectl, startTestSluice } from '../support/sluice.js';

// A stable window of 6 s (Knative's minimum) so the scale to zero happens within the test.
const FAST = { 'stable-window': '6s', 'scale-to-zero-grace-period': '1s' };

test('kubectl describe ksvc and kubectl events --for ksvc/NAME tell what happened to the service', async (t) => {
  const s = await startTestSluice(t, { autoscalerConfig: FAST });
  const k = async (...args: string[]) => {
    const r = await kubectl(s.kubeconfigPath, args);
    assert.equal(r.code, 0, `kubectl ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  };
  await applyDoc(s, exampleService('story', { annotations: { 'autoscaling.knative.dev/min-scale': '0' } }));
  await waitFor('first answer', async () => (await gatewayGet(s.gatewayPort, 'story.default.example.com')).status === 200, 20_000);

  const described = await waitFor(
    'the scale to zero in describe',
    async () => {
      const out = await k('describe', 'ksvc', 'story');
      return /Scaled\s+/.test(out) ? out : undefined;
    },
    40_000,
    500,
  );
  const events = described.slice(described.indexOf('Events:'));
  assert.match(events, /Type\s+Reason\s+Age\s+From\s+Message/);
  assert.match(events, /Normal\s+Created\s+\S+\s+sluice\s+Created Revision "story-v1"/);
  assert.match(events, /Normal\s+RevisionReady\s+\S+\s+sluice\s+Revision "story-v1" is ready/);
  assert.match(events, /Normal\s+TrafficShifted\s+\S+\s+sluice\s+Route "story" sends traffic to story-v1 100%/);
  assert.match(events, /Normal\s+Scaled\s+\S+\s+sluice\s+Revision "story-v1" scaled from 1 to 0: \S/);

  const forSvc = await k('events', '--for', 'ksvc/story');
  assert.match(forSvc, /RevisionReady\s+Service\/story\s+Revision "story-v1" is ready/);
  assert.match(forSvc, /Scaled\s+Service\/story/);
  const forRev = await k('events', '--for', 'revision/story-v1');
  assert.match(forRev, /Scaled\s+Revision\/story-v1\s+Revision "story-v1" scaled from 1 to 0/);
  assert.match(await k('get', 'events'), /Normal\s+TrafficShifted\s+route\/story/);
});
