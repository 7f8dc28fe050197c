// metadata.managedFields, kept as Kubernetes keeps them: one entry per field manager and
// operation ("Apply" for server-side apply, "Update" for create/update/patch), each listing the
// fields that manager owns (FieldsV1). Server-side apply merges the applied configuration into
// the live object, refuses with 409 Conflict a change to a field another manager owns (unless
// forced, which moves ownership), and removes a field the applier stopped applying when no other
// manager owns it. An update takes ownership of every field it changes. Pure functions, no I/O;
// the caller passes the clock.

import { isDeepStrictEqual } from 'node:util';
import { ApiError, badRequest } from '../../api/errors.js';
import type { KObject } from '../../api/types.js';
import { fieldsOf, fromFieldsV1, mergeApplied, pathString, removeAt, toFieldsV1, valueAt, type FieldSet, type Path } from './fieldset.js';

export interface ManagedFieldsEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time?: string;
  fieldsType: 'FieldsV1';
  fieldsV1: Record<string, unknown>;
  subresource?: string;
}

export interface ManagerOptions {
  manager: string;
  /** The API version of the request (entries remember it). */
  apiVersion: string;
  /** "status" for the status subresource. */
  subresource?: string;
  /** The kind has a status subresource, so status is not part of the main resource's fields. */
  hasStatus: boolean;
  now: number;
}

interface Owned {
  entry: ManagedFieldsEntry;
  set: FieldSet;
}

/** Metadata the server owns: never tracked (as Kubernetes strips them). */
const IGNORED_META = [
  'name',
  'namespace',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'selfLink',
  'managedFields',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
];
const MAX_MANAGER_LENGTH = 128;

const rfc3339 = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

/** The fields of `obj` that ownership covers, for the main resource or the status subresource. */
export function trackedFields(obj: KObject, o: Pick<ManagerOptions, 'subresource' | 'hasStatus'>): FieldSet {
  const view: Record<string, unknown> = { ...obj, metadata: { ...obj.metadata } };
  delete view.apiVersion;
  delete view.kind;
  const meta = view.metadata as Record<string, unknown>;
  for (const f of IGNORED_META) delete meta[f];
  if (Object.keys(meta).length === 0) delete view.metadata;
  if (o.subresource === 'status') return fieldsOf({ status: view.status });
  if (o.hasStatus) delete view.status;
  return fieldsOf(view);
}

/** The manager of a request: fieldManager, else the user agent up to its first "/" (as Kubernetes). */
export function managerFor(query: URLSearchParams, userAgent: string | undefined, apply: boolean): string {
  const given = query.get('fieldManager');
  if (given !== null && given !== '') {
    if (given.length > MAX_MANAGER_LENGTH) {
      throw invalidOptions(`fieldManager: Too long: may not be more than ${MAX_MANAGER_LENGTH} bytes`);
    }
    if (!/^[\x20-\x7e]+$/.test(given))
      throw invalidOptions(`fieldManager: Invalid value: "${given}": must be made of printable characters`);
    return given;
  }
  if (apply) throw invalidOptions('fieldManager: Required value: is required for apply patch');
  const fromAgent = (userAgent ?? '').split('/')[0].trim().slice(0, MAX_MANAGER_LENGTH);
  return fromAgent || 'unknown';
}

function invalidOptions(message: string): ApiError {
  return new ApiError(422, 'Invalid', `PatchOptions.meta.k8s.io "" is invalid: ${message}`, { kind: 'PatchOptions', group: 'meta.k8s.io' });
}

export function parseForce(v: string | null, apply: boolean): boolean {
  if (v === null || v === '' || v === 'false') return false;
  if (v !== 'true') throw badRequest(`force: Invalid value: "${v}": must be true or false`);
  if (!apply) throw invalidOptions('force: Forbidden: may not be specified for non-apply patch');
  return true;
}

function ownedOf(obj: KObject | undefined): Owned[] {
  const raw = obj?.metadata.managedFields;
  if (!Array.isArray(raw)) return [];
  return raw
    .filter((e): e is ManagedFieldsEntry => typeof e === 'object' && e !== null && typeof (e as ManagedFieldsEntry).manager === 'string')
    .map((entry) => ({ entry, set: fromFieldsV1(entry.fieldsV1) }));
}

/** Apply entries are one per manager; Update entries one per manager and API version. */
const sameSlot = (e: ManagedFieldsEntry, manager: string, operation: string, apiVersion: string, subresource?: string) =>
  e.manager === manager &&
  e.operation === operation &&
  (e.subresource ?? '') === (subresource ?? '') &&
  (operation === 'Apply' || e.apiVersion === apiVersion);

function entriesOf(owned: Owned[]): ManagedFieldsEntry[] {
  return owned.filter((o) => o.set.size > 0).map((o) => ({ ...o.entry, fieldsV1: toFieldsV1(o.set) }));
}

const parse = (s: string) => JSON.parse(s) as Path;
/** A member whose value is compared: a leaf, not the item of a keyed or set list itself. */
const isLeaf = (p: Path) => p.length > 0 && p[p.length - 1].startsWith('f:');

/**
 * Records an update (create, PUT, merge/JSON/strategic patch) by `o.manager`: it owns every field
 * it added or changed; fields it removed are no longer owned by anyone. `next` is changed in place.
 */
export function trackUpdate(old: KObject | undefined, next: KObject, o: ManagerOptions): void {
  const given = next.metadata.managedFields;
  const oldEntries = old?.metadata.managedFields;
  // A client that writes managedFields itself (e.g. [] to reset them) is taken at its word.
  const owned = Array.isArray(given) && !isDeepStrictEqual(given, oldEntries) ? ownedOf(next) : ownedOf(old);
  if (Array.isArray(given) && given.length === 0 && !isDeepStrictEqual(given, oldEntries)) {
    delete next.metadata.managedFields;
    return;
  }
  const before = old ? trackedFields(old, o) : new Set<string>();
  const after = trackedFields(next, o);
  const changed = [...after].filter(
    (p) => !before.has(p) || (isLeaf(parse(p)) && !isDeepStrictEqual(valueAt(old, parse(p)), valueAt(next, parse(p)))),
  );
  const removed = [...before].filter((p) => !after.has(p));
  for (const ow of owned) {
    if ((ow.entry.subresource ?? '') !== (o.subresource ?? '')) continue;
    for (const p of [...changed, ...removed]) ow.set.delete(p);
  }
  if (changed.length) {
    let mine = owned.find((ow) => sameSlot(ow.entry, o.manager, 'Update', o.apiVersion, o.subresource));
    if (!mine) {
      mine = {
        entry: {
          manager: o.manager,
          operation: 'Update',
          apiVersion: o.apiVersion,
          fieldsType: 'FieldsV1',
          fieldsV1: {},
          ...(o.subresource ? { subresource: o.subresource } : {}),
        },
        set: new Set(),
      };
      owned.push(mine);
    }
    for (const p of changed) mine.set.add(p);
    mine.entry = { ...mine.entry, time: rfc3339(o.now) };
  }
  const entries = entriesOf(owned);
  if (entries.length) next.metadata.managedFields = entries;
  else delete next.metadata.managedFields;
}

/** How Kubernetes names a manager in a conflict: `"kubectl-client-side-apply" using v1` for updates. */
function managerText(e: ManagedFieldsEntry): string {
  let s = JSON.stringify(e.manager);
  if (e.subresource) s += ` with subresource ${JSON.stringify(e.subresource)}`;
  return e.operation === 'Update' ? `${s} using ${e.apiVersion}` : s;
}

export function conflictError(conflicts: { manager: string; path: string }[]): ApiError {
  const causes = conflicts.map((c) => ({ reason: 'FieldManagerConflict', message: `conflict with ${c.manager}`, field: c.path }));
  let message: string;
  if (conflicts.length === 1) {
    message = `Apply failed with 1 conflict: conflict with ${conflicts[0].manager}: ${conflicts[0].path}`;
  } else {
    const byManager = new Map<string, string[]>();
    for (const c of conflicts) byManager.set(c.manager, [...(byManager.get(c.manager) ?? []), c.path]);
    const lines: string[] = [];
    for (const m of [...byManager.keys()].sort()) {
      lines.push(`conflicts with ${m}:`);
      for (const p of byManager.get(m)!) lines.push(`- ${p}`);
    }
    message = `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`;
  }
  return new ApiError(409, 'Conflict', message, { causes });
}

/**
 * Server-side apply of `config` by `o.manager` onto `live` (undefined: the object is created).
 * Returns the merged object with its managedFields; throws 409 on conflicts unless `force`.
 */
export function serverSideApply(live: KObject | undefined, config: KObject, o: ManagerOptions & { force: boolean }): KObject {
  if (config.metadata?.managedFields !== undefined) throw badRequest('metadata.managedFields must be nil');
  const owned = ownedOf(live);
  const cfgSet = trackedFields(config, o);
  const isMine = (ow: Owned) => sameSlot(ow.entry, o.manager, 'Apply', o.apiVersion, o.subresource);
  const others = owned.filter((ow) => !isMine(ow) && (ow.entry.subresource ?? '') === (o.subresource ?? ''));

  const conflicts: { manager: string; path: string; owner: Owned; member: string }[] = [];
  for (const ow of others) {
    for (const member of cfgSet) {
      if (!ow.set.has(member)) continue;
      const p = parse(member);
      if (isLeaf(p) && !isDeepStrictEqual(valueAt(live, p), valueAt(config, p))) {
        conflicts.push({ manager: managerText(ow.entry), path: pathString(p), owner: ow, member });
      }
    }
  }
  if (conflicts.length && !o.force) throw conflictError(conflicts);
  for (const c of conflicts) c.owner.set.delete(c.member);

  // Status is the status subresource's; an apply to the main resource leaves it alone.
  const applied: KObject = { ...config };
  if (o.subresource !== 'status' && o.hasStatus) delete applied.status;
  const merged = (live ? mergeApplied(live, applied) : structuredClone(applied)) as KObject;
  if (!merged.metadata) merged.metadata = {};

  // Fields this manager applied last time but not now are removed unless someone else owns them.
  const mine = owned.find(isMine);
  const dropped = [...(mine?.set ?? [])].filter((m) => !cfgSet.has(m)).map(parse);
  dropped.sort((a, b) => b.length - a.length);
  const ownedByOthers = (m: string) => others.some((ow) => ow.set.has(m));
  for (const p of dropped) {
    if (ownedByOthers(JSON.stringify(p))) continue;
    if (!removeAt(merged, p)) continue;
    // A map left empty by the removal goes too, unless it is itself owned or applied.
    for (let parent = p.slice(0, -1); parent.length > 1; parent = parent.slice(0, -1)) {
      const v = valueAt(merged, parent);
      const key = JSON.stringify(parent);
      if (!(typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0)) break;
      if (cfgSet.has(key) || ownedByOthers(key)) break;
      removeAt(merged, parent);
    }
  }

  const entry: ManagedFieldsEntry = {
    manager: o.manager,
    operation: 'Apply',
    apiVersion: o.apiVersion,
    time: rfc3339(o.now),
    fieldsType: 'FieldsV1',
    fieldsV1: {},
    ...(o.subresource ? { subresource: o.subresource } : {}),
  };
  const next: Owned[] = owned.filter((ow) => !isMine(ow));
  next.push({ entry, set: cfgSet });
  const entries = entriesOf(next);
  if (entries.length) merged.metadata.managedFields = entries;
  else delete merged.metadata.managedFields;
  return merged;
}
