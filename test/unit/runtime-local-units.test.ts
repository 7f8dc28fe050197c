// Pure pieces of the local runtime, plus leftover-process cleanup.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { backoffDelay, crashFailure, describeExit, nextStreak, DEFAULT_BACKOFF } from '../../src/runtime/local/backoff.js';
import { buildEnv, expandVars } from '../../src/runtime/local/env.js';
import { InstanceLog } from '../../src/runtime/local/logs.js';
import { PidFiles } from '../../src/runtime/local/pids.js';
import { allocatePort, releasePort } from '../../src/runtime/local/ports.js';
import { normalizeProbe, startupProbeInterval, stepThreshold } from '../../src/runtime/local/probe.js';
import { pickVictims } from '../../src/runtime/local/workload.js';
import { LocalRuntime } from '../../src/runtime/local/index.js';

test('back-off doubles up to the cap and resets after a long enough ready spell', () => {
  const o = { initialMs: 1000, maxMs: 8000, resetAfterMs: 60_000 };
  assert.deepEqual(
    [1, 2, 3, 4, 5, 50].map((n) => backoffDelay(n, o)),
    [1000, 2000, 4000, 8000, 8000, 8000],
  );
  assert.equal(backoffDelay(10_000, DEFAULT_BACKOFF), 60_000);
  assert.equal(nextStreak(3, undefined, 100_000, o), 4, 'never ready: the streak grows');
  assert.equal(nextStreak(3, 90_000, 100_000, o), 4, 'ready only 10 s: the streak grows');
  assert.equal(nextStreak(3, 30_000, 100_000, o), 1, 'ready 70 s: starts over');
});

test('crash reports say what happened and show the last log lines', () => {
  assert.deepEqual(describeExit(1, null), { exitCode: 1, cause: 'container exited with code 1' });
  assert.equal(describeExit(null, 'SIGKILL').exitCode, 137);
  const first = crashFailure({
    cause: 'container exited with code 7',
    firstReason: 'ExitCode7',
    streak: 1,
    delayMs: 1000,
    lastLines: ['boom'],
  });
  assert.equal(first.reason, 'ExitCode7');
  assert.match(first.message, /exited with code 7; restarting in 1s\nlast log lines:\nboom/);
  const loop = crashFailure({ cause: 'container exited with code 7', firstReason: 'ExitCode7', streak: 3, delayMs: 4000, lastLines: [] });
  assert.equal(loop.reason, 'CrashLoopBackOff');
  assert.match(loop.message, /back-off 4s .*code 7/);
  assert.match(loop.message, /no log output/);
});

test('probe thresholds count consecutive results', () => {
  let s = { successes: 0, failures: 0, passing: false };
  s = stepThreshold(s, true, 2, 3);
  assert.equal(s.passing, false, 'successThreshold 2 needs two');
  s = stepThreshold(s, true, 2, 3);
  assert.equal(s.passing, true);
  s = stepThreshold(stepThreshold(s, false, 2, 3), false, 2, 3);
  assert.equal(s.passing, true, 'two failures of three allowed');
  s = stepThreshold(s, true, 2, 3);
  s = stepThreshold(stepThreshold(stepThreshold(s, false, 2, 3), false, 2, 3), false, 2, 3);
  assert.equal(s.passing, false, 'three in a row fail it');
});

test('startup probing is fast at first, then backs off to at most 1 s', () => {
  assert.equal(startupProbeInterval(0, 10_000), 2);
  assert.equal(startupProbeInterval(1_999, 10_000), 2);
  assert.equal(startupProbeInterval(2_000, 10_000), 10);
  assert.equal(startupProbeInterval(9_999, 10_000), 10);
  assert.equal(startupProbeInterval(12_000, 10_000), 1000);
  assert.equal(startupProbeInterval(60_000, 500), 500, 'never slower than the period');
});

test('probes default like Knative and Kubernetes, and map ports to the instance port', () => {
  const dflt = normalizeProbe(undefined, undefined, 'readinessProbe');
  assert.ok(!('error' in dflt));
  assert.deepEqual(dflt.action, { kind: 'tcp', port: 'instance' });
  assert.equal(dflt.periodMs, 10_000);
  assert.equal(dflt.failureThreshold, 3);

  const http = normalizeProbe(
    { httpGet: { path: 'healthz', port: 8080 }, periodSeconds: 3, timeoutSeconds: 2 },
    [{ containerPort: 8080 }],
    'r',
  );
  assert.ok(!('error' in http) && http.action.kind === 'http');
  assert.equal(http.action.path, '/healthz');
  assert.equal(http.action.port, 'instance');
  assert.equal(http.periodMs, 3000);
  assert.equal(http.timeoutMs, 2000);

  const named = normalizeProbe({ tcpSocket: { port: 'http1' } }, [{ containerPort: 9000, name: 'http1' }], 'r');
  assert.ok(!('error' in named) && named.action.kind === 'tcp' && named.action.port === 'instance');
  const other = normalizeProbe({ httpGet: { port: 9901 } }, [{ containerPort: 8080 }], 'r');
  assert.ok(!('error' in other) && other.action.kind === 'http' && other.action.port === 9901);
  const bad = normalizeProbe({ httpGet: { port: 'admin' } }, [{ containerPort: 8080 }], 'livenessProbe');
  assert.ok('error' in bad);
  assert.match(bad.error, /livenessProbe: probe port "admin" does not name a container port/);
  const exec = normalizeProbe({ exec: { command: [] } }, undefined, 'r');
  assert.ok('error' in exec);
});

test('scale-down stops not-ready instances first, then the newest', () => {
  const list = [
    { id: 'a', ready: true, createdAt: 1 },
    { id: 'b', ready: true, createdAt: 3 },
    { id: 'c', ready: false, createdAt: 2 },
    { id: 'd', ready: true, createdAt: 4 },
  ];
  assert.deepEqual(
    pickVictims(list, 2).map((i) => i.id),
    ['c', 'd'],
  );
  assert.deepEqual(
    pickVictims(list, 3).map((i) => i.id),
    ['c', 'd', 'b'],
  );
  assert.deepEqual(pickVictims(list, 0), []);
});

test('instance env is clean, layered, and expands $(VAR) references', () => {
  assert.equal(expandVars('--port=$(PORT) $(NOPE) $$(PORT) $$', { PORT: '9' }), '--port=9 $(NOPE) $(PORT) $');
  const env = buildEnv({
    base: { PATH: '/bin', HOME: '/h', SECRET_TOKEN: 'x' },
    mappingEnv: { MODE: 'fast', RESOURCE: 'mapping' },
    containerEnv: [
      { name: 'RESOURCE', value: 'v1', expand: true },
      { name: 'URL', value: 'http://$(HOST):$(PORT)/', expand: true },
      { name: 'FROM_CONFIG', value: '$(PORT) stays', expand: false },
      { name: 'PORT', value: '1', expand: true },
    ],
    platform: { PORT: '5000', HOST: '127.0.0.1', K_REVISION: 'r1' },
  });
  assert.equal(env.SECRET_TOKEN, undefined, "Sluice's own environment is not passed on");
  assert.equal(env.PATH, '/bin');
  assert.equal(env.MODE, 'fast');
  assert.equal(env.RESOURCE, 'v1');
  assert.equal(env.URL, 'http://127.0.0.1:5000/');
  assert.equal(env.FROM_CONFIG, '$(PORT) stays', 'values from ConfigMaps and Secrets are not expanded');
  assert.equal(env.PORT, '5000', 'the platform owns PORT');
});

test('ports are never handed out twice while reserved', async () => {
  const ports = await Promise.all(Array.from({ length: 20 }, () => allocatePort('127.0.0.1')));
  assert.equal(new Set(ports).size, ports.length);
  for (const p of ports) releasePort(p);
});

test('log files keep raw lines, survive partial writes, rotate at the cap and tail across the rotation', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-log-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const log = new InstanceLog('i1', path.join(dir, 'ns', 'rev', 'i1.log'), 100);
  const seen: string[] = [];
  const stop = log.follow((l) => seen.push(l));
  log.write('stdout', Buffer.from('hel'));
  log.write('stderr', Buffer.from('err line\n'));
  log.write('stdout', Buffer.from('lo\nsecond'));
  assert.deepEqual(seen, ['err line', 'hello'], 'stdout and stderr lines are not mixed mid-line');
  log.flush();
  assert.deepEqual(log.read(), ['err line', 'hello', 'second']);
  assert.deepEqual(seen, ['err line', 'hello', 'second'], 'flush writes out the unterminated line');
  stop();
  for (let i = 0; i < 30; i++) log.write('stdout', Buffer.from(`line ${i}\n`));
  assert.equal(seen.length, 3, 'unsubscribed followers get nothing');
  assert.ok(fs.statSync(log.file).size <= 100);
  assert.ok(fs.existsSync(`${log.file}.1`));
  assert.deepEqual(log.read(3), ['line 27', 'line 28', 'line 29']);
  const all = log.read();
  assert.equal(all[all.length - 1], 'line 29');
  assert.deepEqual(log.lastLines(2), ['line 28', 'line 29']);
  log.remove();
  assert.equal(fs.existsSync(log.file), false);
});

test('a new runtime kills processes a killed Sluice left behind, and nothing else', async (t) => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-leftover-'));
  t.after(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  const argv = [process.execPath, '-e', 'setInterval(() => {}, 1000)'];
  const orphan = spawn(argv[0], argv.slice(1), { detached: true, stdio: 'ignore' });
  const exited = new Promise<NodeJS.Signals | null>((r) => orphan.once('exit', (_c, sig) => r(sig)));
  t.after(() => orphan.kill('SIGKILL'));
  const pids = new PidFiles(path.join(dataDir, 'pids'));
  pids.record({ pid: orphan.pid!, argv, instanceId: 'rev-aaaaa', key: 'default/rev', startedAt: Date.now() });
  // Our own pid with a different command line: a recycled pid must not be killed.
  pids.record({ pid: process.pid, argv: ['/usr/bin/some-app'], instanceId: 'rev-bbbbb', key: 'default/rev', startedAt: Date.now() });

  const rt = new LocalRuntime({ dataDir, imageMappings: [] });
  t.after(() => rt.shutdown());
  assert.deepEqual(
    rt.leftoversKilled.map((r) => r.instanceId),
    ['rev-aaaaa'],
  );
  assert.equal(await exited, 'SIGKILL');
  assert.deepEqual(fs.readdirSync(path.join(dataDir, 'pids')), [], 'records are cleared');
});
