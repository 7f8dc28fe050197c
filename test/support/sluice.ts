// Starts a real embedded Sluice (SQLite in a temp dir, API and gateway on run-time ports) for a
// test, and runs the stock kubectl against it. Everything is stopped and removed after the test.

import { execFile } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunningSluice, type SluiceOptions, startSluice } from '../../src/server.js';

export async function startTestSluice(
  t: { after: (fn: () => unknown) => void },
  opts: Partial<SluiceOptions> = {},
): Promise<RunningSluice> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'sluice-test-'));
  const sluice = await startSluice({ apiPort: 0, gatewayPort: 0, quiet: true, gracePeriodMs: 2000, ...opts, dataDir });
  t.after(async () => {
    await sluice.stop();
    if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
  });
  return sluice;
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function kubectl(kubeconfig: string, args: string[], stdin?: string): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = execFile('kubectl', args, { env: { ...process.env, KUBECONFIG: kubeconfig }, timeout: 30000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
    if (stdin !== undefined) child.stdin!.end(stdin);
  });
}

/** One GET through the gateway with the given Host; resolves status and body. */
export function gatewayGet(port: number, host: string, path = '/', agent?: http.Agent): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, headers: { host }, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

export const EXAMPLE_IMAGE = 'registry.cn-hangzhou.aliyuncs.com/knative-sample/rest-api-go:v1';
export const PODAUTOSCALERS = 'autoscaling.internal.knative.dev/podautoscalers';

export interface ExampleServiceOptions {
  /** Template name `${name}-${revision}` (default "v1"); null leaves the name to Sluice. */
  revision?: string | null;
  annotations?: Record<string, string>;
  containerConcurrency?: number;
  /** Container env (default RESOURCE = the revision suffix, else the service name). */
  env?: Record<string, string>;
  command?: string[];
  traffic?: unknown[];
}

/** A Service (JSON, for `kubectl apply -f -`) running the example app, as the tests need it. */
export function exampleService(name: string, o: ExampleServiceOptions = {}): string {
  const revision = o.revision === undefined ? 'v1' : o.revision;
  const env = o.env ?? { RESOURCE: revision ?? name };
  const container: Record<string, unknown> = { image: EXAMPLE_IMAGE };
  if (o.command) container.command = o.command;
  if (Object.keys(env).length) container.env = Object.entries(env).map(([k, v]) => ({ name: k, value: v }));
  const metadata: Record<string, unknown> = {};
  if (revision !== null) metadata.name = `${name}-${revision}`;
  if (o.annotations) metadata.annotations = o.annotations;
  const spec: Record<string, unknown> = { containers: [container] };
  if (o.containerConcurrency !== undefined) spec.containerConcurrency = o.containerConcurrency;
  return JSON.stringify({
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: { name, namespace: 'default' },
    spec: { template: { metadata, spec }, ...(o.traffic ? { traffic: o.traffic } : {}) },
  });
}

/** `kubectl apply -f -` of a document; fails the test with kubectl's stderr when refused. */
export async function applyDoc(s: RunningSluice, doc: string): Promise<void> {
  const r = await kubectl(s.kubeconfigPath, ['apply', '-f', '-'], doc);
  if (r.code !== 0) throw new Error(`kubectl apply failed: ${r.stderr}`);
}

/** The status of a revision's PodAutoscaler, read from the store. */
export async function paStatus(s: RunningSluice, name: string): Promise<any> {
  return (await s.store.get(PODAUTOSCALERS, 'default', name))?.status;
}
