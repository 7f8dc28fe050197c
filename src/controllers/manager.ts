// The controller manager: one work queue fed by store watch events (and runtime changes),
// deduplicated per object, worked by a single loop so reconcilers never race each other.
// Conflicts and other errors requeue with a capped backoff.

import { Labels } from '../api/types.js';
import type { WatchEvent } from '../store/store.js';
import { type ControllerContext, RES, type ReconcileKind } from './context.js';
import { reconcileConfiguration } from './configuration.js';
import { reconcileRevision, pushBackend } from './revision.js';
import { RouteTable, reconcileRoute } from './route.js';
import { reconcileService } from './service.js';
import { syncRoutingLabels } from './labeler.js';
import { collectRevisions } from './revision-gc.js';

/** How often every configuration is checked for revisions that became stale with time. */
const GC_SWEEP_MS = 60_000;

type Ctx = Omit<ControllerContext, 'enqueue' | 'enqueueAfter' | 'now'> & { now?: () => number };

/** Told of every reconcile (metrics, events); see controllers/metrics.ts. */
export interface ReconcileObserver {
  reconciled(kind: ReconcileKind, key: string, seconds: number, err?: Error & { code?: number }): void;
}

export class ControllerManager {
  private readonly pending = new Map<string, { kind: ReconcileKind; ns: string; name: string; attempts: number }>();
  private readonly retries = new Map<string, NodeJS.Timeout>();
  /** Timed requeues (enqueueAfter): the earliest per object wins. */
  private readonly later = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private running = false;
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
  }

  /** Starts watching and reconciles everything already stored (e.g. after a restart). */
  async start(): Promise<void> {
    this.stopRuntime = this.ctx.runtime.onChange((key) => {
      const [ns, name] = key.split('/');
      // Endpoints reach the gateway at once; the status write can wait for the queue.
      void pushBackend(this.ctx, ns, name);
      this.enqueue('Revision', ns, name);
    });
    // Each watch starts with the stored objects as ADDED events, which enqueue them all.
    for (const res of [RES.services, RES.configurations, RES.revisions, RES.routes, RES.podautoscalers, RES.configmaps]) {
      this.stopWatches.push(await this.ctx.store.watch(res, {}, { onEvent: (e) => this.onEvent(e) }));
    }
    if (this.ctx.gcConfig) {
      this.gcSweep = setInterval(() => {
        void this.ctx.store
          .list(RES.configurations)
          .then((l) => l.items.forEach((c) => this.enqueue('RevisionGC', c.metadata.namespace!, c.metadata.name!)));
      }, GC_SWEEP_MS);
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
  }

  /** Resolves when the queue is empty (tests and the demo use it to know the system settled). */
  idle(): Promise<void> {
    if (!this.running && this.pending.size === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /** Keys waiting to be reconciled (the work queue's depth). */
  get queueDepth(): number {
    return this.pending.size;
  }

  enqueue(kind: ReconcileKind, ns: string, name: string, attempts = 0): void {
    if (this.stopped) return;
    const key = `${kind}/${ns}/${name}`;
    if (!this.pending.has(key)) this.pending.set(key, { kind, ns, name, attempts });
    if (!this.running) void this.drain();
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

  private onEvent(e: WatchEvent): void {
    const o = e.object;
    const ns = o.metadata.namespace ?? '';
    const name = o.metadata.name!;
    const labels = o.metadata.labels ?? {};
    switch (e.resource) {
      case RES.services:
        this.enqueue('Service', ns, name);
        break;
      case RES.configurations:
        this.enqueue('Configuration', ns, name);
        this.enqueue('RevisionGC', ns, name);
        if (labels[Labels.service]) this.enqueue('Service', ns, labels[Labels.service]);
        // Routes follow the configuration's latest ready revision.
        this.enqueueRoutesIn(ns);
        break;
      case RES.revisions:
        this.enqueue('Revision', ns, name);
        if (labels[Labels.configuration]) {
          this.enqueue('Configuration', ns, labels[Labels.configuration]);
          this.enqueue('RevisionGC', ns, labels[Labels.configuration]);
        }
        this.enqueueRoutesIn(ns);
        break;
      case RES.routes:
        this.enqueue('Route', ns, name);
        if (labels[Labels.service]) this.enqueue('Service', ns, labels[Labels.service]);
        break;
      case RES.podautoscalers:
        this.enqueue('Revision', ns, name);
        break;
      case RES.configmaps:
        // config-domain changes every URL; config-network (rollout-duration) and config-features
        // (tag-header-based-routing) change how routes are programmed.
        if (name === 'config-domain' || name === 'config-network' || name === 'config-features') this.enqueueAllRoutes();
        break;
    }
  }

  private enqueueRoutesIn(ns: string): void {
    for (const key of this.routes.routeKeysIn(ns)) this.enqueue('Route', ns, key);
  }

  private enqueueAllRoutes(): void {
    void this.ctx.store
      .list(RES.routes)
      .then((l) => l.items.forEach((r) => this.enqueue('Route', r.metadata.namespace!, r.metadata.name!)));
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.pending.size > 0 && !this.stopped) {
        const [key, item] = this.pending.entries().next().value as [
          string,
          { kind: ReconcileKind; ns: string; name: string; attempts: number },
        ];
        this.pending.delete(key);
        const started = performance.now();
        try {
          await this.reconcile(item.kind, item.ns, item.name);
          this.observer?.reconciled(item.kind, key, (performance.now() - started) / 1000);
        } catch (err) {
          const e = err as Error & { code?: number };
          this.observer?.reconciled(item.kind, key, (performance.now() - started) / 1000, e);
          if (e.code !== 409) this.ctx.log(`reconcile ${key} failed: ${e.message}`);
          this.retry(key, item);
        }
      }
    } finally {
      this.running = false;
      if (this.pending.size === 0) {
        const waiters = this.idleWaiters.splice(0);
        waiters.forEach((w) => w());
      }
    }
  }

  private retry(key: string, item: { kind: ReconcileKind; ns: string; name: string; attempts: number }): void {
    if (this.stopped || this.retries.has(key)) return;
    const delay = Math.min(5000, 20 * 2 ** item.attempts);
    this.retries.set(
      key,
      setTimeout(() => {
        this.retries.delete(key);
        if (!this.pending.has(key)) this.pending.set(key, { ...item, attempts: item.attempts + 1 });
        if (!this.running) void this.drain();
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
        // Which revisions are routed may have changed (once per namespace, deduplicated).
        this.enqueue('RoutingLabels', ns, '');
        return;
      case 'RoutingLabels':
        return syncRoutingLabels(this.ctx, ns);
      case 'RevisionGC': {
        const gc = this.ctx.gcConfig?.();
        if (gc) await collectRevisions(this.ctx, gc, ns, name);
        return;
      }
    }
  }
}
