// The ConfigMaps and Secrets an embedded runtime reads (env references, volumes): two caches kept
// by a watch each, offered through the runtime's ConfigSource seam, so an instance start reads
// them without a store call and a change reaches the instances that use the object.

import { R } from '../api/resources.js';
import { configDataOf, type ConfigKind, type ConfigSource } from '../runtime/config-refs.js';
import { Cache } from '../store/cache.js';
import type { Store } from '../store/store.js';

export class StoreConfigSource implements ConfigSource {
  private readonly caches: Record<ConfigKind, Cache<string>>;

  constructor(store: Store, log: (msg: string) => void = () => {}) {
    this.caches = { ConfigMap: new Cache(store, R.configmaps, {}, log), Secret: new Cache(store, R.secrets, {}, log) };
  }

  /** Resolves once both caches hold the current objects. */
  async synced(): Promise<void> {
    await Promise.all([this.caches.ConfigMap.synced(), this.caches.Secret.synced()]);
  }

  stop(): void {
    this.caches.ConfigMap.stop();
    this.caches.Secret.stop();
  }

  get(kind: ConfigKind, namespace: string, name: string) {
    const o = this.caches[kind].get(namespace, name);
    return o ? configDataOf(kind, o as { data?: unknown; binaryData?: unknown }) : undefined;
  }

  onChange(listener: (kind: ConfigKind, namespace: string, name: string) => void): () => void {
    const stops = (['ConfigMap', 'Secret'] as const).map((kind) =>
      this.caches[kind].onChange((e) => listener(kind, e.object.metadata.namespace ?? '', e.object.metadata.name ?? '')),
    );
    return () => stops.forEach((s) => s());
  }
}
