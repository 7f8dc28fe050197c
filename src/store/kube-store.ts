// KubeStore: the Store seam over a Kubernetes API server, so the same controllers that run on
// SQLite reconcile CRDs on a cluster. Writes and reads are REST calls (reads are consistent, so a
// controller sees its own writes; a cache in front of reads is not there yet); every watch is a
// Reflector of src/kube: without a resourceVersion it lists and then watches (relisting on 410 and
// reporting the difference as events), from a resourceVersion it watches from there and ends with
// onClosed when the server no longer has that history. Namespaced kinds need their namespace to
// exist on a cluster; KubeStore creates a missing one on the first create into it, as the
// embedded API server does.

import { ApiError, notFound } from '../api/errors.js';
import type { ObjectOf } from '../api/resources.js';
import type { KObject } from '../api/types.js';
import { isAlreadyExists, isConflict, type KubeClient } from '../kube/client.js';
import { Informer, Reflector } from '../kube/reflector.js';
import { T, typeForKey, type ResourceType } from '../kube/resources.js';
import type { ListResult, Store, UpdateOptions, WatchHandlers, WatchOptions } from './store.js';

/**
 * kube-apiserver answers a watch from a resourceVersion that is not one with 500 and
 * `resourceVersion: Invalid value: ...`; to the Store's callers that is a bad request (400).
 */
function asBadRequest(err: Error): Error {
  if (err instanceof ApiError && err.code >= 500 && /^resourceVersion: Invalid value/.test(err.message)) {
    return new ApiError(400, 'BadRequest', err.message);
  }
  return err;
}

export class KubeStore implements Store {
  /** Open watches → what tells their watcher the store ended them. */
  private readonly stoppers = new Map<() => void, ((err?: Error) => void) | undefined>();
  private readonly knownNamespaces = new Set<string>();

  constructor(private readonly client: KubeClient) {}

  private type(resource: string): ResourceType {
    const t = typeForKey(resource);
    if (!t) throw new ApiError(404, 'NotFound', `the server could not find the requested resource (${resource})`);
    return t;
  }

  async get<K extends string>(resource: K, namespace: string | undefined, name: string): Promise<ObjectOf<K> | undefined> {
    return (await this.client.get(this.type(resource), namespace, name)) as ObjectOf<K> | undefined;
  }

  async list<K extends string>(resource: K, namespace?: string): Promise<ListResult<ObjectOf<K>>> {
    const t = this.type(resource);
    const items: KObject[] = [];
    let cont: string | undefined;
    let resourceVersion = '';
    do {
      const page = await this.client.list(t, { namespace, limit: 500, continue: cont });
      items.push(...page.items);
      resourceVersion ||= page.resourceVersion;
      cont = page.continue;
    } while (cont);
    // etcd orders by key ("ns-other/a" before "ns/a"); the Store promises namespace, then name.
    const key = (o: KObject) => [o.metadata.namespace ?? '', o.metadata.name ?? ''] as const;
    items.sort((a, b) => {
      const [an, aa] = key(a);
      const [bn, bb] = key(b);
      return an < bn ? -1 : an > bn ? 1 : aa < bb ? -1 : aa > bb ? 1 : 0;
    });
    return { items: items as ObjectOf<K>[], resourceVersion };
  }

  private async ensureNamespace(ns: string | undefined): Promise<void> {
    if (!ns || this.knownNamespaces.has(ns)) return;
    if (!(await this.client.get(T.namespaces, undefined, ns))) {
      try {
        await this.client.create(T.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
      } catch (e) {
        if (!isAlreadyExists(e)) throw e;
      }
    }
    this.knownNamespaces.add(ns);
  }

  async create<K extends string>(resource: K, obj: KObject): Promise<ObjectOf<K>> {
    const t = this.type(resource);
    if (t.namespaced) await this.ensureNamespace(obj.metadata.namespace);
    return (await this.client.create(t, obj)) as ObjectOf<K>;
  }

  async update<K extends string>(resource: K, obj: KObject, opts: UpdateOptions = {}): Promise<ObjectOf<K>> {
    const t = this.type(resource);
    const write = (o: KObject) => (opts.subresource === 'status' ? this.client.updateStatus(t, o) : this.client.update(t, o));
    if (obj.metadata.resourceVersion) return (await write(obj)) as ObjectOf<K>;
    // Without a resourceVersion the write is unconditional (custom resources demand one on PUT).
    for (let attempt = 0; ; attempt++) {
      const current = await this.client.get(t, obj.metadata.namespace, obj.metadata.name!);
      if (!current) throw notFound(t.plural, obj.metadata.name!, t.group);
      try {
        return (await write({ ...obj, metadata: { ...obj.metadata, resourceVersion: current.metadata.resourceVersion } })) as ObjectOf<K>;
      } catch (e) {
        if (!isConflict(e) || attempt >= 4) throw e;
      }
    }
  }

  async delete<K extends string>(resource: K, namespace: string | undefined, name: string): Promise<ObjectOf<K>> {
    const t = this.type(resource);
    const before = await this.client.get(t, namespace, name);
    if (!before) throw notFound(t.plural, name, t.group);
    const res = await this.client.delete(t, namespace, name, { propagationPolicy: 'Background' });
    // Some kinds answer a delete with a Status, others with the object as deleted.
    return (res && res.kind !== 'Status' ? res : before) as ObjectOf<K>;
  }

  async watch<K extends string>(resource: K, opts: WatchOptions, handlers: WatchHandlers<ObjectOf<K>>): Promise<() => void> {
    const t = this.type(resource);
    const emit = (type: 'ADDED' | 'MODIFIED' | 'DELETED', object: KObject) =>
      handlers.onEvent({ type, resource, object: object as ObjectOf<K> });
    const from = opts.resourceVersion && opts.resourceVersion !== '0' ? opts.resourceVersion : undefined;
    let stop: () => Promise<void>;
    if (!from) {
      // List, then watch: the informer's cache turns a relist after 410 into the events it implies.
      const informer = new Informer(this.client, t, { namespace: opts.namespace });
      informer.on({ add: (o) => emit('ADDED', o), update: (_old, o) => emit('MODIFIED', o), delete: (o) => emit('DELETED', o) }, false);
      informer.start();
      await informer.synced();
      handlers.onSynced?.();
      stop = () => informer.stop();
    } else {
      let opened!: () => void;
      let failed!: (e: Error) => void;
      const first = new Promise<void>((resolve, reject) => {
        opened = resolve;
        failed = reject;
      });
      let isOpen = false;
      const reflector = new Reflector(
        this.client,
        t,
        { replace: () => {}, event: emit },
        {
          namespace: opts.namespace,
          startAt: from,
          onWatchOpen: () => {
            if (!isOpen) {
              isOpen = true;
              opened();
            }
          },
          onEnded: (err) => {
            if (!isOpen) failed(asBadRequest(err));
            else {
              this.stoppers.delete(stopper);
              handlers.onClosed?.(err);
            }
          },
        },
      );
      reflector.start();
      await first;
      handlers.onSynced?.();
      stop = () => reflector.stop();
    }
    const stopper = () => {
      this.stoppers.delete(stopper);
      void stop();
    };
    this.stoppers.set(stopper, handlers.onClosed);
    return stopper;
  }

  async close(): Promise<void> {
    for (const [stop, onClosed] of [...this.stoppers]) {
      stop();
      onClosed?.();
    }
  }
}
