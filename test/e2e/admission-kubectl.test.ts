// Knative's admission as the stock kubectl shows it: its warnings ("Warning: ..." lines from the
// API's Warning headers) and its refusal of a hand-made change to the creator and lastModifier
// annotations, with Knative's messages.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { parse } from 'yaml';
import { projectRoot } from '../../src/server.js';
import { exampleService, kubectl, startTestSluice } from '../support/sluice.js';

const DENIED =
  'Error from server (BadRequest): admission webhook "validation.webhook.serving.knative.dev" denied the request: validation failed: ';
const c0 = 'spec.template.spec.containers[0].securityContext.';

test("kubectl prints Knative's warnings and its refusal of a creator or lastModifier edit", async (t) => {
  const s = await startTestSluice(t);
  const kc = s.kubeconfigPath;
  const manifest = exampleService('warned');
  const created = await kubectl(kc, ['apply', '-f', '-'], manifest);
  assert.equal(created.code, 0, created.stderr);
  assert.equal(
    created.stderr.trim(),
    `Warning: Kubernetes default value is insecure, Knative may default this to secure in a future release: ${c0}allowPrivilegeEscalation, ${c0}capabilities, ${c0}runAsNonRoot, ${c0}seccompProfile`,
  );
  assert.match(created.stdout, /service.serving.knative.dev\/warned created/);
  const annotate = (kv: string) => kubectl(kc, ['annotate', 'ksvc', 'warned', kv, '--overwrite']);
  const creator = await annotate('serving.knative.dev/creator=mallory');
  assert.notEqual(creator.code, 0);
  assert.equal(
    creator.stderr.split('\n').find((l) => l.startsWith('Error')),
    `${DENIED}annotation value is immutable: metadata.annotations.serving.knative.dev/creator`,
  );
  const modifier = await annotate('serving.knative.dev/lastModifier=mallory');
  assert.notEqual(modifier.code, 0);
  assert.equal(
    modifier.stderr.split('\n').find((l) => l.startsWith('Error')),
    `${DENIED}invalid value: mallory: metadata.annotations.serving.knative.dev/lastModifier`,
  );

  // Replacing it with the bare manifest drops both, as on Knative.
  const replaced = await kubectl(kc, ['replace', '-f', '-'], manifest);
  assert.notEqual(replaced.code, 0);
  assert.match(
    replaced.stderr,
    /annotation value is immutable: metadata\.annotations\.serving\.knative\.dev\/creator\ninvalid value: : metadata\.annotations\.serving\.knative\.dev\/lastModifier/,
  );

  // Other annotations are the user's; the recorded creator stays.
  const other = await annotate('team=payments');
  assert.equal(other.code, 0, other.stderr);
  const svc = parse((await kubectl(kc, ['get', 'ksvc', 'warned', '-o', 'yaml'])).stdout);
  assert.equal(svc.metadata.annotations['serving.knative.dev/creator'], 'sluice-admin');
  assert.equal(svc.metadata.annotations.team, 'payments');

  // The sluice CLI prints them as client-go does.
  const viaCli = await new Promise<{ code: number; stderr: string }>((done) =>
    execFile(
      process.execPath,
      [join(projectRoot, 'bin', 'sluice.js'), 'service', 'update', 'warned', '--env', 'RESOURCE=v2'],
      { env: { ...process.env, SLUICE_KUBECONFIG: kc, KUBECONFIG: '' }, timeout: 60_000 },
      (err, _out, stderr) => done({ code: err ? 1 : 0, stderr }),
    ),
  );
  assert.equal(viaCli.code, 0, viaCli.stderr);
  assert.match(
    viaCli.stderr,
    /^Warning: Kubernetes default value is insecure, Knative may default this to secure in a future release: spec\.template\.spec\.containers\[0\]/m,
  );
});
