// What the console shows, as plain data: services with their routes' traffic split, revisions
// with their instances and the autoscaler's view. Built from the controllers' caches plus the live state of
// the autoscaler and the runtime; pure, so it is table-tested without a server.

import type { KObject, TrafficTarget } from '../api/types.js';
import { Labels } from '../api/types.js';

export interface TrafficShare {
  revisionName: string;
  percent: number;
  tag?: string;
  latestRevision: boolean;
  url?: string;
}

export interface ServiceView {
  namespace: string;
  name: string;
  url?: string;
  ready: 'True' | 'False' | 'Unknown';
  /** Why it is not ready, when it is not. */
  message?: string;
  latestCreatedRevision?: string;
  latestReadyRevision?: string;
  /** The route's traffic as it is served now (status.traffic), with concrete revision names. */
  traffic: TrafficShare[];
  /** What was asked (spec.traffic), for spotting a rollout in progress. */
  desiredTraffic: TrafficTarget[];
}

export interface RevisionView {
  namespace: string;
  name: string;
  /** "{namespace}/{name}", the key live data and events use. */
  key: string;
  service?: string;
  configuration?: string;
  created?: string;
  ready: 'True' | 'False' | 'Unknown';
  message?: string;
  /** Share of its service's traffic now (0 when it takes none). */
  percent: number;
  tags: string[];
  /** Instances: what the autoscaler asked, and ready ones. */
  desired?: number;
  readyInstances: number;
  class?: string;
  mode?: string;
  /** The autoscaler's reason for the current scale, when it gives one. */
  scaleReason?: string;
}

/** A canary Rollout (sluice.dev/v1alpha1): its steps and where it is. */
export interface RolloutView {
  namespace: string;
  name: string;
  service: string;
  steps: number[];
  phase?: string;
  /** Index into steps; -1 before the first. */
  step?: number;
  canaryRevision?: string;
  stableRevision?: string;
  canaryWeight?: number;
  message?: string;
  /** The last analysis' verdict and numbers, as the Rollout's status has them. */
  lastAnalysis?: unknown;
}

export interface Snapshot {
  time: number;
  services: ServiceView[];
  revisions: RevisionView[];
  rollouts: RolloutView[];
}

export interface LiveRevisionState {
  desired?: number;
  readyInstances: number;
  class?: string;
  mode?: string;
  scaleReason?: string;
}

function readyOf(o: KObject): { ready: 'True' | 'False' | 'Unknown'; message?: string } {
  const c = (o.status?.conditions as { type: string; status: string; message?: string }[] | undefined)?.find((x) => x.type === 'Ready');
  const ready = c?.status === 'True' || c?.status === 'False' ? c.status : 'Unknown';
  return ready === 'True' ? { ready } : { ready, ...(c?.message ? { message: c.message } : {}) };
}

/** status.traffic of a route or service, one entry per target that takes traffic or has a tag. */
export function trafficShares(status: { traffic?: TrafficTarget[] } | undefined): TrafficShare[] {
  return (status?.traffic ?? [])
    .filter((t) => t.revisionName)
    .map((t) => ({
      revisionName: t.revisionName!,
      percent: t.percent ?? 0,
      latestRevision: !!t.latestRevision,
      ...(t.tag ? { tag: t.tag } : {}),
      ...(t.url ? { url: t.url } : {}),
    }));
}

export function buildSnapshot(
  input: { services: KObject[]; revisions: KObject[]; rollouts?: KObject[]; time: number },
  live: (key: string) => LiveRevisionState,
): Snapshot {
  const services: ServiceView[] = input.services
    .map((s) => ({
      namespace: s.metadata.namespace ?? '',
      name: s.metadata.name!,
      ...(s.status?.url ? { url: s.status.url as string } : {}),
      ...readyOf(s),
      ...(s.status?.latestCreatedRevisionName ? { latestCreatedRevision: s.status.latestCreatedRevisionName as string } : {}),
      ...(s.status?.latestReadyRevisionName ? { latestReadyRevision: s.status.latestReadyRevisionName as string } : {}),
      traffic: trafficShares(s.status),
      desiredTraffic: (s.spec?.traffic as TrafficTarget[] | undefined) ?? [{ latestRevision: true, percent: 100 }],
    }))
    .sort((a, b) => (a.namespace + '/' + a.name).localeCompare(b.namespace + '/' + b.name));
  const shares = new Map<string, { percent: number; tags: string[] }>();
  for (const s of services) {
    for (const t of s.traffic) {
      const k = `${s.namespace}/${t.revisionName}`;
      const e = shares.get(k) ?? { percent: 0, tags: [] };
      e.percent += t.percent;
      if (t.tag) e.tags.push(t.tag);
      shares.set(k, e);
    }
  }
  const revisions: RevisionView[] = input.revisions
    .map((r) => {
      const namespace = r.metadata.namespace ?? '';
      const name = r.metadata.name!;
      const key = `${namespace}/${name}`;
      const labels = r.metadata.labels ?? {};
      const share = shares.get(key);
      const l = live(key);
      return {
        namespace,
        name,
        key,
        ...(labels[Labels.service] ? { service: labels[Labels.service] } : {}),
        ...(labels[Labels.configuration] ? { configuration: labels[Labels.configuration] } : {}),
        ...(r.metadata.creationTimestamp ? { created: r.metadata.creationTimestamp } : {}),
        ...readyOf(r),
        percent: share?.percent ?? 0,
        tags: share?.tags ?? [],
        ...l,
      };
    })
    .sort((a, b) => a.key.localeCompare(b.key));
  const rollouts: RolloutView[] = (input.rollouts ?? []).map((r) => {
    const st = (r.status ?? {}) as Record<string, unknown>;
    const opt = <T>(k: string, ok: (v: unknown) => boolean) => (ok(st[k]) ? { [k]: st[k] as T } : {});
    const isNum = (v: unknown) => typeof v === 'number';
    const isStr = (v: unknown) => typeof v === 'string';
    return {
      namespace: r.metadata.namespace ?? '',
      name: r.metadata.name!,
      service: (r.spec?.service as string | undefined) || r.metadata.name!,
      steps: Array.isArray(r.spec?.steps) ? (r.spec.steps as number[]) : [],
      ...opt('phase', isStr),
      ...opt('step', isNum),
      ...opt('canaryRevision', isStr),
      ...opt('stableRevision', isStr),
      ...opt('canaryWeight', isNum),
      ...opt('message', isStr),
      ...(st.lastAnalysis ? { lastAnalysis: st.lastAnalysis } : {}),
    };
  });
  return { time: input.time, services, revisions, rollouts };
}
