// An acknowledged write survives kill -9 of the server, and the next start cleans up the
// instances the killed server left running and brings the revisions back.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../src/server.js';
import { waitFor } from '../support/poll.js';
import { alive } from '../support/process.js';
import { gatewayGet, kubectl } from '../support/sluice.js';

// The child is recorded in `children` before it is ready, so a slow or failed start is still stopped.
function startServer(dataDir: string, children: ChildProcess[]): Promise<{ child: ChildProcess; gatewayPort: number }> {
  const child = spawn(
    process.execPath,
    [join(projectRoot, 'bin', 'sluice.js'), 'server', '--data-dir', dataDir, '--api-port', '0', '--gateway-port', '0', '--admin-port', '0'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.push(child);
  let out = '';
  child.stdout!.on('data', (c) => (out += c));
  child.stderr!.on('data', (c) => (out += c));
  return waitFor('server to print its gateway', () => {
    const m = /Gateway:\s+http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
    if (child.exitCode !== null) throw new Error(`server exited: ${out}`);
    return m ? { child, gatewayPort: Number(m[1]) } : undefined;
  });
}

test('kill -9 loses no acknowledged write and leaves no orphan instance behind', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'sluice-kill-'));
  const children: ChildProcess[] = [];
  t.after(async () => {
    // A running server stops its instances on SIGTERM; SIGKILL only if it does not exit.
    for (const c of children) {
      if (c.exitCode !== null || c.signalCode !== null) continue;
      c.kill('SIGTERM');
      await waitFor('server exit', () => c.exitCode !== null || c.signalCode !== null, 10000).catch(() => c.kill('SIGKILL'));
    }
    rmSync(dataDir, { recursive: true, force: true });
  });
  const first = await startServer(dataDir, children);
  const kc = join(dataDir, 'kubeconfig.yaml');
  const applied = await kubectl(kc, ['apply', '-f', join(projectRoot, 'examples', 'stock-service', 'revision-v1.yaml')]);
  assert.equal(applied.code, 0, applied.stderr);
  const rv = (await kubectl(kc, ['get', 'ksvc', 'stock-service-example', '-o', 'jsonpath={.metadata.resourceVersion}'])).stdout;
  await waitFor(
    'v1 answers',
    async () => (await gatewayGet(first.gatewayPort, 'stock-service-example.default.example.com')).status === 200,
  );
  const appPids = readdirSync(join(dataDir, 'pids')).map(
    (f) => (JSON.parse(readFileSync(join(dataDir, 'pids', f), 'utf8')) as { pid: number }).pid,
  );
  assert.ok(appPids.length >= 1);

  first.child.kill('SIGKILL');
  await waitFor('server gone', () => first.child.exitCode !== null || first.child.signalCode !== null);

  const second = await startServer(dataDir, children);
  const after = await kubectl(kc, ['get', 'ksvc', 'stock-service-example', '-o', 'jsonpath={.metadata.resourceVersion}']);
  assert.equal(after.code, 0, after.stderr);
  assert.ok(Number(after.stdout) >= Number(rv));
  await waitFor(
    'v1 answers after the restart',
    async () => (await gatewayGet(second.gatewayPort, 'stock-service-example.default.example.com')).body === 'Welcome to the v1 app! \n',
  );
  // The instances of the killed server are gone (the new server started its own).
  await waitFor('instances of the killed server gone', () => appPids.every((pid) => !alive(pid)), 5000);

  second.child.kill('SIGTERM');
  await waitFor('clean stop', () => second.child.exitCode !== null);
});
