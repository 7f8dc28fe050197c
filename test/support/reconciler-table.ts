// Table tests for reconcilers, after Knative's table_test.go: each row stores some objects in a
// memory store, runs one reconcile of one key against caches synced from it, a fake runtime, a
// recording data plane and a fixed scale source, and then checks what the reconcile did: objects
// created, statuses written, runtime calls, gateway tables, the error. Reactors make a store verb
// fail for a resource (Knative's InduceFailure).

import { R } from '../../src/api/resources.js';
import type { KObject } from '../../src/api/types.js';
import type { ControllerContext, ReconcileKind } from '../../src/controllers/context.js';
import { createListers, stopListers, syncListers } from '../../src/controllers/listers.js';
import type { HostRoute, RevisionBackend } from '../../src/dataplane/types.js';
import { openMemoryStore } from '../../src/store/index.js';
import type { Store } from '../../src/store/store.js';
import { FakeRuntime } from './fake-runtime.js';

const RESOURCE_OF: Record<string, string> = {
  Service: R.services,
  Configuration: R.configurations,
  Revision: R.revisions,
  Route: R.routes,
  PodAutoscaler: R.podautoscalers,
};

export interface Reactor {
  verb: 'create' | 'update' | 'delete';
  resource: string;
  error: Error;
}

export interface Row {
  name: string;
  /** Stored before the reconcile (with their status, if they have one). */
  objects?: KObject[];
  /** "namespace/name" of the object to reconcile. */
  key: string;
  /** Desired instances per revision key (default 1). */
  scale?: Record<string, number>;
  /** Runs before the reconcile, with the stored objects (e.g. instances that are ready). */
  runtime?: (rt: FakeRuntime, stored: KObject[]) => Promise<void> | void;
  reactors?: Reactor[];
}

export interface Outcome {
  err?: Error;
  store: Store;
  /** "resource ns/name" of every object the reconcile created. */
  creates: string[];
  created: KObject[];
  /** Status writes, in order, as the store took them. */
  statusUpdates: KObject[];
  runtime: FakeRuntime;
  routes: Map<string, HostRoute[]>;
  revisions: Map<string, RevisionBackend>;
  removedRevisions: string[];
  enqueued: string[];
  /** At each wait for the gateway to serve its tables (DataPlaneSink.synced): how many status writes came before it. */
  syncedAfterStatusWrites: number[];
  /** The object reconciled, as stored afterwards. */
  after?: KObject;
}

export type Reconcile = (ctx: ControllerContext, ns: string, name: string) => Promise<void>;

export async function runRow(kind: string, reconcile: Reconcile, row: Row): Promise<Outcome> {
  const store = openMemoryStore();
  const stored: KObject[] = [];
  for (const o of row.objects ?? []) {
    const res = RESOURCE_OF[o.kind];
    let c = await store.create(res, o);
    if (o.status !== undefined) c = await store.update(res, { ...c, status: o.status }, { subresource: 'status' });
    stored.push(c);
  }
  const out: Outcome = {
    store,
    creates: [],
    created: [],
    statusUpdates: [],
    runtime: new FakeRuntime(),
    routes: new Map(),
    revisions: new Map(),
    removedRevisions: [],
    enqueued: [],
    syncedAfterStatusWrites: [],
  };
  await row.runtime?.(out.runtime, stored);
  const failing = (verb: Reactor['verb'], resource: string) => row.reactors?.find((r) => r.verb === verb && r.resource === resource)?.error;
  const recording: Store = new Proxy(store, {
    get(target, prop, recv) {
      if (prop === 'create') {
        return async (resource: string, obj: KObject) => {
          const err = failing('create', resource);
          if (err) throw err;
          const c = await target.create(resource, obj);
          out.creates.push(`${resource.split('/').pop()} ${c.metadata.namespace}/${c.metadata.name}`);
          out.created.push(c);
          return c;
        };
      }
      if (prop === 'update') {
        return async (resource: string, obj: KObject, opts?: { subresource?: 'status' }) => {
          const err = failing('update', resource);
          if (err) throw err;
          const u = await target.update(resource, obj, opts);
          if (opts?.subresource === 'status') out.statusUpdates.push(u);
          return u;
        };
      }
      const v = Reflect.get(target, prop, recv) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  const listers = createListers(store);
  await syncListers(listers);
  const ctx: ControllerContext = {
    store: recording,
    listers,
    runtime: out.runtime,
    dataplane: {
      setRoute: (owner, routes) => {
        if (routes.length) out.routes.set(owner, routes);
        else out.routes.delete(owner);
      },
      setRevision: (b) => void out.revisions.set(b.key, b),
      removeRevision: (key) => void out.removedRevisions.push(key),
      synced: async () => void out.syncedAfterStatusWrites.push(out.statusUpdates.length),
    },
    scale: { desiredReplicas: (rev) => row.scale?.[`${rev.metadata.namespace}/${rev.metadata.name}`] ?? 1 },
    domain: () => 'example.com',
    enqueue: (k: ReconcileKind, ns, name) => void out.enqueued.push(`${k} ${ns}/${name}`),
    enqueueAfter: (k: ReconcileKind, ns, name, ms) => void out.enqueued.push(`${k} ${ns}/${name} after ${ms} ms`),
    now: () => 0,
    log: () => {},
  };
  const [ns, name] = row.key.split('/');
  try {
    await reconcile(ctx, ns, name);
  } catch (err) {
    out.err = err as Error;
  }
  out.after = await store.get(RESOURCE_OF[kind], ns, name);
  stopListers(listers);
  await store.close();
  return out;
}

/** The conditions of an object as "Type=Status(Reason)" strings, for compact comparisons. */
export function conditions(o: KObject | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of (o?.status?.conditions ?? []) as { type: string; status: string; reason?: string }[]) {
    out[c.type] = c.reason ? `${c.status}(${c.reason})` : c.status;
  }
  return out;
}
