// An informer over the Store seam: one resource's objects kept in memory by a watch, with
// indexes, so controllers read without a store call and find related objects without a scan (as
// Knative's listers do). The watch starts with the current objects (ADDED), then `synced()`
// resolves; after that the cache is never older than the last event delivered. When the store
// ends the watch (history expired, connection lost), the cache watches again and replaces its
// contents, telling handlers about what changed meanwhile.
//
// Objects in the cache are shared: readers must not change them (spread into a new object). They
// come without metadata.managedFields (see withoutManagedFields).

import type { ObjectOf } from '../api/resources.js';
import type { KObject } from '../api/types.js';
import { sharedStrings } from './intern.js';
import type { Store, WatchEvent } from './store.js';

/** The values an object is filed under in one index; an object may be under several or none. */
export type IndexFunc = (obj: KObject) => string[];

export interface CacheEvent<T extends KObject> {
  type: WatchEvent['type'];
  object: T;
  /** The object before a MODIFIED event. */
  old?: T;
}

const keyOf = (ns: string | undefined, name: string | undefined) => `${ns ?? ''}/${name ?? ''}`;

/** Index by the uid of the controlling owner (Knative's FilterController / owner lookups). */
export const byOwner: IndexFunc = (o) => (o.metadata.ownerReferences ?? []).filter((r) => r.controller).map((r) => r.uid);

/** Index by one label's value, within the namespace: find with `${namespace}/${value}`. */
export const byLabel =
  (label: string): IndexFunc =>
  (o) => {
    const v = o.metadata.labels?.[label];
    return v === undefined ? [] : [keyOf(o.metadata.namespace, v)];
  };

/**
 * The object without metadata.managedFields, which no controller reads (client-go's informers drop
 * them the same way, TransformStripManagedFields): they were 38% of a cached Service. A copy, since
 * the event's object is shared with the other watchers. Writing a cached object back keeps the
 * stored managedFields (the store's update, like Kubernetes', keeps them when they are omitted).
 */
function withoutManagedFields<T extends KObject>(o: T): T {
  if (o.metadata.managedFields === undefined) return o;
  const { managedFields: _, ...metadata } = o.metadata;
  return { ...o, metadata };
}

export class Cache<K extends string, T extends KObject = ObjectOf<K>> {
  private readonly items = new Map<string, T>();
  private readonly indexers = new Map<string, IndexFunc>();
  /**
   * index → value → the keys filed under it: one key as a plain string (most values: an owner's
   * uid, a service label), a Set only once there are several (a Set per object was most of the
   * indexes' memory).
   */
  private readonly indexes = new Map<string, Map<string, string | Set<string>>>();
  private readonly handlers = new Set<(e: CacheEvent<T>) => void>();
  private stopWatch?: () => void;
  private stopped = false;
  private syncedPromise?: Promise<void>;
  /** Set while rewatching after the store ended a watch: the objects seen again so far. */
  private relisting?: Set<string>;

  constructor(
    private readonly store: Store,
    readonly resource: K,
    indexes: Record<string, IndexFunc> = {},
    private readonly log: (msg: string) => void = () => {},
  ) {
    this.indexers.set('namespace', (o) => [o.metadata.namespace ?? '']);
    for (const [name, fn] of Object.entries(indexes)) this.indexers.set(name, fn);
    for (const name of this.indexers.keys()) this.indexes.set(name, new Map());
  }

  /** Starts watching; resolves once the cache holds every current object. */
  synced(): Promise<void> {
    this.syncedPromise ??= this.watch();
    return this.syncedPromise;
  }

  stop(): void {
    this.stopped = true;
    this.stopWatch?.();
    this.handlers.clear();
  }

  /** Every later change, in order. */
  onChange(handler: (e: CacheEvent<T>) => void): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.items.get(keyOf(namespace, name));
  }

  /** Every object, or one namespace's (in no particular order). */
  list(namespace?: string): T[] {
    return namespace === undefined ? [...this.items.values()] : this.byIndex('namespace', namespace);
  }

  byIndex(index: string, value: string): T[] {
    const keys = this.indexes.get(index)?.get(value);
    if (keys === undefined) return [];
    if (typeof keys === 'string') return [this.items.get(keys)!];
    const out: T[] = [];
    for (const k of keys) out.push(this.items.get(k)!);
    return out;
  }

  /** The values some object is filed under in an index. */
  indexValues(index: string): string[] {
    return [...(this.indexes.get(index)?.keys() ?? [])];
  }

  get size(): number {
    return this.items.size;
  }

  private watch(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const opened = this.store.watch(
        this.resource,
        {},
        {
          onEvent: (e) => this.apply(e as unknown as WatchEvent<T>),
          onSynced: () => {
            this.finishRelist();
            resolve();
          },
          onClosed: (err) => {
            if (this.stopped) return;
            this.log(`cache ${this.resource}: watch ended (${err?.message ?? 'closed'}); watching again`);
            this.relisting = new Set();
            this.stopWatch = undefined;
            void this.watch().catch((e: Error) => this.log(`cache ${this.resource}: ${e.message}`));
          },
        },
      );
      opened.then((stop) => {
        if (this.stopped) stop();
        else this.stopWatch = stop;
      }, reject);
    });
  }

  private apply(e: WatchEvent<T>): void {
    const o = withoutManagedFields(e.object);
    const k = keyOf(o.metadata.namespace, o.metadata.name);
    const old = this.items.get(k);
    if (e.type === 'DELETED') {
      if (!old) return;
      this.unindex(k, old);
      this.items.delete(k);
      this.emit({ type: 'DELETED', object: o });
      return;
    }
    this.relisting?.add(k);
    if (old) {
      if (old.metadata.resourceVersion === o.metadata.resourceVersion) return;
      this.unindex(k, old);
    }
    // Kept until the next version, so its strings are shared with every other cached object.
    sharedStrings.internAll(o);
    this.items.set(k, o);
    this.index(k, o);
    this.emit(old ? { type: 'MODIFIED', object: o, old } : { type: 'ADDED', object: o });
  }

  /** After a rewatch: whatever did not come back was deleted while the watch was down. */
  private finishRelist(): void {
    const seen = this.relisting;
    this.relisting = undefined;
    if (!seen) return;
    for (const [k, o] of [...this.items]) {
      if (seen.has(k)) continue;
      this.unindex(k, o);
      this.items.delete(k);
      this.emit({ type: 'DELETED', object: o });
    }
  }

  private index(k: string, o: T): void {
    for (const [name, fn] of this.indexers) {
      const idx = this.indexes.get(name)!;
      for (const v of fn(o)) {
        const cur = idx.get(v);
        if (cur === undefined) idx.set(v, k);
        else if (typeof cur !== 'string') cur.add(k);
        else if (cur !== k) idx.set(v, new Set([cur, k]));
      }
    }
  }

  private unindex(k: string, o: T): void {
    for (const [name, fn] of this.indexers) {
      const idx = this.indexes.get(name)!;
      for (const v of fn(o)) {
        const cur = idx.get(v);
        if (cur === k) idx.delete(v);
        else if (cur !== undefined && typeof cur !== 'string') {
          cur.delete(k);
          if (cur.size === 1) idx.set(v, cur.values().next().value!);
        }
      }
    }
  }

  private emit(e: CacheEvent<T>): void {
    for (const h of this.handlers) {
      try {
        h(e);
      } catch (err) {
        this.log(`cache ${this.resource}: handler failed: ${(err as Error).message}`);
      }
    }
  }
}
