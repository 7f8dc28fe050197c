// Field sets, the unit of ownership in server-side apply, with Kubernetes' FieldsV1 encoding:
// a path is a list of elements "f:name" (a map field), "k:{"uid":"…"}" (an item of a list keyed
// by some fields), "v:"x"" (an item of a set list); a set is encoded as a tree where a member
// with members below it carries ".". Which lists are keyed or sets follows Kubernetes' own
// markers for ObjectMeta (finalizers: set, ownerReferences: keyed by uid); every other list is
// atomic, which is what Kubernetes does for a custom resource's lists without list-type markers.
// Pure functions, no I/O.

export type Path = string[];
/** Members as JSON-encoded paths, so sets compare by value. */
export type FieldSet = Set<string>;

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

export type ListType = { type: 'atomic' } | { type: 'set' } | { type: 'map'; keys: string[] };

/** The list type of the list at `path` (ObjectMeta's markers; atomic elsewhere). */
export function listTypeAt(path: Path): ListType {
  const last = path[path.length - 1];
  const parent = path[path.length - 2];
  if (parent === 'f:metadata' && last === 'f:finalizers') return { type: 'set' };
  if (parent === 'f:metadata' && last === 'f:ownerReferences') return { type: 'map', keys: ['uid'] };
  return { type: 'atomic' };
}

const keyOf = (item: Json, keys: string[]) => Object.fromEntries(keys.map((k) => [k, item[k]]));
const itemElement = (item: unknown, lt: ListType): string | undefined =>
  lt.type === 'set'
    ? `v:${JSON.stringify(item)}`
    : lt.type === 'map' && isObj(item)
      ? `k:${JSON.stringify(keyOf(item, lt.keys))}`
      : undefined;

/** Every member of `value` below `path` (leaves, set items, keyed items and their fields). */
export function fieldsOf(value: unknown, path: Path = [], out: FieldSet = new Set()): FieldSet {
  if (isObj(value)) {
    const keys = Object.keys(value);
    if (keys.length === 0 && path.length) out.add(JSON.stringify(path));
    for (const k of keys) if (value[k] !== undefined && value[k] !== null) fieldsOf(value[k], [...path, `f:${k}`], out);
    return out;
  }
  if (Array.isArray(value)) {
    const lt = listTypeAt(path);
    if (lt.type === 'atomic') {
      out.add(JSON.stringify(path));
      return out;
    }
    for (const item of value) {
      const el = itemElement(item, lt);
      if (!el) continue;
      const p = [...path, el];
      out.add(JSON.stringify(p));
      if (lt.type === 'map') fieldsOf(item, p, out);
    }
    return out;
  }
  out.add(JSON.stringify(path));
  return out;
}

/** FieldsV1 tree → set. */
export function fromFieldsV1(tree: unknown, path: Path = [], out: FieldSet = new Set()): FieldSet {
  if (!isObj(tree)) return out;
  const keys = Object.keys(tree);
  if (path.length && (keys.length === 0 || keys.includes('.'))) out.add(JSON.stringify(path));
  for (const k of keys) if (k !== '.') fromFieldsV1(tree[k], [...path, k], out);
  return out;
}

/** Set → FieldsV1 tree. */
export function toFieldsV1(set: FieldSet): Json {
  const root: Json = {};
  const members = [...set].map((s) => JSON.parse(s) as Path);
  for (const p of members) {
    let node = root;
    for (const el of p) node = (node[el] ??= {}) as Json;
  }
  // A member that has members below it is marked with ".".
  for (const p of members) {
    let node = root;
    for (const el of p) node = node[el] as Json;
    if (Object.keys(node).length > 0 && !('.' in node)) node['.'] = {};
  }
  return root;
}

/** The value at `path`, or undefined. */
export function valueAt(obj: unknown, path: Path): unknown {
  let v: unknown = obj;
  for (const el of path) {
    if (el.startsWith('f:')) v = isObj(v) ? v[el.slice(2)] : undefined;
    else if (el.startsWith('k:')) {
      const key = JSON.parse(el.slice(2)) as Json;
      v = Array.isArray(v)
        ? v.find((i) => isObj(i) && Object.entries(key).every(([k, kv]) => JSON.stringify(i[k]) === JSON.stringify(kv)))
        : undefined;
    } else if (el.startsWith('v:')) {
      const want = el.slice(2);
      v = Array.isArray(v) ? v.find((i) => JSON.stringify(i) === want) : undefined;
    } else return undefined;
    if (v === undefined) return undefined;
  }
  return v;
}

/** Removes the member at `path` from `obj` (in place); true when something was removed. */
export function removeAt(obj: unknown, path: Path): boolean {
  if (path.length === 0) return false;
  const parent = valueAt(obj, path.slice(0, -1));
  const el = path[path.length - 1];
  if (el.startsWith('f:') && isObj(parent) && el.slice(2) in parent) {
    delete parent[el.slice(2)];
    return true;
  }
  if (Array.isArray(parent)) {
    const item = valueAt(parent, [el]);
    const i = parent.indexOf(item);
    if (i >= 0) {
      parent.splice(i, 1);
      return true;
    }
  }
  return false;
}

/**
 * Merges an applied configuration into the live object: maps field by field, keyed and set
 * lists item by item, atomic lists and scalars replaced by the configuration's value.
 */
export function mergeApplied(live: unknown, config: unknown, path: Path = []): unknown {
  if (isObj(live) && isObj(config)) {
    const out: Json = structuredClone(live);
    for (const [k, v] of Object.entries(config)) {
      if (v === null || v === undefined) continue;
      Object.defineProperty(out, k, {
        value: mergeApplied(out[k], v, [...path, `f:${k}`]),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  if (Array.isArray(live) && Array.isArray(config)) {
    const lt = listTypeAt(path);
    if (lt.type === 'atomic') return structuredClone(config);
    const out = structuredClone(live);
    for (const item of config) {
      const el = itemElement(item, lt);
      const existing = el ? valueAt(out, [el]) : undefined;
      if (existing === undefined) out.push(structuredClone(item));
      else if (lt.type === 'map') out[out.indexOf(existing)] = mergeApplied(existing, item, [...path, el!]);
    }
    return out;
  }
  return structuredClone(config);
}

/** ".spec.template.spec.containers", ".metadata.ownerReferences[uid=\"…\"]", ".metadata.finalizers[=\"x\"]" (Kubernetes' path text). */
export function pathString(path: Path): string {
  return path
    .map((el) => {
      if (el.startsWith('f:')) return `.${el.slice(2)}`;
      if (el.startsWith('v:')) return `[=${el.slice(2)}]`;
      if (el.startsWith('k:')) {
        const key = JSON.parse(el.slice(2)) as Json;
        return `[${Object.entries(key)
          .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
          .join(',')}]`;
      }
      return el;
    })
    .join('');
}
