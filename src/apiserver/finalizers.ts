// Deletion as Kubernetes does it: an object with finalizers is only marked (deletionTimestamp,
// deletionGracePeriodSeconds 0) and removed once an update clears its last finalizer; while it is
// being deleted no finalizer may be added and deletionTimestamp cannot be changed. Cascading along
// ownerReferences (the garbage collector's job) honours the propagation policy:
//   Background (default)  the owner goes at once, then its dependents
//   Foreground            the owner is marked with the foregroundDeletion finalizer, its dependents
//                         are deleted, and it goes when no dependent with blockOwnerDeletion is left
//   Orphan                the dependents stay, with the ownerReference to the owner removed
// Runs inside the API request that caused it, so a client that reads after its delete sees the
// cascade done (or held by a finalizer).

import { ApiError } from '../api/errors.js';
import { KINDS, kindByKind, resourceKey } from '../api/registry.js';
import type { KObject } from '../api/types.js';
import type { Store } from '../store/store.js';

export type PropagationPolicy = 'Background' | 'Foreground' | 'Orphan';

export const FOREGROUND_FINALIZER = 'foregroundDeletion';

export interface GcContext {
  store: Store;
  /** Cascade along ownerReferences at all (ApiServerOptions.garbageCollect). */
  garbageCollect: boolean;
  now?: () => number;
}

const rfc3339 = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
const ignoreNotFound = (e: unknown) => {
  if (!(e instanceof ApiError && e.code === 404)) throw e;
};

/** Storage keys of the namespaced kinds, once each (a view like events.k8s.io shares its key). */
function namespacedKeys(): string[] {
  return [...new Set(KINDS.filter((k) => k.namespaced).map(resourceKey))];
}

/** The storage key of the kind an ownerReference names, if Sluice serves it. */
function keyOfReference(ref: { apiVersion: string; kind: string }): string | undefined {
  const group = ref.apiVersion.includes('/') ? ref.apiVersion.split('/')[0] : '';
  const k = kindByKind(ref.kind, group);
  return k ? resourceKey(k) : undefined;
}

async function dependentsOf(store: Store, owner: KObject): Promise<{ key: string; obj: KObject }[]> {
  const uid = owner.metadata.uid;
  if (!uid) return [];
  const out: { key: string; obj: KObject }[] = [];
  for (const key of namespacedKeys()) {
    const { items } = await store.list(key, owner.metadata.namespace);
    for (const o of items) if (o.metadata.ownerReferences?.some((r) => r.uid === uid)) out.push({ key, obj: o });
  }
  return out;
}

/**
 * Checks an update against the deletion rules and carries the deletion marks over: they are set
 * by deletes, never by updates.
 */
export function checkUpdate(kindName: string, old: KObject, next: KObject): void {
  const meta = next.metadata;
  if (old.metadata.deletionTimestamp === undefined) {
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    return;
  }
  meta.deletionTimestamp = old.metadata.deletionTimestamp;
  meta.deletionGracePeriodSeconds = old.metadata.deletionGracePeriodSeconds;
  const before = new Set(old.metadata.finalizers ?? []);
  const added = (meta.finalizers ?? []).filter((f) => !before.has(f));
  if (added.length) {
    throw new ApiError(
      422,
      'Invalid',
      `${kindName} "${meta.name ?? ''}" is invalid: metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{${added.map((f) => JSON.stringify(f)).join(', ')}}`,
      {
        name: meta.name,
        causes: [
          {
            reason: 'FieldValueForbidden',
            message: 'no new finalizers can be added if the object is being deleted',
            field: 'metadata.finalizers',
          },
        ],
      },
    );
  }
}

/**
 * Deletes `obj` (stored under `key`) with the given policy. Returns the object as it ends up:
 * removed (`removed: true`, with its deletion resourceVersion) or marked for deletion.
 */
export async function deleteWithPolicy(
  gc: GcContext,
  key: string,
  obj: KObject,
  policy: PropagationPolicy = 'Background',
): Promise<{ obj: KObject; removed: boolean }> {
  const { store } = gc;
  if (obj.metadata.deletionTimestamp) return { obj, removed: false };
  const cascade = gc.garbageCollect;
  if (cascade && policy === 'Orphan') await orphanDependents(store, obj);
  const finalizers = [...(obj.metadata.finalizers ?? [])];
  if (cascade && policy === 'Foreground' && !finalizers.includes(FOREGROUND_FINALIZER)) finalizers.push(FOREGROUND_FINALIZER);
  if (finalizers.length) {
    const marked = await store.update(key, {
      ...obj,
      metadata: {
        ...obj.metadata,
        finalizers,
        deletionTimestamp: rfc3339((gc.now ?? Date.now)()),
        deletionGracePeriodSeconds: 0,
      },
    });
    if (cascade && policy === 'Foreground') {
      for (const d of await dependentsOf(store, marked)) {
        await deleteWithPolicy(gc, d.key, d.obj, 'Foreground').catch(ignoreNotFound);
      }
      return settleForeground(gc, key, marked);
    }
    return { obj: marked, removed: false };
  }
  return { obj: await removeNow(gc, key, obj, policy), removed: true };
}

/** Removes an object without finalizers, cascades to its dependents, and releases waiting owners. */
async function removeNow(gc: GcContext, key: string, obj: KObject, policy: PropagationPolicy): Promise<KObject> {
  const gone = await gc.store.delete(key, obj.metadata.namespace, obj.metadata.name!);
  if (gc.garbageCollect && policy !== 'Orphan') {
    for (const d of await dependentsOf(gc.store, gone)) {
      await deleteWithPolicy(gc, d.key, d.obj, 'Background').catch(ignoreNotFound);
    }
  }
  if (gc.garbageCollect) await releaseOwners(gc, gone);
  return gone;
}

/** A marked owner in foreground deletion goes once no blocking dependent is left. */
async function settleForeground(gc: GcContext, key: string, owner: KObject): Promise<{ obj: KObject; removed: boolean }> {
  const current = await gc.store.get(key, owner.metadata.namespace, owner.metadata.name!);
  if (!current || current.metadata.uid !== owner.metadata.uid) return { obj: owner, removed: true };
  if (!current.metadata.finalizers?.includes(FOREGROUND_FINALIZER)) return { obj: current, removed: false };
  const blocking = (await dependentsOf(gc.store, current)).filter((d) =>
    d.obj.metadata.ownerReferences?.some((r) => r.uid === current.metadata.uid && r.blockOwnerDeletion),
  );
  if (blocking.length) return { obj: current, removed: false };
  const finalizers = current.metadata.finalizers.filter((f) => f !== FOREGROUND_FINALIZER);
  const updated = await gc.store.update(key, { ...current, metadata: { ...current.metadata, finalizers } });
  if (finalizers.length) return { obj: updated, removed: false };
  return { obj: await removeNow(gc, key, updated, 'Background'), removed: true };
}

/** After `gone` left the store, owners waiting for it in foreground deletion may go too. */
async function releaseOwners(gc: GcContext, gone: KObject): Promise<void> {
  for (const ref of gone.metadata.ownerReferences ?? []) {
    const key = keyOfReference(ref);
    if (!key) continue;
    const owner = await gc.store.get(key, gone.metadata.namespace, ref.name);
    if (owner && owner.metadata.uid === ref.uid && owner.metadata.deletionTimestamp)
      await settleForeground(gc, key, owner).catch(ignoreNotFound);
  }
}

async function orphanDependents(store: Store, owner: KObject): Promise<void> {
  for (const d of await dependentsOf(store, owner)) {
    const ownerReferences = d.obj.metadata.ownerReferences!.filter((r) => r.uid !== owner.metadata.uid);
    const meta: KObject['metadata'] = { ...d.obj.metadata, ownerReferences };
    if (ownerReferences.length === 0) delete meta.ownerReferences;
    await store.update(d.key, { ...d.obj, metadata: meta }).catch(ignoreNotFound);
  }
}

/**
 * After an update: an object being deleted whose last finalizer was just cleared is removed
 * (and what waited for it follows). Returns whether it was removed.
 */
export async function afterUpdate(gc: GcContext, key: string, written: KObject): Promise<boolean> {
  if (!written.metadata.deletionTimestamp || (written.metadata.finalizers?.length ?? 0) > 0) return false;
  await removeNow(gc, key, written, 'Background').catch(ignoreNotFound);
  return true;
}
