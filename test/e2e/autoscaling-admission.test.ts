// Autoscaling annotations at admission, through kubectl: bad values are refused with Knative's
// messages and field paths, the cluster config in force is respected (max-scale-limit), and a
// revision's PodAutoscaler is readable with kubectl and sluice, and goes away with the revision.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { waitFor } from '../support/poll.js';
import { kubectl, startTestSluice, PODAUTOSCALERS, exampleService } from '../support/sluice.js';
import { projectRoot } from '../../src/server.js';

const PA = PODAUTOSCALERS;
const ANN = 'spec.template.metadata.annotations.autoscaling.knative.dev';

function service(name: string, annotations: Record<string, string>): string {
  return exampleService(name, { revision: null, annotations, env: {} });
}

function sluiceCli(kubeconfig: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [join(projectRoot, 'bin', 'sluice.js'), ...args],
      { env: { ...process.env, SLUICE_KUBECONFIG: kubeconfig, KUBECONFIG: '' } },
      (err, stdout, stderr) => done({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

test('bad autoscaling annotations are refused at admission with Knative messages, under the config in force', async (t) => {
  const s = await startTestSluice(t);
  const kc = s.kubeconfigPath;
  const refused = async (anns: Record<string, string>, message: RegExp) => {
    const r = await kubectl(kc, ['apply', '-f', '-'], service('bad', anns));
    assert.notEqual(r.code, 0, `accepted: ${JSON.stringify(anns)}`);
    assert.match(r.stderr, message);
  };
  await refused({ 'autoscaling.knative.dev/min-scale': '-1' }, new RegExp(`expected 0 <= -1 <= 2147483647: ${ANN}/min-scale`));
  await refused(
    { 'autoscaling.knative.dev/min-scale': '3', 'autoscaling.knative.dev/max-scale': '2' },
    new RegExp(`max-scale=2 is less than min-scale=3: ${ANN}/max-scale, ${ANN}/min-scale`),
  );
  await refused(
    { 'autoscaling.knative.dev/class': 'foo.autoscaling.knative.dev' },
    new RegExp(`invalid value: foo.autoscaling.knative.dev: ${ANN}/class`),
  );
  await refused({ 'autoscaling.knative.dev/metric': 'cpu' }, new RegExp(`invalid value: cpu: ${ANN}/metric`));
  await refused({ 'autoscaling.knative.dev/window': '5s' }, new RegExp(`expected 6s <= 5s <= 1h0m0s: ${ANN}/window`));
  await refused({ 'autoscaling.knative.dev/target': '0' }, new RegExp(`target 0 should be at least 0.01: ${ANN}/target`));
  await refused(
    { 'autoscaling.knative.dev/activation-scale': '1' },
    new RegExp(`activation-scale=1 must be greater than 1: ${ANN}/activation-scale`),
  );
  await refused(
    { 'autoscaling.knative.dev/class': 'plugin.autoscaling.sluice.dev', 'sluice.dev/scaling-plugin': 'nope' },
    /invalid value: nope: spec\.template\.metadata\.annotations\.sluice\.dev\/scaling-plugin\nno scaling plugins are loaded/,
  );
  assert.equal(await s.store.get('serving.knative.dev/services', 'default', 'bad'), undefined);

  // max-scale-limit from config-autoscaler applies to later admissions.
  const patch = await kubectl(kc, [
    'patch',
    'configmap',
    'config-autoscaler',
    '-n',
    'knative-serving',
    '--type',
    'merge',
    '-p',
    '{"data":{"max-scale-limit":"10","max-scale":"10"}}',
  ]);
  assert.equal(patch.code, 0, patch.stderr);
  await waitFor('config in force', () => s.autoscaler.currentConfig().maxScaleLimit === 10);
  await refused({ 'autoscaling.knative.dev/max-scale': '20' }, new RegExp(`expected 1 <= 20 <= 10: ${ANN}/max-scale`));
  const ok = await kubectl(kc, ['apply', '-f', '-'], service('good', { 'autoscaling.knative.dev/max-scale': '5' }));
  assert.equal(ok.code, 0, ok.stderr);
});

test('a revision has a PodAutoscaler readable with kubectl and sluice, deleted with it', async (t) => {
  const s = await startTestSluice(t);
  const kc = s.kubeconfigPath;
  const r = await kubectl(
    kc,
    ['apply', '-f', '-'],
    service('seen', { 'autoscaling.knative.dev/min-scale': '1', 'autoscaling.knative.dev/target': '10' }),
  );
  assert.equal(r.code, 0, r.stderr);
  const pa = await waitFor(
    'PodAutoscaler ready',
    async () => {
      const p = await s.store.get(PA, 'default', 'seen-00001');
      return p?.status?.actualScale === 1 && p.status.conditions?.find((c: any) => c.type === 'Ready')?.status === 'True' ? p : undefined;
    },
    20_000,
  );
  assert.equal(pa.spec.protocolType, 'http1');
  assert.equal(pa.metadata.annotations?.['autoscaling.knative.dev/target'], '10');
  assert.equal(pa.metadata.labels?.['serving.knative.dev/service'], 'seen');

  const k = await kubectl(kc, ['get', 'kpa']);
  assert.equal(k.code, 0, k.stderr);
  assert.match(k.stdout, /seen-00001\s+1\s+1\s+stable\s+True/);
  const cli = await sluiceCli(kc, ['get', 'kpa']);
  assert.equal(cli.code, 0, cli.stderr);
  assert.match(cli.stdout, /DESIREDSCALE\s+ACTUALSCALE\s+MODE\s+READY\s+REASON/);
  assert.match(cli.stdout, /seen-00001\s+1\s+1\s+stable\s+True/);

  const del = await kubectl(kc, ['delete', 'ksvc', 'seen']);
  assert.equal(del.code, 0, del.stderr);
  await waitFor('PodAutoscaler gone', async () => (await s.store.get(PA, 'default', 'seen-00001')) === undefined);
  await waitFor('instances gone', () => s.runtime.status('default/seen-00001') === undefined);
});
