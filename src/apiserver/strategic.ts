// Strategic merge patch for the built-in kinds Sluice serves (Namespace, ConfigMap), which kubectl
// patches strategically because it knows their Go types. Those kinds are maps of strings plus
// ObjectMeta, so this covers what kubectl generates for them: merge-patch semantics, the
// $patch/$retainKeys/$setElementOrder/$deleteFromPrimitiveList directives, and ObjectMeta's two
// merge lists (finalizers as a set, ownerReferences keyed by uid). Other lists are replaced.

import { badRequest } from '../api/errors.js';
import { hasOwn, isPlainObject, setOwn } from './body.js';

const MERGE_LISTS: Record<string, { key?: string }> = {
  'metadata.finalizers': {},
  'metadata.ownerReferences': { key: 'uid' },
};

export function strategicMergePatch(current: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) throw badRequest('a strategic merge patch must be a JSON object');
  return mergeMap(isPlainObject(current) ? current : {}, patch, '');
}

function stripDirectives(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stripDirectives);
  if (!isPlainObject(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (!k.startsWith('$')) setOwn(out, k, stripDirectives(x));
  return out;
}

/** The $patch values strategic merge knows; anything else is refused, as apimachinery does. */
const PATCH_DIRECTIVES = new Set(['replace', 'merge', 'delete']);

/** Go's %v of a map, which is how apimachinery quotes the offending patch in its message. */
function goValue(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(goValue).join(' ')}]`;
  if (isPlainObject(v)) {
    return `map[${Object.keys(v)
      .sort()
      .map((k) => `${k}:${goValue(v[k])}`)
      .join(' ')}]`;
  }
  return v === null ? '<nil>' : String(v);
}

function checkDirective(patch: Record<string, unknown>): void {
  if (!hasOwn(patch, '$patch')) return;
  const v = patch.$patch;
  if (typeof v !== 'string' || !PATCH_DIRECTIVES.has(v)) throw badRequest(`unknown patch type: ${goValue(v)} in map: ${goValue(patch)}`);
}

function mergeMap(cur: Record<string, unknown>, patch: Record<string, unknown>, path: string): Record<string, unknown> | undefined {
  checkDirective(patch);
  if (patch.$patch === 'delete') return undefined;
  if (patch.$patch === 'replace') return stripDirectives(patch) as Record<string, unknown>;
  const out: Record<string, unknown> = structuredClone(cur);
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$patch' || k === '$retainKeys' || k.startsWith('$setElementOrder/')) continue;
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const field = k.slice('$deleteFromPrimitiveList/'.length);
      if (Array.isArray(out[field]) && Array.isArray(v)) out[field] = (out[field] as unknown[]).filter((x) => !v.includes(x));
      continue;
    }
    const sub = path ? `${path}.${k}` : k;
    const listRule = hasOwn(MERGE_LISTS, sub) ? MERGE_LISTS[sub] : undefined;
    if (v === null) delete out[k];
    else if (isPlainObject(v)) {
      const merged = mergeMap(hasOwn(out, k) && isPlainObject(out[k]) ? (out[k] as Record<string, unknown>) : {}, v, sub);
      if (merged === undefined) delete out[k];
      else setOwn(out, k, merged);
    } else if (Array.isArray(v) && listRule) {
      setOwn(out, k, mergeList(Array.isArray(out[k]) ? (out[k] as unknown[]) : [], v, listRule.key));
    } else setOwn(out, k, stripDirectives(v));
  }
  if (Array.isArray(patch.$retainKeys)) {
    const keep = new Set(patch.$retainKeys as string[]);
    for (const k of Object.keys(out)) if (!keep.has(k)) delete out[k];
  }
  return out;
}

function mergeList(cur: unknown[], patch: unknown[], key: string | undefined): unknown[] {
  if (!key) return [...cur, ...patch.filter((x) => !cur.includes(x))];
  const out = [...cur];
  for (const item of patch) {
    if (!isPlainObject(item)) continue;
    checkDirective(item);
    const i = out.findIndex((x) => isPlainObject(x) && x[key] === item[key]);
    if (item.$patch === 'delete') {
      if (i >= 0) out.splice(i, 1);
    } else if (i >= 0) out[i] = mergeMap(out[i] as Record<string, unknown>, item, '');
    else out.push(stripDirectives(item));
  }
  return out;
}
