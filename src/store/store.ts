// The Store seam: what the API server and the controllers need from persistence. Embedded Sluice
// uses SQLite (sqlite-backend.ts) or memory (memory-backend.ts); a Kubernetes-API-backed store
// implements the same interface, so nothing here mentions SQL or assumes the data is in-process:
// every call is async and can fail. Resources are addressed by a key from api/registry.ts
// resourceKey() (api/resources.ts R for the ones the controllers use); each resource is watched on
// its own and has its own resourceVersion sequence as far as callers can tell — compare
// resourceVersions only for equality, and only pass one back to the resource it came from.
// The contract is checked by test/contract/store.ts against every implementation.

import type { ObjectOf } from '../api/resources.js';
import type { KObject } from '../api/types.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface WatchEvent<T extends KObject = KObject> {
  type: WatchEventType;
  /** The key the watch was opened for. */
  resource: string;
  object: T;
}

export interface ListResult<T extends KObject = KObject> {
  items: T[];
  /** Pass to watch() to see exactly the changes after this list. */
  resourceVersion: string;
  /**
   * Set when the store honoured a ListPage: how many objects come after the last one returned.
   * Absent when it returned every object (a store may ignore the page).
   */
  remaining?: number;
}

/**
 * A hint that only part of a list is wanted: the objects after `after` (in namespace, name
 * order), at most `limit` of them. Lets a paged API list cost the page instead of the whole
 * resource; callers must still cope with a store that returns everything.
 */
export interface ListPage {
  after?: { namespace: string; name: string };
  limit: number;
}

export interface UpdateOptions {
  /** Only status changes are written (the /status subresource); spec and metadata are kept. */
  subresource?: 'status';
  /**
   * 'as-given': the object's metadata.managedFields are the ones to store, none if it has none (the
   * API server's writes, which track them). Otherwise an object without them keeps the stored ones,
   * as Kubernetes does for clients that leave them out.
   */
  managedFields?: 'as-given';
}

export interface WatchOptions {
  /**
   * Start after this resourceVersion (one from list() or from an object of this resource): the
   * changes since are replayed from a bounded history, then live ones follow. Absent (or "0"): the
   * current objects come first as ADDED events, then live ones — a list and a watch in one, as an
   * informer does it.
   */
  resourceVersion?: string;
  /** Only objects of this namespace. */
  namespace?: string;
}

export interface WatchHandlers<T extends KObject = KObject> {
  onEvent(e: WatchEvent<T>): void;
  /**
   * Called once, after the initial ADDED events (or the replay): from here on the watcher has seen
   * the whole current state (an informer's HasSynced).
   */
  onSynced?(): void;
  /**
   * The store ended the watch (history expired, connection lost beyond retrying, store closed).
   * No further events come; a watcher that needs to go on watches again without resourceVersion.
   */
  onClosed?(err?: Error): void;
}

export interface Store {
  get<K extends string>(resource: K, namespace: string | undefined, name: string): Promise<ObjectOf<K> | undefined>;
  /** Lists one namespace, or all namespaces when namespace is undefined; sorted by namespace, name. */
  list<K extends string>(resource: K, namespace?: string, page?: ListPage): Promise<ListResult<ObjectOf<K>>>;
  /** Assigns uid, creationTimestamp, resourceVersion and generation 1 (when it has a spec). Throws AlreadyExists (409). */
  create<K extends string>(resource: K, obj: KObject): Promise<ObjectOf<K>>;
  /**
   * Replaces an object. When obj.metadata.resourceVersion is set and stale, throws Conflict (409).
   * generation is bumped when spec changes; uid and creationTimestamp are kept. A write that changes
   * nothing keeps the resourceVersion and makes no watch event. Throws NotFound (404).
   */
  update<K extends string>(resource: K, obj: KObject, opts?: UpdateOptions): Promise<ObjectOf<K>>;
  /** Removes an object and returns it with the resourceVersion of its deletion. Throws NotFound (404). */
  delete<K extends string>(resource: K, namespace: string | undefined, name: string): Promise<ObjectOf<K>>;
  /**
   * Watches one resource. Resolves once the watch is established, with the function that stops it;
   * rejects with Gone (410, reason Expired) when opts.resourceVersion is older than the history
   * kept, and BadRequest (400) when it is not a resourceVersion at all.
   */
  watch<K extends string>(resource: K, opts: WatchOptions, handlers: WatchHandlers<ObjectOf<K>>): Promise<() => void>;
  /** Ends every watch (their onClosed is called) and releases the store. */
  close(): Promise<void>;
}
