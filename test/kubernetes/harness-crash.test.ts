// A test process that dies without cleaning up (SIGKILL) must not leave its control plane behind:
// the harness's watchdog kills what ran in the run's namespaces and deletes them.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { alive } from '../support/process.js';
import { waitFor } from '../support/poll.js';
import { kubernetesAvailability } from './harness/assets.js';
import { PROJECT_ROOT } from './harness/index.js';
import { listNetns, netnsPids } from './harness/netns.js';

const availability = kubernetesAvailability();
const skip = availability.mode === 'skip' ? availability.reason : availability.mode === 'existing' ? 'tests the harness itself' : false;

test('a SIGKILLed test process leaves no control-plane process and no network namespace', { skip }, async () => {
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'dist', 'test', 'kubernetes', 'harness', 'cli.js'), 'start', '--no-node'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  try {
    const netns = await waitFor(
      'the harness to start in the child',
      () => {
        if (child.exitCode !== null) throw new Error(`child exited: ${err}`);
        return /^netns (\S+)$/m.exec(out)?.[1];
      },
      120_000,
      100,
    );
    const pids = netnsPids(netns);
    assert.ok(pids.length >= 4, `etcd, apiserver, controller-manager, scheduler, relay run: ${pids.length}`);
    child.kill('SIGKILL');
    await waitFor('the run namespace to be deleted', () => !listNetns().includes(netns), 30_000, 100);
    await waitFor('every process of the run to be gone', () => pids.every((p) => !alive(p)), 10_000, 100);
    const dir = /^kubeconfig (\S+)\/kubeconfig$/m.exec(out)?.[1];
    assert.ok(dir);
    await waitFor('the run directory to be removed', () => !existsSync(dir), 10_000, 100);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});
