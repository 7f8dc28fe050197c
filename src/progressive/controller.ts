// The Rollout controller: every tick it reads each sluice.dev Rollout, its Service and the
// gateway's windows for the canary and stable revisions, asks the state machine (machine.ts) what
// to do, and carries it out: Service traffic edits, webhooks, warm-up and synthetic requests
// through the gateway to the canary's tag host, and the Rollout's status. All state is in the
// Rollout's status, so a restarted Sluice continues where it was (the current step's analysis
// window restarts, since the gateway's numbers start afresh).

import http from 'node:http';
import https from 'node:https';
import { isDeepStrictEqual } from 'node:util';
import type { KObject, TrafficTarget } from '../api/types.js';
import type { StatsReader } from '../dataplane/stats.js';
import type { Runtime } from '../runtime/runtime.js';
import type { Store } from '../store/store.js';
import type { EventRecorder } from '../events/recorder.js';
import { analyse } from './analysis.js';
import { type Observation, decide, preStepFailed, trafficFor } from './machine.js';
import {
  CANARY_TAG,
  ROLLOUT_ACTION_ANNOTATION,
  ROLLOUT_RESOURCE,
  type ResolvedPolicy,
  type RolloutSpec,
  type RolloutStatus,
  resolvePolicy,
} from './spec.js';

const SERVICES = 'serving.knative.dev/services';

export interface RolloutControllerOptions {
  store: Store;
  gateway: { reader(): StatsReader };
  runtime: Pick<Runtime, 'status'>;
  gatewayPort: () => number;
  domain: () => string;
  log: (msg: string) => void;
  /** Events on the Rollout for every step, pause, failure and promotion (kubectl describe / get events). */
  events?: EventRecorder;
  /** Milliseconds between ticks (default 1000). */
  tickMs?: number;
  now?: () => number;
}

export class RolloutController {
  private readonly reader: StatsReader;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private readonly now: () => number;

  constructor(private readonly o: RolloutControllerOptions) {
    this.reader = o.gateway.reader();
    this.now = o.now ?? Date.now;
  }

  start(): void {
    const tick = () => {
      if (this.stopped) return;
      this.running = this.tick()
        .catch((err: unknown) => this.o.log(`rollout controller: ${String((err as Error)?.message ?? err)}`))
        .finally(() => {
          this.running = undefined;
          if (!this.stopped) this.timer = setTimeout(tick, this.o.tickMs ?? 1000);
        });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  async tick(): Promise<void> {
    for (const ro of (await this.o.store.list(ROLLOUT_RESOURCE)).items) {
      if (this.stopped) return;
      try {
        await this.reconcile(ro);
      } catch (err) {
        const e = err as Error & { code?: number };
        if (e.code !== 409) this.o.log(`rollout ${ro.metadata.namespace}/${ro.metadata.name}: ${e.message}`);
      }
    }
  }

  private async reconcile(ro: KObject): Promise<void> {
    if (ro.metadata.deletionTimestamp) return;
    const ns = ro.metadata.namespace ?? 'default';
    const policy = resolvePolicy(ro.metadata.name!, (ro.spec ?? {}) as RolloutSpec);
    const prev = (ro.status ?? {}) as RolloutStatus;
    const svc = await this.o.store.get(SERVICES, ns, policy.service);
    if (!svc) {
      await this.writeStatus(ro, { ...prev, message: `Service "${policy.service}" not found.` });
      return;
    }
    const action = ro.metadata.annotations?.[ROLLOUT_ACTION_ANNOTATION];
    const key = (rev: string | undefined) => (rev ? `${ns}/${rev}` : '');
    const phase = prev.phase;
    const obs: Observation = {
      nowMs: this.now(),
      latestReady: svc.status?.latestReadyRevisionName,
      serving: servingRevision(svc),
      canaryReady: !!prev.canaryRevision && !!this.o.runtime.status(key(prev.canaryRevision))?.instances.some((i) => i.ready),
      confirmed: phase === 'Waiting' ? await this.hooksPass(policy, 'confirm-rollout', ro, prev) : true,
      rollbackRequested: phase === 'Waiting' || phase === 'Progressing' ? await this.anyHookPasses(policy, ro, prev) : false,
      ...(action === 'promote' || action === 'abort' ? { action } : {}),
    };
    if (phase === 'Progressing' && prev.canaryRevision && prev.stableRevision)
      obs.verdict = analyse(policy, this.reader.peek(key(prev.canaryRevision)), this.reader.peek(key(prev.stableRevision)));

    const d = decide(policy, prev, obs);
    let status = d.status;
    if (d.effects.preStep) {
      const ok = await this.hooksPass(policy, 'pre-step', ro, status);
      if (!ok) status = preStepFailed(policy, prev, obs.nowMs, 'a pre-step webhook did not answer 2xx');
    }
    if (d.effects.resetWindow && status.canaryRevision && status.stableRevision) {
      this.reader.read(key(status.canaryRevision));
      this.reader.read(key(status.stableRevision));
    }
    const tagHost = `${CANARY_TAG}-${policy.service}.${ns}.${this.o.domain().replace(/:\d+$/, '')}`;
    if (d.effects.warmUp) void this.send(tagHost, policy.syntheticPath, 1);
    if (d.effects.synthetic) await this.send(tagHost, policy.syntheticPath, d.effects.synthetic);

    const traffic = trafficFor(status);
    if (traffic && !sameTraffic(svc.spec?.traffic, traffic)) {
      await this.o.store.update(SERVICES, { ...svc, spec: { ...svc.spec, traffic } });
    }
    if (d.effects.clearAction && action !== undefined) {
      const annotations = { ...(ro.metadata.annotations ?? {}) };
      delete annotations[ROLLOUT_ACTION_ANNOTATION];
      ro = await this.o.store.update(ROLLOUT_RESOURCE, { ...ro, metadata: { ...ro.metadata, annotations } });
    }
    if (d.effects.event && status.message !== prev.message) {
      this.o.log(`rollout ${ns}/${ro.metadata.name}: ${status.message}`);
      const failed = status.phase === 'Failed' || (status.failedChecks ?? 0) > (prev.failedChecks ?? 0);
      this.o.events?.recordEvent(ro, failed ? 'Warning' : 'Normal', eventReason(status, prev), status.message ?? '');
    }
    await this.writeStatus(ro, { ...status, observedGeneration: ro.metadata.generation });
  }

  private async writeStatus(ro: KObject, status: RolloutStatus): Promise<void> {
    if (isDeepStrictEqual(ro.status ?? {}, status)) return;
    await this.o.store.update(ROLLOUT_RESOURCE, { ...ro, status }, { subresource: 'status' });
  }

  private async hooksPass(policy: ResolvedPolicy, type: 'confirm-rollout' | 'pre-step', ro: KObject, st: RolloutStatus): Promise<boolean> {
    for (const h of policy.webhooks.filter((w) => w.type === type)) if (!(await callHook(h, ro, st))) return false;
    return true;
  }

  /** Flagger's rule: a rollback webhook that answers 2xx asks for the rollback. */
  private async anyHookPasses(policy: ResolvedPolicy, ro: KObject, st: RolloutStatus): Promise<boolean> {
    for (const h of policy.webhooks.filter((w) => w.type === 'rollback')) if (await callHook(h, ro, st)) return true;
    return false;
  }

  /** GETs through the gateway to the canary's tag host, a few at a time; failures are the analysis' business. */
  private async send(host: string, path: string, n: number): Promise<void> {
    let left = n;
    const worker = async () => {
      while (left-- > 0) await get(this.o.gatewayPort(), host, path).catch(() => undefined);
    };
    await Promise.all(Array.from({ length: Math.min(4, n) }, worker));
  }
}

function eventReason(st: RolloutStatus, prev: RolloutStatus): string {
  if ((st.failedChecks ?? 0) > (prev.failedChecks ?? 0) && st.phase !== 'Failed') return 'CheckFailed';
  switch (st.phase) {
    case 'Waiting':
      return 'NewRevision';
    case 'Succeeded':
      return 'Promoted';
    case 'Failed':
      return 'RolledBack';
    case 'Progressing':
      return 'StepAdvanced';
    case 'Initialized':
    case 'Paused':
    case undefined:
      return st.phase ?? 'Unknown';
  }
}

/** The revision that serves the largest share right now. */
function servingRevision(svc: KObject): string | undefined {
  const traffic = (svc.status?.traffic ?? []) as TrafficTarget[];
  let best: TrafficTarget | undefined;
  for (const t of traffic) if (t.revisionName && (best === undefined || (t.percent ?? 0) > (best.percent ?? 0))) best = t;
  return best?.revisionName;
}

function sameTraffic(a: unknown, b: TrafficTarget[]): boolean {
  return isDeepStrictEqual(a, b);
}

function get(port: number, host: string, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path, headers: { host, 'user-agent': 'sluice-rollout-synthetic' }, agent: false, timeout: 30_000 },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** POSTs Flagger's webhook payload; true on a 2xx answer within the timeout. */
function callHook(h: ResolvedPolicy['webhooks'][number], ro: KObject, st: RolloutStatus): Promise<boolean> {
  const body = JSON.stringify({
    name: ro.metadata.name,
    namespace: ro.metadata.namespace,
    phase: st.phase,
    metadata: {
      type: h.type,
      canaryRevision: st.canaryRevision ?? '',
      stableRevision: st.stableRevision ?? '',
      canaryWeight: String(st.canaryWeight ?? 0),
    },
  });
  return new Promise((resolve) => {
    let url: URL;
    try {
      url = new URL(h.url);
    } catch {
      resolve(false);
      return;
    }
    const req = (url.protocol === 'https:' ? https : http).request(
      url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        timeout: h.timeoutMs,
        agent: false,
      },
      (res) => {
        res.resume();
        resolve((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300);
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end(body);
  });
}
