// Starts a real embedded Sluice (SQLite in a temp dir, API and gateway on run-time ports) for a
// test, and runs the stock kubectl against it. Everything is stopped and removed after the test.

import { execFile } from 'node:child_process';
import type http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunningSluice, type SluiceOptions, startSluice } from '../../src/server.js';
import type { WatchEvent } from '../../src/store/store.js';
import { httpGet } from './http.js';

export async function startTestSluice(
  t: { after: (fn: () => unknown) => void },
  opts: Partial<SluiceOptions> = {},
): Promise<RunningSluice> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'sluice-test-'));
  const sluice = await startSluice({ apiPort: 0, gatewayPort: 0, adminPort: 0, quiet: true, gracePeriodMs: 2000, ...opts, dataDir });
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
  return httpGet(port, path, { host, agent: agent ?? undefined });
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

export interface PaPoint {
  at: number;
  desired: number;
  actual: number;
  metrics?: Record<string, number | string>;
  reason?: string;
}

/**
 * Every change of one PodAutoscaler's status, for checks (points) and diagnostics (lines, stamped
 * with seconds since the start or with `label()`).
 */
export function recordPa(s: RunningSluice, name: string, label?: () => string) {
  const t0 = Date.now();
  const points: PaPoint[] = [];
  const lines: string[] = [];
  let last = '';
  // Only changes from now on: the objects the watch starts with are skipped.
  let synced = false;
  const onEvent = (e: WatchEvent) => {
    if (!synced) return;
    if (e.object.metadata.name !== name || e.type === 'DELETED' || !e.object.status) return;
    const st = e.object.status;
    const m = st.metrics
      ? ' ' +
        Object.entries(st.metrics)
          .map(([k, v]) => `${k}=${v}`)
          .join(' ')
      : '';
    const line = `desired=${st.desiredScale} actual=${st.actualScale}${m}${st.reason ? ` reason="${st.reason}"` : ''}${st.error ? ` error="${st.error}"` : ''}`;
    if (line === last) return;
    last = line;
    const at = (Date.now() - t0) / 1000;
    points.push({ at, desired: st.desiredScale, actual: st.actualScale, metrics: st.metrics, reason: st.reason });
    lines.push(label ? `[${label()}] ${line}` : `t=${at.toFixed(1)}s ${line}`);
  };
  const watching = s.store.watch(PODAUTOSCALERS, {}, { onEvent, onSynced: () => (synced = true) });
  const stop = () => void watching.then((unwatch) => unwatch());
  return {
    points,
    lines: () => lines,
    stop,
    /** Stops recording and returns the lines. */
    finish: () => {
      stop();
      return lines;
    },
  };
}

/** Largest instance count the runtime was asked for, sampled until stop() is called. */
export function peakWatcher(s: RunningSluice, key: string): { stop: () => Promise<number> } {
  let peak = 0;
  let done = false;
  const loop = (async () => {
    while (!done) {
      const st = s.runtime.status(key);
      peak = Math.max(peak, st?.replicas ?? 0, st?.instances.filter((i) => i.phase !== 'terminating').length ?? 0);
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  return {
    stop: async () => {
      done = true;
      await loop;
      return peak;
    },
  };
}
