// What DocumentStore needs from a place to keep objects: keyed rows and the resourceVersion
// counter, read and written synchronously inside one transaction, and batches of transactions
// made durable together. SQLite (sqlite-backend.ts) and
// memory (memory-backend.ts) implement it; Kubernetes semantics (identity, generation,
// conflicts, watch) live once, in document-store.ts.

import type { KObject } from '../api/types.js';
import type { ListPage } from './store.js';

export interface Backend {
  /** A fresh copy the caller may change, or undefined. */
  read(resource: string, namespace: string, name: string): KObject | undefined;
  /** Fresh copies, sorted by namespace then name. */
  readAll(resource: string, namespace?: string): KObject[];
  /** One page of readAll: the objects after page.after, at most page.limit, and how many follow them. */
  readPage(resource: string, namespace: string | undefined, page: ListPage): { items: KObject[]; remaining: number };
  /** Inserts or replaces; the backend keeps its own copy. `json` is obj serialized (JSON.stringify). */
  put(resource: string, namespace: string, name: string, rv: number, obj: KObject, json: string): void;
  remove(resource: string, namespace: string, name: string): void;
  /** The last resourceVersion handed out. */
  loadRv(): number;
  saveRv(rv: number): void;
  /** Runs fn atomically: all of its writes or none (inside a batch: a savepoint of it). */
  transaction<T>(fn: () => T): T;
  /**
   * A batch: writes from begin() to commit() become durable together, with one sync to disk
   * (group commit). rollback() drops them all.
   */
  begin(): void;
  commit(): void;
  rollback(): void;
  close(): void;
}
