// The Store seam: what the API server and the controllers need from persistence. The embedded
// implementation is SQLite (sqlite-store.ts); a Kubernetes-API-backed one can replace it later, so
// nothing here mentions SQL. Resources are addressed by a key from api/registry.ts resourceKey().

import type { KObject } from '../api/types.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface WatchEvent {
  type: WatchEventType;
  resource: string; // registry resourceKey(), e.g. "serving.knative.dev/services"
  object: KObject;
}

export interface ListResult {
  items: KObject[];
  resourceVersion: string;
}

export interface UpdateOptions {
  /** Only status changes are written (the /status subresource); spec and metadata are kept. */
  subresource?: 'status';
}

export interface Store {
  get(resource: string, namespace: string | undefined, name: string): Promise<KObject | undefined>;
  /** Lists one namespace, or all namespaces when namespace is undefined. */
  list(resource: string, namespace?: string): Promise<ListResult>;
  /** Assigns uid, creationTimestamp, resourceVersion and generation 1. Throws AlreadyExists. */
  create(resource: string, obj: KObject): Promise<KObject>;
  /**
   * Replaces an object. When obj.metadata.resourceVersion is set and stale, throws Conflict.
   * generation is bumped when spec changes; uid and creationTimestamp are kept.
   */
  update(resource: string, obj: KObject, opts?: UpdateOptions): Promise<KObject>;
  delete(resource: string, namespace: string | undefined, name: string): Promise<KObject>;
  /**
   * Events after `sinceResourceVersion` (replayed from a bounded history; throws Gone when that is
   * too old), then live ones. resource '*' watches everything. Returns a function that stops it.
   */
  watch(resource: string | '*', sinceResourceVersion: string | undefined, onEvent: (e: WatchEvent) => void): () => void;
  /** The newest resourceVersion handed out. */
  currentResourceVersion(): string;
  close(): void;
}
