// `sluice demo`: replays the gray-release article against a fresh embedded Sluice and prints,
// per step, the share of requests each revision answered.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KObject } from '../api/types.js';
import { projectRoot, startSluice } from '../server.js';
import { SluiceClient } from '../cli/client.js';
import { loadKubeconfig } from '../cli/kubeconfig.js';
import { findKind } from '../api/registry.js';
import { applyObject, countAnswers, readYaml } from './article-client.js';

export interface DemoStep {
  title: string;
  host: string;
  /** revision label (v1, v2, v3 — from "Welcome to the vN app!") → percent of answers */
  shares: Record<string, number>;
  requests: number;
}

export interface DemoOptions {
  requests?: number;
  keep?: boolean;
  print?: (line: string) => void;
}

const SERVICE = 'stock-service-example';

function sharesOf(counts: Map<string, number>, total: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [answer, n] of counts) {
    const m = /^Welcome to the (\S+) app!/.exec(answer);
    out[m ? m[1] : answer] = Math.round((n / total) * 1000) / 10;
  }
  return out;
}

async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs = 30000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`demo: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Waits until the service has caught up with its spec and routes the expected revisions. */
async function settled(getSvc: () => Promise<KObject | undefined>, expectTraffic: Record<string, number>): Promise<KObject> {
  let svc: KObject | undefined;
  await waitUntil(`service traffic ${JSON.stringify(expectTraffic)}`, async () => {
    svc = await getSvc();
    if (!svc || svc.status?.observedGeneration !== svc.metadata.generation) return false;
    const ready = svc.status?.conditions?.find((c: { type: string }) => c.type === 'Ready')?.status === 'True';
    const got: Record<string, number> = {};
    for (const t of svc.status?.traffic ?? []) if (t.percent > 0) got[t.revisionName] = (got[t.revisionName] ?? 0) + t.percent;
    return ready && JSON.stringify(Object.entries(got).sort(byKey)) === JSON.stringify(Object.entries(expectTraffic).sort(byKey));
  });
  return svc!;
}

export async function runDemo(opts: DemoOptions = {}): Promise<DemoStep[]> {
  const print = opts.print ?? ((l: string) => console.log(l));
  const n = opts.requests ?? 1000;
  const dataDir = mkdtempSync(join(tmpdir(), 'sluice-demo-'));
  const sluice = await startSluice({ dataDir, apiPort: 0, gatewayPort: 0, adminPort: 0, quiet: true, gracePeriodMs: 2000 });
  const conn = loadKubeconfig({ flag: sluice.kubeconfigPath, env: {}, home: dataDir });
  const client = new SluiceClient(conn.server, conn.token, { ca: conn.ca }, () => {});
  const ksvc = findKind('ksvc')!;
  const apply = (o: KObject) => applyObject(client, o);
  const getSvc = () => client.tryGet(ksvc, 'default', SERVICE);
  const examples = join(projectRoot, 'examples', 'stock-service');
  const steps: DemoStep[] = [];
  const mainHost = `${SERVICE}.default.example.com`;
  const measure = async (title: string, host: string) => {
    const counts = await countAnswers(sluice.gatewayPort, host, n);
    const step = { title, host, shares: sharesOf(counts, n), requests: n };
    steps.push(step);
    const shown = Object.entries(step.shares)
      .sort(byKey)
      .map(([k, v]) => `${k} ${v}%`)
      .join(', ');
    print(`${title}\n    ${n} requests to ${host}: ${shown}`);
  };
  const rev = (v: string) => `${SERVICE}-${v}`;
  try {
    print(`Sluice demo: the article's gray release against a fresh server (gateway ${sluice.gatewayUrl})\n`);
    for (const o of readYaml(join(examples, 'revision-v1.yaml'))) await apply(o);
    await settled(getSvc, { [rev('v1')]: 100 });
    await measure('1. revision-v1.yaml: v1 takes all traffic', mainHost);

    for (const o of readYaml(join(examples, 'revision-v2.yaml'))) await apply(o);
    await settled(getSvc, { [rev('v1')]: 50, [rev('v2')]: 50 });
    await measure('2. revision-v2.yaml: v1 and v2 split 50/50', mainHost);

    for (const o of readYaml(join(examples, 'revision-v3.yaml'))) await apply(o);
    await settled(getSvc, { [rev('v1')]: 50, [rev('v2')]: 50 });
    await waitUntil('v3 to be latest', async () => {
      const s = await getSvc();
      return (
        s?.status?.traffic?.some((t: { tag?: string; revisionName?: string }) => t.tag === 'latest' && t.revisionName === rev('v3')) ??
        false
      );
    });
    await measure('3. revision-v3.yaml: v3 created at 0% — the main URL still splits v1/v2', mainHost);
    await measure('   ... and v3 answers on its latest tag URL', `latest-${mainHost}`);

    for (const o of readYaml(join(examples, 'revision-v3-2.yaml'))) await apply(o);
    await settled(getSvc, { [rev('v1')]: 40, [rev('v2')]: 30, [rev('v3')]: 30 });
    await measure('4. revision-v3-2.yaml: 40/30/30', mainHost);

    // Rollback by traffic: the same template, all traffic back on v1.
    const rollback = readYaml(join(examples, 'revision-v3-2.yaml'))[0];
    rollback.spec.traffic = [
      { tag: 'v1', revisionName: rev('v1'), percent: 100 },
      { tag: 'latest', latestRevision: true, percent: 0 },
    ];
    await apply(rollback);
    await settled(getSvc, { [rev('v1')]: 100 });
    await measure('5. rollback: all traffic back on v1', mainHost);
    return steps;
  } finally {
    await sluice.stop();
    if (!opts.keep) rmSync(dataDir, { recursive: true, force: true });
  }
}

function byKey(a: [string, unknown], b: [string, unknown]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}
