// The Store contract over a Backend: uid and creationTimestamp on create, generation bumped only
// by spec changes, 409 on a stale resourceVersion, no-op writes that keep their resourceVersion,
// the status subresource, and watches fed from the same writes. One global counter gives the
// monotonic resourceVersion, as etcd's revision does for Kubernetes.
//
// Group commit: every write of one turn of the event loop goes into one batch, made durable with
// one sync to disk; each write's promise resolves (and its watch event goes out) only after that,
// so an acknowledged write is on disk and no watcher sees a write that could still be lost. Reads
// wait for an open batch, so they see committed data only.

import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { ApiError, alreadyExists, conflict, notFound } from '../api/errors.js';
import type { ObjectOf } from '../api/resources.js';
import type { KObject } from '../api/types.js';
import type { Backend } from './backend.js';
import type { ListPage, ListResult, Store, UpdateOptions, WatchEvent, WatchHandlers, WatchOptions } from './store.js';
import { WatchHub } from './watch-hub.js';

/** Splits "group/plural" into display parts for error messages. */
function describe(resource: string): [string, string] {
  const i = resource.lastIndexOf('/');
  return i < 0 ? [resource, ''] : [resource.slice(i + 1), resource.slice(0, i)];
}

export class DocumentStore implements Store {
  private rv: number;
  private readonly hub: WatchHub;
  private closed = false;
  /** The open batch: its writes' events, published once it is committed. */
  private batch?: { done: Promise<void>; events: { event: WatchEvent; rv: number; json?: string }[] };

  constructor(
    private readonly backend: Backend,
    opts: { watchHistory?: number; watchHistoryChars?: number; log?: (msg: string) => void } = {},
  ) {
    this.hub = new WatchHub({ events: opts.watchHistory, chars: opts.watchHistoryChars }, opts.log);
    this.rv = backend.loadRv();
    this.hub.reset(this.rv);
  }

  async get<K extends string>(resource: K, namespace: string | undefined, name: string): Promise<ObjectOf<K> | undefined> {
    while (this.batch) await this.batch.done.catch(() => {});
    return this.backend.read(resource, namespace ?? '', name) as ObjectOf<K> | undefined;
  }

  async list<K extends string>(resource: K, namespace?: string, page?: ListPage): Promise<ListResult<ObjectOf<K>>> {
    while (this.batch) await this.batch.done.catch(() => {});
    if (page) {
      const { items, remaining } = this.backend.readPage(resource, namespace, page);
      return { items: items as ObjectOf<K>[], resourceVersion: String(this.rv), remaining };
    }
    return { items: this.backend.readAll(resource, namespace) as ObjectOf<K>[], resourceVersion: String(this.rv) };
  }

  async create<K extends string>(resource: K, obj: KObject): Promise<ObjectOf<K>> {
    const ns = obj.metadata.namespace ?? '';
    const name = obj.metadata.name;
    if (!name) throw new ApiError(422, 'Invalid', 'metadata.name: Required value: name or generateName is required');
    const created: KObject = structuredClone(obj);
    const meta = created.metadata;
    meta.uid = randomUUID();
    meta.creationTimestamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    if (created.spec !== undefined) meta.generation = 1;
    delete meta.resourceVersion;
    delete meta.deletionTimestamp;
    // The existence check and the insert run in one transaction so two creates cannot both win.
    const { rv, json } = this.write(() => {
      if (this.backend.read(resource, ns, name)) {
        const [plural, group] = describe(resource);
        throw alreadyExists(plural, name, group);
      }
      const rv = this.nextRv();
      meta.resourceVersion = String(rv);
      // Serialized once: the row, the watch history and the watchers' bytes.
      const json = JSON.stringify(created);
      this.backend.put(resource, ns, name, rv, created, json);
      return { rv, json };
    });
    await this.committed({ type: 'ADDED', resource, object: created }, rv, json);
    return structuredClone(created) as ObjectOf<K>;
  }

  async update<K extends string>(resource: K, obj: KObject, opts: UpdateOptions = {}): Promise<ObjectOf<K>> {
    const ns = obj.metadata.namespace ?? '';
    const name = obj.metadata.name ?? '';
    const [plural, group] = describe(resource);
    const { next, changed, json } = this.write(() => {
      const current = this.backend.read(resource, ns, name);
      if (!current) throw notFound(plural, name, group);
      const wantRv = obj.metadata.resourceVersion;
      if (wantRv && wantRv !== current.metadata.resourceVersion) throw conflict(plural, name, group);
      let next: KObject;
      if (opts.subresource === 'status') {
        next = { ...current, status: structuredClone(obj.status) };
      } else {
        next = structuredClone(obj);
        // Status is owned by the /status subresource; identity fields by the store.
        if (current.status !== undefined) next.status = current.status;
        else delete next.status;
        next.metadata.uid = current.metadata.uid;
        next.metadata.creationTimestamp = current.metadata.creationTimestamp;
        next.metadata.generation = current.metadata.generation;
        // Kubernetes keeps the managedFields of an update that leaves them out (writers such as
        // the controllers work from caches that drop them).
        if (
          opts.managedFields !== 'as-given' &&
          next.metadata.managedFields === undefined &&
          current.metadata.managedFields !== undefined
        ) {
          next.metadata.managedFields = current.metadata.managedFields;
        }
        if (next.spec !== undefined && !isDeepStrictEqual(next.spec, current.spec)) {
          next.metadata.generation = (current.metadata.generation ?? 0) + 1;
        }
      }
      next.metadata.resourceVersion = current.metadata.resourceVersion;
      // A no-op write keeps its resourceVersion and makes no event, like Kubernetes.
      if (isDeepStrictEqual(next, current)) return { next: current, changed: false };
      const rv = this.nextRv();
      next.metadata.resourceVersion = String(rv);
      const json = JSON.stringify(next);
      this.backend.put(resource, ns, name, rv, next, json);
      return { next, changed: true, json };
    });
    if (changed) await this.committed({ type: 'MODIFIED', resource, object: next }, Number(next.metadata.resourceVersion), json);
    else if (this.batch) await this.batch.done; // it read what the batch wrote
    return structuredClone(next) as ObjectOf<K>;
  }

  async delete<K extends string>(resource: K, namespace: string | undefined, name: string): Promise<ObjectOf<K>> {
    const ns = namespace ?? '';
    const [plural, group] = describe(resource);
    const gone = this.write(() => {
      const found = this.backend.read(resource, ns, name);
      if (!found) throw notFound(plural, name, group);
      this.backend.remove(resource, ns, name);
      // A delete is an event with its own resourceVersion, as in Kubernetes.
      found.metadata.resourceVersion = String(this.nextRv());
      return found;
    });
    await this.committed({ type: 'DELETED', resource, object: gone }, Number(gone.metadata.resourceVersion));
    return structuredClone(gone) as ObjectOf<K>;
  }

  async watch<K extends string>(resource: K, opts: WatchOptions, handlers: WatchHandlers<ObjectOf<K>>): Promise<() => void> {
    while (this.batch) await this.batch.done.catch(() => {});
    if (this.closed) throw new ApiError(500, 'InternalError', 'the store is closed');
    const since = opts.resourceVersion;
    const start =
      since === undefined || since === '' || since === '0'
        ? { initial: this.backend.readAll(resource, opts.namespace) }
        : { since: this.hub.checkSince(since) };
    return this.hub.subscribe(resource, start, opts.namespace, handlers as WatchHandlers);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    while (this.batch) await this.batch.done.catch(() => {});
    this.closed = true;
    this.hub.closeAll();
    this.backend.close();
  }

  /** Runs one write's transaction inside the open batch (opening one, committed on the next turn). */
  private write<T>(fn: () => T): T {
    if (this.closed) throw new ApiError(500, 'InternalError', 'the store is closed');
    if (!this.batch) this.openBatch();
    return this.backend.transaction(fn);
  }

  private openBatch(): void {
    this.backend.begin();
    const events: { event: WatchEvent; rv: number; json?: string }[] = [];
    const done = new Promise<void>((resolve, reject) => {
      setImmediate(() => {
        this.batch = undefined;
        try {
          this.backend.commit();
        } catch (err) {
          this.backend.rollback();
          this.rv = this.backend.loadRv();
          reject(err as Error);
          return;
        }
        for (const e of events) this.hub.publish(e.event, e.rv, e.json);
        resolve();
      });
    });
    done.catch(() => {}); // each write awaits it and sees the failure
    this.batch = { done, events };
  }

  /** Resolves once the write's batch is durable; its event goes out then, in write order. */
  private committed(event: WatchEvent, rv: number, json?: string): Promise<void> {
    const batch = this.batch!;
    batch.events.push({ event, rv, json });
    return batch.done;
  }

  private nextRv(): number {
    this.rv += 1;
    this.backend.saveRv(this.rv);
    return this.rv;
  }
}
