// Objects kept in memory only, gone when the process ends: for tests of the controllers and for
// throwaway servers (`memory://`). Copies go in and out, so no caller can change a stored object.

import type { KObject } from '../api/types.js';
import type { Backend } from './backend.js';
import type { ListPage } from './store.js';

export class MemoryBackend implements Backend {
  /** resource → namespace → name → object */
  private readonly objects = new Map<string, Map<string, Map<string, KObject>>>();
  private rv = 0;

  read(resource: string, namespace: string, name: string): KObject | undefined {
    const o = this.objects.get(resource)?.get(namespace)?.get(name);
    return o === undefined ? undefined : structuredClone(o);
  }

  readAll(resource: string, namespace?: string): KObject[] {
    const byNs = this.objects.get(resource);
    if (!byNs) return [];
    const namespaces = namespace === undefined ? [...byNs.keys()].sort() : [namespace];
    const out: KObject[] = [];
    for (const ns of namespaces) {
      const byName = byNs.get(ns);
      if (!byName) continue;
      for (const name of [...byName.keys()].sort()) out.push(structuredClone(byName.get(name)!));
    }
    return out;
  }

  readPage(resource: string, namespace: string | undefined, page: ListPage): { items: KObject[]; remaining: number } {
    const from = page.after ? `${page.after.namespace}\u0000${page.after.name}` : undefined;
    const after = this.readAll(resource, namespace).filter(
      (o) => from === undefined || `${o.metadata.namespace ?? ''}\u0000${o.metadata.name ?? ''}` > from,
    );
    return { items: after.slice(0, page.limit), remaining: Math.max(0, after.length - page.limit) };
  }

  put(resource: string, namespace: string, name: string, _rv: number, obj: KObject): void {
    let byNs = this.objects.get(resource);
    if (!byNs) this.objects.set(resource, (byNs = new Map()));
    let byName = byNs.get(namespace);
    if (!byName) byNs.set(namespace, (byName = new Map()));
    byName.set(name, structuredClone(obj));
  }

  remove(resource: string, namespace: string, name: string): void {
    const byName = this.objects.get(resource)?.get(namespace);
    byName?.delete(name);
    if (byName?.size === 0) this.objects.get(resource)!.delete(namespace);
  }

  loadRv(): number {
    return this.rv;
  }

  saveRv(rv: number): void {
    this.rv = rv;
  }

  transaction<T>(fn: () => T): T {
    // Every write comes after every check in DocumentStore, so a throw leaves nothing half-done;
    // only the counter needs putting back.
    const rv = this.rv;
    try {
      return fn();
    } catch (err) {
      this.rv = rv;
      throw err;
    }
  }

  // Nothing to make durable: a batch is just its transactions.
  begin(): void {}
  commit(): void {}
  rollback(): void {}

  close(): void {
    this.objects.clear();
  }
}
