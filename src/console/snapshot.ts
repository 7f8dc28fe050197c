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

const byView = (a: { namespace: string; name: string }, b: { namespace: string; name: string }) =>
  (a.namespace + '/' + a.name).localeCompare(b.namespace + '/' + b.name);

/** One Service as the console shows it. */
export function serviceView(s: KObject): ServiceView {
  return {
    namespace: s.metadata.namespace ?? '',
    name: s.metadata.name!,
    ...(s.status?.url ? { url: s.status.url as string } : {}),
    ...readyOf(s),
    ...(s.status?.latestCreatedRevisionName ? { latestCreatedRevision: s.status.latestCreatedRevisionName as string } : {}),
    ...(s.status?.latestReadyRevisionName ? { latestReadyRevision: s.status.latestReadyRevisionName as string } : {}),
    traffic: trafficShares(s.status),
    desiredTraffic: (s.spec?.traffic as TrafficTarget[] | undefined) ?? [{ latestRevision: true, percent: 100 }],
  };
}

/** What a Revision object alone says; its share of traffic and live state are added by revisionView. */
export type RevisionBase = Omit<RevisionView, 'percent' | 'tags' | keyof LiveRevisionState>;

export function revisionBase(r: KObject): RevisionBase {
  const namespace = r.metadata.namespace ?? '';
  const name = r.metadata.name!;
  const labels = r.metadata.labels ?? {};
  return {
    namespace,
    name,
    key: `${namespace}/${name}`,
    ...(labels[Labels.service] ? { service: labels[Labels.service] } : {}),
    ...(labels[Labels.configuration] ? { configuration: labels[Labels.configuration] } : {}),
    ...(r.metadata.creationTimestamp ? { created: r.metadata.creationTimestamp } : {}),
    ...readyOf(r),
  };
}

export interface RevisionShare {
  percent: number;
  tags: string[];
}

/** Each revision's share of traffic ("{namespace}/{revision}"), summed over the given services in their order. */
export function sharesOf(services: Iterable<ServiceView>): Map<string, RevisionShare> {
  const shares = new Map<string, RevisionShare>();
  for (const s of services) {
    for (const t of s.traffic) {
      const k = `${s.namespace}/${t.revisionName}`;
      const e = shares.get(k) ?? { percent: 0, tags: [] };
      e.percent += t.percent;
      if (t.tag) e.tags.push(t.tag);
      shares.set(k, e);
    }
  }
  return shares;
}

export function revisionView(base: RevisionBase, share: RevisionShare | undefined, live: LiveRevisionState): RevisionView {
  return { ...base, percent: share?.percent ?? 0, tags: share?.tags ?? [], ...live };
}

export function rolloutView(r: KObject): RolloutView {
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
}

export function buildSnapshot(
  input: { services: KObject[]; revisions: KObject[]; rollouts?: KObject[]; time: number },
  live: (key: string) => LiveRevisionState,
): Snapshot {
  const services = input.services.map(serviceView).sort(byView);
  const shares = sharesOf(services);
  const revisions = input.revisions
    .map((r) => {
      const base = revisionBase(r);
      return revisionView(base, shares.get(base.key), live(base.key));
    })
    .sort((a, b) => a.key.localeCompare(b.key));
  const rollouts = (input.rollouts ?? []).map(rolloutView);
  return { time: input.time, services, revisions, rollouts };
}

// ---- incremental: what changed since the last look, keyed by object ----

export type SnapshotKind = 'services' | 'revisions' | 'rollouts';

/** Views to set (new or changed) and keys ("{namespace}/{name}") gone, per kind, since the previous changes. */
export interface SnapshotChanges {
  services: { set: ServiceView[]; removed: string[] };
  revisions: { set: RevisionView[]; removed: string[] };
  rollouts: { set: RolloutView[]; removed: string[] };
}

const keyOfView = (v: { namespace: string; name: string }) => `${v.namespace}/${v.name}`;
const keyOfObject = (o: KObject) => `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;

/** A snapshot with changes applied (what the page does with each one it receives). */
export function applyChanges(snap: Snapshot, c: SnapshotChanges, time: number): Snapshot {
  const apply = <V extends { namespace: string; name: string }>(list: V[], ch: { set: V[]; removed: string[] }): V[] => {
    if (ch.set.length === 0 && ch.removed.length === 0) return list;
    const by = new Map(list.map((v) => [keyOfView(v), v]));
    for (const k of ch.removed) by.delete(k);
    for (const v of ch.set) by.set(keyOfView(v), v);
    return [...by.values()].sort((a, b) => keyOfView(a).localeCompare(keyOfView(b)));
  };
  return {
    time,
    services: apply(snap.services, c.services),
    revisions: apply(snap.revisions, c.revisions),
    rollouts: apply(snap.rollouts, c.rollouts),
  };
}

interface Held<V> {
  rv?: string;
  view: V;
  json: string;
}

/**
 * The snapshot kept up to date object by object: set/remove what a watch reports, touch a
 * revision whose live state changed, and take the changes. An object whose resourceVersion is the
 * one already held costs a lookup; only changed objects (and the revisions whose share of traffic
 * they change) are rebuilt, and only views whose content changed are reported. Pure: no timers, no I/O.
 */
export class SnapshotModel {
  private readonly services = new Map<string, Held<ServiceView>>();
  private readonly bases = new Map<string, { rv?: string; base: RevisionBase }>();
  private readonly revisions = new Map<string, Held<RevisionView>>();
  private readonly rollouts = new Map<string, Held<RolloutView>>();
  /** Revision key → the services whose traffic names it. */
  private readonly referrers = new Map<string, Set<string>>();
  /** Revisions to rebuild at the next changes(). */
  private readonly dirty = new Set<string>();
  private pending: Pending = emptyPending();
  /** Views rebuilt so far (for tests: the work done is proportional to what changed). */
  rebuilt = 0;

  constructor(private readonly live: (key: string) => LiveRevisionState) {}

  /** A model of these objects (the changes of building it are dropped). */
  static of(input: { services: KObject[]; revisions: KObject[]; rollouts?: KObject[] }, live: (key: string) => LiveRevisionState) {
    const m = new SnapshotModel(live);
    for (const s of input.services) m.set('services', s);
    for (const r of input.revisions) m.set('revisions', r);
    for (const r of input.rollouts ?? []) m.set('rollouts', r);
    m.changes();
    return m;
  }

  set(kind: SnapshotKind, obj: KObject): void {
    const key = keyOfObject(obj);
    const rv = obj.metadata.resourceVersion;
    if (kind === 'revisions') {
      const held = this.bases.get(key);
      if (held && rv !== undefined && held.rv === rv) return;
      this.rebuilt++;
      this.bases.set(key, { rv, base: revisionBase(obj) });
      this.dirty.add(key);
      return;
    }
    const map = kind === 'services' ? this.services : this.rollouts;
    const held = map.get(key);
    if (held && rv !== undefined && held.rv === rv) return;
    this.rebuilt++;
    const view = kind === 'services' ? serviceView(obj) : rolloutView(obj);
    const json = JSON.stringify(view);
    if (held?.json === json) {
      held.rv = rv;
      return;
    }
    if (kind === 'services') this.retarget(key, held?.view as ServiceView | undefined, view as ServiceView);
    (map as Map<string, Held<ServiceView | RolloutView>>).set(key, { rv, view, json });
    this.note(kind, key, view);
  }

  remove(kind: SnapshotKind, namespace: string | undefined, name: string): void {
    const key = `${namespace ?? ''}/${name}`;
    if (kind === 'revisions') {
      if (this.bases.delete(key)) this.dirty.add(key);
      return;
    }
    const map = kind === 'services' ? this.services : this.rollouts;
    const held = map.get(key);
    if (!held) return;
    map.delete(key);
    if (kind === 'services') this.retarget(key, held.view as ServiceView, undefined);
    this.note(kind, key, undefined);
  }

  /** The revision's live state (instances, the autoscaler's view) may have changed. */
  touch(key: string): void {
    if (this.bases.has(key) || this.revisions.has(key)) this.dirty.add(key);
  }

  /** What changed since the previous call; undefined when nothing did. */
  changes(): SnapshotChanges | undefined {
    for (const key of this.dirty) {
      const b = this.bases.get(key);
      const held = this.revisions.get(key);
      if (!b) {
        if (held) {
          this.revisions.delete(key);
          this.note('revisions', key, undefined);
        }
        continue;
      }
      this.rebuilt++;
      const view = revisionView(b.base, this.shareOf(key), this.live(key));
      const json = JSON.stringify(view);
      if (held?.json === json) continue;
      this.revisions.set(key, { view, json });
      this.note('revisions', key, view);
    }
    this.dirty.clear();
    const p = this.pending;
    this.pending = emptyPending();
    return p.services.size + p.revisions.size + p.rollouts.size === 0 ? undefined : changesOf(p);
  }

  /** Everything, sorted by namespace/name (call changes() first to include the latest). */
  snapshot(time: number): Snapshot {
    const sorted = <V>(m: Map<string, Held<V>>) => [...m.entries()].sort((a, b) => a[0].localeCompare(b[0])).map(([, h]) => h.view);
    return {
      time,
      services: sorted(this.services),
      revisions: sorted(this.revisions),
      rollouts: sorted(this.rollouts),
    };
  }

  private shareOf(revKey: string): RevisionShare | undefined {
    const refs = this.referrers.get(revKey);
    if (!refs) return undefined;
    const views = [...refs]
      .sort((a, b) => a.localeCompare(b))
      .map((k) => this.services.get(k)?.view)
      .filter((v): v is ServiceView => v !== undefined);
    return sharesOf(views).get(revKey);
  }

  /** A service's traffic changed: the revisions it named before and names now get their shares again. */
  private retarget(svcKey: string, before: ServiceView | undefined, after: ServiceView | undefined): void {
    for (const v of [before, after]) {
      for (const t of v?.traffic ?? []) this.dirty.add(`${v!.namespace}/${t.revisionName}`);
    }
    for (const t of before?.traffic ?? []) {
      const refs = this.referrers.get(`${before!.namespace}/${t.revisionName}`);
      refs?.delete(svcKey);
      if (refs?.size === 0) this.referrers.delete(`${before!.namespace}/${t.revisionName}`);
    }
    for (const t of after?.traffic ?? []) {
      const k = `${after!.namespace}/${t.revisionName}`;
      let refs = this.referrers.get(k);
      if (!refs) this.referrers.set(k, (refs = new Set()));
      refs.add(svcKey);
    }
  }

  private note(kind: SnapshotKind, key: string, view: ServiceView | RevisionView | RolloutView | undefined): void {
    // The latest word on a key wins.
    this.pending[kind].set(key, view);
  }
}

type Pending = Record<SnapshotKind, Map<string, ServiceView | RevisionView | RolloutView | undefined>>;

function emptyPending(): Pending {
  return { services: new Map(), revisions: new Map(), rollouts: new Map() };
}

function changesOf(p: Pending): SnapshotChanges {
  const part = <V>(m: Map<string, unknown>) => {
    const set: V[] = [];
    const removed: string[] = [];
    for (const [k, v] of m) {
      if (v === undefined) removed.push(k);
      else set.push(v as V);
    }
    return { set, removed };
  };
  return { services: part(p.services), revisions: part(p.revisions), rollouts: part(p.rollouts) };
}
