// The controller manager: one work queue fed by the listers' changes (and runtime changes),
// deduplicated per object, worked by a few workers as Knative's (threadiness): never two at once on
// one object, so a reconcile never races itself, while different objects' store writes overlap
// and share one sync to disk (the store's group commit).
// Conflicts and other errors requeue with a capped backoff. Two lanes, as knative.dev/pkg's
// controllers have: changes go in the fast lane; sweeps of everything (the periodic revision GC,
// the re-reconcile of all stored objects after a restart) in the slow one, taken only when the fast
// lane is empty, so a user's apply is never queued behind ten thousand keys that changed nothing.

import { type KObject, Labels } from '../api/types.js';
import { type ControllerContext, RES, type ReconcileKind } from './context.js';
import { reconcileConfiguration } from './configuration.js';
import {
  BY_ROUTES_ANNOTATION,
  DOMAINMAPPINGS_BY_DOMAIN,
  DOMAINMAPPINGS_BY_ROUTE,
  ROUTES_BY_CONFIGURATION,
  ROUTES_BY_REVISION,
} from './listers.js';
import { reconcileDomainMapping } from './domainmapping.js';
import { reconcileRevision, pushBackend } from './revision.js';
import { RouteTable, reconcileRoute } from './route.js';
import { reconcileService } from './service.js';
import { syncRoutingLabels } from './labeler.js';
import { collectRevisions } from './revision-gc.js';

/** How often every configuration is checked for revisions that became stale with time. */
const GC_SWEEP_MS = 60_000;

/** Pending keys in arrival order, taken from `head` (a Map walked from its start after many deletions skips their holes). */
class Lane {
  private keys: string[] = [];
  private head = 0;

  push(key: string): void {
    this.keys.push(key);
  }

  /** The next key, or undefined when the lane is worked off. */
  take(): string | undefined {
    if (this.head === this.keys.length) return undefined;
    const key = this.keys[this.head++];
    // Drop the taken part now and then, so the array does not grow with every key ever queued.
    if (this.head > 1024 && this.head * 2 > this.keys.length) {
      this.keys = this.keys.slice(this.head);
      this.head = 0;
    }
    return key;
  }

  clear(): void {
    this.keys = [];
    this.head = 0;
  }
}

interface Item {
  kind: ReconcileKind;
  ns: string;
  name: string;
  attempts: number;
  /** In the slow lane (a sweep), until a change of the object moves it to the fast one. */
  slow: boolean;
}

type Ctx = Omit<ControllerContext, 'enqueue' | 'enqueueAfter' | 'now'> & { now?: () => number };

/** Reconciles running at once (Knative runs 2 per controller, 4 controllers). */
export const WORKERS = 8;

/** Told of every reconcile (metrics, events); see controllers/metrics.ts. */
export interface ReconcileObserver {
  reconciled(kind: ReconcileKind, key: string, seconds: number, err?: Error & { code?: number }): void;
}

const ROUTING_CONFIGMAPS = new Set(['config-domain', 'config-network', 'config-features']);

export class ControllerManager {
  private readonly pending = new Map<string, Item>();
  private readonly fast = new Lane();
  private readonly slow = new Lane();
  /** Pending keys that came up while being reconciled: queued again when that reconcile ends. */
  private readonly deferred = new Set<string>();
  private readonly retries = new Map<string, NodeJS.Timeout>();
  /** Timed requeues (enqueueAfter): the earliest per object wins. */
  private readonly later = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  /** Keys being reconciled now, and how many workers run. */
  private readonly active = new Set<string>();
  private workers = 0;
  private stopped = false;
  private readonly stopWatches: (() => void)[] = [];
  private stopRuntime?: () => void;
  private gcSweep?: NodeJS.Timeout;
  private idleWaiters: (() => void)[] = [];
  readonly routes: RouteTable;
  private readonly ctx: ControllerContext;

  constructor(
    base: Ctx,
    private readonly observer?: ReconcileObserver,
  ) {
    this.ctx = {
      ...base,
      now: base.now ?? Date.now,
      enqueue: (k, ns, n) => this.enqueue(k, ns, n),
      enqueueAfter: (k, ns, n, ms) => this.enqueueAfter(k, ns, n, ms),
    };
    this.routes = new RouteTable(base.dataplane);
    // A mapping serves its route's split: every change of the route's hosts reaches it.
    this.routes.onChange = (ns, name) => this.enqueueMappingsOf(ns, name);
  }

  /**
   * Reconciles everything the listers hold (e.g. after a restart), then follows their changes.
   * The listers must have synced (syncListers) before.
   */
  async start(): Promise<void> {
    const l = this.ctx.listers;
    this.stopWatches.push(
      l.services.onChange((e) => this.onService(e.object)),
      l.configurations.onChange((e) => this.onConfiguration(e.object)),
      l.revisions.onChange((e) => this.onRevision(e.object)),
      l.routes.onChange((e) => this.onRoute(e.object, e.old)),
      // A PodAutoscaler's scale shows on its revision's status.
      l.podautoscalers.onChange((e) => this.enqueue('Revision', e.object.metadata.namespace ?? '', e.object.metadata.name!)),
      l.domainmappings.onChange((e) => this.enqueue('DomainMapping', e.object.metadata.namespace ?? '', e.object.metadata.name!)),
      // A claim decides which namespace's mapping of that domain is served.
      l.clusterdomainclaims.onChange((e) =>
        this.enqueueAll(l.domainmappings.byIndex(DOMAINMAPPINGS_BY_DOMAIN, e.object.metadata.name ?? ''), 'DomainMapping'),
      ),
    );
    this.stopRuntime = this.ctx.runtime.onChange((key) => {
      const [ns, name] = key.split('/');
      // Endpoints reach the gateway at once; the status write can wait for the queue.
      void pushBackend(this.ctx, ns, name);
      this.enqueue('Revision', ns, name);
    });
    // config-domain changes every URL; config-network (rollout-duration) and config-features
    // (tag-header-based-routing) change how routes are programmed.
    const configMaps = await this.ctx.store.list(RES.configmaps);
    this.stopWatches.push(
      await this.ctx.store.watch(
        RES.configmaps,
        { resourceVersion: configMaps.resourceVersion },
        {
          onEvent: (e) => {
            if (ROUTING_CONFIGMAPS.has(e.object.metadata.name ?? '')) this.enqueueAll(l.routes.list(), 'Route');
            // autocreate-cluster-domain-claims
            if (e.object.metadata.name === 'config-network') this.enqueueAll(l.domainmappings.list(), 'DomainMapping');
          },
        },
      ),
    );
    // After a restart the data plane comes first: every revision's backend at once, then the routes
    // and domain mappings at the head of the queue, so the gateway serves what it served before;
    // the rest (tens of thousands of keys at scale) is a sweep, behind any change made meanwhile.
    for (const r of l.revisions.list()) void pushBackend(this.ctx, r.metadata.namespace ?? '', r.metadata.name!);
    this.enqueueAll(l.routes.list(), 'Route');
    this.enqueueAll(l.domainmappings.list(), 'DomainMapping');
    this.enqueueAll(l.services.list(), 'Service', true);
    this.enqueueAll(l.configurations.list(), 'Configuration', true);
    this.enqueueAll(l.revisions.list(), 'Revision', true);
    // Routes gone while the server was down are still listed on the revisions they named.
    for (const key of new Set([...l.revisions.indexValues(BY_ROUTES_ANNOTATION), ...l.configurations.indexValues(BY_ROUTES_ANNOTATION)])) {
      const slash = key.indexOf('/');
      this.enqueueSlow('RoutingLabels', key.slice(0, slash), key.slice(slash + 1));
    }
    if (this.ctx.gcConfig) {
      this.gcSweep = setInterval(() => this.enqueueAll(l.configurations.list(), 'RevisionGC', true), GC_SWEEP_MS);
      this.gcSweep.unref?.();
    }
  }

  stop(): void {
    this.stopped = true;
    for (const stop of this.stopWatches.splice(0)) stop();
    this.stopRuntime?.();
    if (this.gcSweep) clearInterval(this.gcSweep);
    for (const t of this.retries.values()) clearTimeout(t);
    this.retries.clear();
    for (const l of this.later.values()) clearTimeout(l.timer);
    this.later.clear();
    this.pending.clear();
    this.fast.clear();
    this.slow.clear();
    this.deferred.clear();
  }

  /** Resolves when the queue is empty (tests and the demo use it to know the system settled). */
  idle(): Promise<void> {
    if (this.workers === 0 && this.pending.size === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /** Keys waiting to be reconciled (the work queue's depth). */
  get queueDepth(): number {
    return this.pending.size;
  }

  enqueue(kind: ReconcileKind, ns: string, name: string, attempts = 0): void {
    if (this.stopped) return;
    const key = `${kind}/${ns}/${name}`;
    this.add(key, { kind, ns, name, attempts, slow: false });
    this.pump();
  }

  /** Queues a key behind every change (a sweep); a change of the object before it is taken moves it forward. */
  enqueueSlow(kind: ReconcileKind, ns: string, name: string): void {
    if (this.stopped) return;
    this.add(`${kind}/${ns}/${name}`, { kind, ns, name, attempts: 0, slow: true });
    this.pump();
  }

  enqueueAfter(kind: ReconcileKind, ns: string, name: string, delayMs: number): void {
    if (this.stopped) return;
    const key = `${kind}/${ns}/${name}`;
    const at = Date.now() + Math.max(0, delayMs);
    const existing = this.later.get(key);
    if (existing && existing.at <= at) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(
      () => {
        this.later.delete(key);
        this.enqueue(kind, ns, name);
      },
      Math.min(2 ** 31 - 1, Math.max(0, delayMs)),
    );
    timer.unref?.();
    this.later.set(key, { at, timer });
  }

  // A change enqueues the object itself and the objects whose reconcile reads it — found through
  // the listers' indexes, never by scanning a namespace.

  private onService(o: KObject): void {
    this.enqueue('Service', o.metadata.namespace ?? '', o.metadata.name!);
    // A mapping resolves its ref from the Service's status.address.
    this.enqueueMappingsOf(o.metadata.namespace ?? '', o.metadata.name!);
  }

  private enqueueMappingsOf(ns: string, route: string): void {
    this.enqueueAll(this.ctx.listers.domainmappings.byIndex(DOMAINMAPPINGS_BY_ROUTE, `${ns}/${route}`), 'DomainMapping');
  }

  private onConfiguration(o: KObject): void {
    const ns = o.metadata.namespace ?? '';
    this.enqueue('Configuration', ns, o.metadata.name!);
    this.enqueue('RevisionGC', ns, o.metadata.name!);
    const svc = o.metadata.labels?.[Labels.service];
    if (svc) this.enqueue('Service', ns, svc);
    // Routes follow the configuration's latest ready revision.
    this.enqueueAll(this.ctx.listers.routes.byIndex(ROUTES_BY_CONFIGURATION, `${ns}/${o.metadata.name}`), 'Route');
  }

  private onRevision(o: KObject): void {
    const ns = o.metadata.namespace ?? '';
    this.enqueue('Revision', ns, o.metadata.name!);
    const cfg = o.metadata.labels?.[Labels.configuration];
    if (cfg) {
      this.enqueue('Configuration', ns, cfg);
      this.enqueue('RevisionGC', ns, cfg);
    }
    // Routes naming it (readiness of a pinned target) and routes of its configuration.
    this.enqueueAll(this.ctx.listers.routes.byIndex(ROUTES_BY_REVISION, `${ns}/${o.metadata.name}`), 'Route');
    if (cfg) this.enqueueAll(this.ctx.listers.routes.byIndex(ROUTES_BY_CONFIGURATION, `${ns}/${cfg}`), 'Route');
  }

  private onRoute(o: KObject, old: KObject | undefined): void {
    const ns = o.metadata.namespace ?? '';
    this.enqueue('Route', ns, o.metadata.name!);
    this.enqueueMappingsOf(ns, o.metadata.name!);
    for (const svc of new Set([o.metadata.labels?.[Labels.service], old?.metadata.labels?.[Labels.service]])) {
      if (svc) this.enqueue('Service', ns, svc);
    }
  }

  private enqueueAll(objects: readonly KObject[], kind: ReconcileKind, slow = false): void {
    for (const o of objects) {
      if (slow) this.enqueueSlow(kind, o.metadata.namespace ?? '', o.metadata.name!);
      else this.enqueue(kind, o.metadata.namespace ?? '', o.metadata.name!);
    }
  }

  private add(key: string, item: Item): void {
    const queued = this.pending.get(key);
    if (queued) {
      // Already waiting; a change of an object waiting in the slow lane moves it to the fast one
      // (its slow-lane entry is skipped when reached).
      if (queued.slow && !item.slow) {
        queued.slow = false;
        this.fast.push(key);
      }
      return;
    }
    this.pending.set(key, item);
    (item.slow ? this.slow : this.fast).push(key);
  }

  /** The next pending key to work on: the fast lane first. */
  private next(): string | undefined {
    for (;;) {
      const key = this.fast.take();
      if (key === undefined) break;
      const item = this.pending.get(key);
      if (item && !item.slow) return key;
    }
    for (;;) {
      const key = this.slow.take();
      if (key === undefined) return undefined;
      if (this.pending.get(key)?.slow) return key;
    }
  }

  /** Starts workers on pending keys, never two on one key (a key enqueued while it runs waits). */
  private pump(): void {
    while (this.workers < WORKERS && !this.stopped) {
      const key = this.next();
      if (key === undefined) break;
      const item = this.pending.get(key)!;
      if (this.active.has(key)) {
        this.deferred.add(key);
        continue;
      }
      this.pending.delete(key);
      this.active.add(key);
      this.workers++;
      void this.work(key, item);
    }
  }

  private async work(key: string, item: Item): Promise<void> {
    const started = performance.now();
    try {
      await this.reconcile(item.kind, item.ns, item.name);
      this.observer?.reconciled(item.kind, key, (performance.now() - started) / 1000);
    } catch (err) {
      const e = err as Error & { code?: number };
      this.observer?.reconciled(item.kind, key, (performance.now() - started) / 1000, e);
      if (e.code !== 409) this.ctx.log(`reconcile ${key} failed: ${e.message}`);
      this.retry(key, item);
    } finally {
      this.active.delete(key);
      const again = this.deferred.delete(key) ? this.pending.get(key) : undefined;
      if (again) (again.slow ? this.slow : this.fast).push(key);
      this.workers--;
      this.pump();
      if (this.workers === 0 && this.pending.size === 0) {
        const waiters = this.idleWaiters.splice(0);
        waiters.forEach((w) => w());
      }
    }
  }

  private retry(key: string, item: Item): void {
    if (this.stopped || this.retries.has(key)) return;
    const delay = Math.min(5000, 20 * 2 ** item.attempts);
    this.retries.set(
      key,
      setTimeout(() => {
        this.retries.delete(key);
        this.add(key, { ...item, attempts: item.attempts + 1, slow: false });
        this.pump();
      }, delay),
    );
  }

  private async reconcile(kind: ReconcileKind, ns: string, name: string): Promise<void> {
    switch (kind) {
      case 'Service':
        return reconcileService(this.ctx, ns, name);
      case 'Configuration':
        return reconcileConfiguration(this.ctx, ns, name);
      case 'Revision':
        return reconcileRevision(this.ctx, ns, name);
      case 'Route':
        await reconcileRoute(this.ctx, this.routes, ns, name);
        // Which revisions this route sends traffic to may have changed.
        this.enqueue('RoutingLabels', ns, name);
        return;
      case 'RoutingLabels':
        return syncRoutingLabels(this.ctx, ns, name);
      case 'DomainMapping':
        return reconcileDomainMapping(this.ctx, this.routes, ns, name);
      case 'RevisionGC': {
        const gc = this.ctx.gcConfig?.();
        if (gc) await collectRevisions(this.ctx, gc, ns, name);
        return;
      }
    }
  }
}
