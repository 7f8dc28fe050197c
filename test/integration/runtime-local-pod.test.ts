// LocalRuntime running whole pod specs with real processes: a sidecar's crash restarts the
// instance (reported with the container's name and last lines), a sidecar's readiness gates the
// instance's, logs per container, and a missing ConfigMap that is created later starts the
// instance at once (not after the back-off).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import type { Container } from '../../src/api/types.js';
import type { ConfigKind, ConfigSource } from '../../src/runtime/config-refs.js';
import { LocalRuntime, type LocalRuntimeOptions } from '../../src/runtime/local/index.js';
import type { WorkloadSpec } from '../../src/runtime/runtime.js';
import { waitFor } from '../support/poll.js';
import { freePort } from '../support/ports.js';
import { alive } from '../support/process.js';

function makeRuntime(t: TestContext, opts: Partial<LocalRuntimeOptions> = {}): LocalRuntime {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-pod-'));
  const rt = new LocalRuntime({ dataDir, imageMappings: [], gracePeriodMs: 2000, backoff: { initialMs: 50, maxMs: 400 }, ...opts });
  t.after(async () => {
    await rt.shutdown();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  return rt;
}

const node = (code: string): string[] => [process.execPath, '-e', code];
/** Listens on PORT (or SIDE_PORT) after DELAY ms and answers "ok". */
const SERVER = `setTimeout(() => require('http').createServer((q, s) => s.end('ok')).listen(Number(process.env.SIDE_PORT || process.env.PORT), '127.0.0.1', () => console.log('listening as ' + (process.env.SIDE_PORT ? 'side' : 'app'))), Number(process.env.DELAY || 0))`;

function pod(revision: string, containers: Container[], replicas = 1): WorkloadSpec {
  return {
    key: `default/${revision}`,
    namespace: 'default',
    revision,
    configuration: revision,
    podSpec: { containers },
    container: containers[0],
    replicas,
  };
}

const canConnect = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });

test("a sidecar's crash restarts the whole instance and is reported with its name and last lines", async (t) => {
  const rt = makeRuntime(t);
  await rt.apply(
    pod('crashy', [
      { name: 'app', command: node(SERVER), ports: [{ containerPort: 8080 }] },
      { name: 'side', command: node("console.error('side is dying'); setTimeout(() => process.exit(4), 300)") },
    ]),
  );
  const f = await waitFor('a failure', () => rt.status('default/crashy')?.failure);
  assert.equal(f.terminationReason ?? f.reason, 'ExitCode4');
  assert.match(f.message, /container "side" exited with code 4/);
  assert.match(f.message, /side is dying/);
  const first = await waitFor('a restart', () => {
    const i = rt.status('default/crashy')?.instances[0];
    return i && i.restarts >= 1 && i.pid !== undefined ? i : undefined;
  });
  // The serving container went down with the sidecar and came back as a new process.
  const again = await waitFor('another restart', () => {
    const i = rt.status('default/crashy')?.instances[0];
    return i && i.restarts > first.restarts && i.pid !== undefined && i.pid !== first.pid ? i : undefined;
  });
  assert.equal(alive(first.pid!), false);
  assert.equal(again.id, first.id, 'the instance keeps its id across restarts');
});

test("a sidecar's readiness gates the instance; each container's logs are its own", async (t) => {
  const rt = makeRuntime(t);
  const sidePort = await freePort();
  await rt.apply(
    pod('gated', [
      { name: 'app', command: node(SERVER), ports: [{ containerPort: 8080 }] },
      {
        name: 'side',
        command: node(SERVER),
        env: [
          { name: 'SIDE_PORT', value: String(sidePort) },
          { name: 'DELAY', value: '600' },
        ],
        readinessProbe: { tcpSocket: { port: sidePort }, periodSeconds: 1 },
      },
    ]),
  );
  await waitFor('ready', () => rt.status('default/gated')?.readyReplicas === 1);
  assert.equal(await canConnect(sidePort), true, 'the instance is ready only once the sidecar listens');
  const read = async (container?: string) => {
    const lines: string[] = [];
    (await rt.logs('default/gated', { container }, (l) => lines.push(l)))();
    return lines;
  };
  // The line follows the listen by a pipe write: wait for it rather than race it.
  await waitFor('both logs', async () => (await read('side')).length > 0 && (await read()).length > 0);
  assert.deepEqual(await read('side'), ['listening as side']);
  assert.deepEqual(await read(), ['listening as app']);
  await assert.rejects(read('nope'), /container nope is not valid for revision gated: choose one of \[app side\]/);
});

test('a missing ConfigMap is CreateContainerConfigError until it appears, then the instance starts at once', async (t) => {
  const objects = new Map<string, Map<string, Buffer>>();
  const listeners = new Set<(k: ConfigKind, ns: string, n: string) => void>();
  const config: ConfigSource = {
    get: (kind, ns, name) => objects.get(`${kind}/${ns}/${name}`),
    onChange: (l) => (listeners.add(l), () => listeners.delete(l)),
  };
  // A back-off far longer than the test: only the change can start it in time.
  const rt = makeRuntime(t, { config, backoff: { initialMs: 600_000, maxMs: 600_000 } });
  await rt.apply(
    pod('needs', [
      {
        name: 'app',
        command: node(`if (process.env.MODE !== 'fast') process.exit(9); ${SERVER}`),
        env: [{ name: 'MODE', valueFrom: { configMapKeyRef: { name: 'settings', key: 'mode' } } }],
      },
    ]),
  );
  const f = rt.status('default/needs')!.failure;
  assert.deepEqual(f, { reason: 'CreateContainerConfigError', message: 'configmap "settings" not found' });
  objects.set('ConfigMap/default/settings', new Map([['mode', Buffer.from('fast')]]));
  for (const l of listeners) l('ConfigMap', 'default', 'settings');
  const st = await waitFor('ready', () => (rt.status('default/needs')?.readyReplicas === 1 ? rt.status('default/needs') : undefined));
  assert.equal(st.failure, undefined);
});
