// gRPC and HTTP/2 end to end through a real Sluice: the grpc-ping example applied from its own YAML
// (port named h2c) and called through the gateway with a real gRPC client (@grpc/grpc-js): unary,
// server streaming, bidirectional streaming, an error status in trailers, a deadline; and h2c
// requests (real curl) to an HTTP/1 revision.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { parse } from 'yaml';
import { waitFor } from '../support/poll.js';
import { exampleService, gatewayGet, kubectl, startTestSluice } from '../support/sluice.js';
import { loadPing, type PingResponse } from '../../examples/grpc-ping/proto.js';

const HOST = 'grpc-ping.default.example.com';
const yaml = readFileSync(new URL('../../../examples/grpc-ping/service.yaml', import.meta.url), 'utf8');

type PingClient = grpc.Client & Record<string, (...args: any[]) => any>;

function unary(client: PingClient, req: object, deadlineMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) =>
    client.Ping(req, { deadline: Date.now() + deadlineMs }, (err: grpc.ServiceError | null, res: PingResponse) =>
      err ? reject(err) : resolve(res.msg),
    ),
  );
}

test('the grpc-ping example through the gateway: unary, server and bidi streaming, status trailers, deadlines', async (t) => {
  const s = await startTestSluice(t);
  const applied = await kubectl(s.kubeconfigPath, ['apply', '-f', '-'], yaml);
  assert.equal(applied.code, 0, applied.stderr);
  await waitFor('grpc-ping ready', async () => {
    const svc = parse((await kubectl(s.kubeconfigPath, ['get', 'ksvc', 'grpc-ping', '-o', 'yaml'])).stdout);
    return svc?.status?.conditions?.find((c: { type: string }) => c.type === 'Ready')?.status === 'True';
  });

  const Client = loadPing().PingService;
  const client = new Client(`127.0.0.1:${s.gatewayPort}`, grpc.credentials.createInsecure(), {
    'grpc.default_authority': HOST,
  }) as unknown as PingClient;
  t.after(() => client.close());

  assert.equal(await unary(client, { msg: 'hello' }), 'hello pong');

  const counted = await new Promise<string[]>((resolve, reject) => {
    const got: string[] = [];
    const call = client.PingCount({ msg: 'n', count: 4, intervalMs: 50 });
    call.on('data', (r: PingResponse) => got.push(r.msg));
    call.on('end', () => resolve(got));
    call.on('error', reject);
  });
  assert.deepEqual(counted, ['n 1 pong', 'n 2 pong', 'n 3 pong', 'n 4 pong']);

  // Bidi: each answer arrives before the next request is sent, so the stream really is two-way.
  const bidi = await new Promise<string[]>((resolve, reject) => {
    const got: string[] = [];
    const call = client.PingStream();
    call.on('data', (r: PingResponse) => {
      got.push(r.msg);
      if (got.length < 3) call.write({ msg: `m${got.length + 1}` });
      else call.end();
    });
    call.on('end', () => resolve(got));
    call.on('error', reject);
    call.write({ msg: 'm1' });
  });
  assert.deepEqual(bidi, ['m1 pong', 'm2 pong', 'm3 pong']);

  // An error status travels in trailers (grpc-status / grpc-message) through the gateway.
  const err = await unary(client, { msg: 'status:3:ping is not allowed here' }).then(
    () => assert.fail('expected an error'),
    (e: grpc.ServiceError) => e,
  );
  assert.equal(err.code, grpc.status.INVALID_ARGUMENT);
  assert.equal(err.details, 'ping is not allowed here');

  // The deadline (grpc-timeout) reaches the app, and a call past it fails with DEADLINE_EXCEEDED.
  const left = Number(await unary(client, { msg: 'deadline?' }, 5000));
  assert.ok(left > 0 && left <= 5000, `app saw ${left} ms left`);
  const late = await unary(client, { msg: 'slow', delayMs: 3000 }, 300).then(
    () => assert.fail('expected DEADLINE_EXCEEDED'),
    (e: grpc.ServiceError) => e,
  );
  assert.equal(late.code, grpc.status.DEADLINE_EXCEEDED);
  // The gateway passed the client's cancel on: the app stopped the work.
  await waitFor('app saw the cancel', async () => {
    const lines: string[] = [];
    const revision = parse((await kubectl(s.kubeconfigPath, ['get', 'ksvc', 'grpc-ping', '-o', 'yaml'])).stdout).status
      .latestReadyRevisionName;
    const stop = await s.runtime.logs(`default/${revision}`, { tailLines: 50 }, (l) => lines.push(l));
    stop();
    return lines.some((l) => l.includes('Cancelled: slow'));
  });
  // And the revision's slot is free again: another call goes straight through.
  assert.equal(await unary(client, { msg: 'again' }), 'again pong');
});

test('h2c through a real server: curl with prior knowledge and with Upgrade reaches an HTTP/1 revision', async (t) => {
  const s = await startTestSluice(t);
  const r = await kubectl(s.kubeconfigPath, ['apply', '-f', '-'], exampleService('web', { revision: 'v1', env: { RESOURCE: 'v1' } }));
  assert.equal(r.code, 0, r.stderr);
  const host = 'web.default.example.com';
  await waitFor('ready', async () => (await gatewayGet(s.gatewayPort, host)).status === 200);
  const curl = (args: string[]) =>
    new Promise<{ stdout: string; stderr: string }>((resolve, reject) =>
      execFile(
        'curl',
        ['-sS', '-v', '--max-time', '10', '-H', `Host: ${host}`, ...args, `http://127.0.0.1:${s.gatewayPort}/`],
        (e, stdout, stderr) => (e ? reject(new Error(`${e.message}\n${stderr}`)) : resolve({ stdout, stderr })),
      ),
    );
  const pk = await curl(['--http2-prior-knowledge']);
  assert.equal(pk.stdout, 'Welcome to the v1 app! \n');
  assert.match(pk.stderr, /< HTTP\/2 200/);
  const up = await curl(['--http2']);
  assert.equal(up.stdout, 'Welcome to the v1 app! \n');
  assert.match(up.stderr, /101 Switching Protocols/);
  assert.match(up.stderr, /< HTTP\/2 200/);
});
