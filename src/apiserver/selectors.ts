// Label and field selectors with Kubernetes' syntax:
//   labels: a=b, a==b, a!=b, a in (x,y), a notin (x,y), a, !a   (comma = AND)
//   fields: metadata.name and metadata.namespace with =, ==, !=
// Parse errors are 400s naming the bad requirement.

import { badRequest } from '../api/errors.js';
import type { KObject } from '../api/types.js';

export type Requirement = { key: string; op: 'in' | 'notin'; values: string[] } | { key: string; op: 'exists' | '!exists' };

export type Matcher = (obj: KObject) => boolean;

/** Splits on commas that are not inside parentheses. */
function splitTop(s: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    else if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  parts.push(cur);
  return parts.map((p) => p.trim());
}

const KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

function checkKey(key: string, req: string): string {
  if (!KEY.test(key) || key.length > 316) throw badRequest(`unable to parse requirement: invalid label key "${key}" in "${req}"`);
  return key;
}
function checkValue(v: string, req: string): string {
  if (!VALUE.test(v) || v.length > 63) throw badRequest(`unable to parse requirement: invalid label value "${v}" in "${req}"`);
  return v;
}

export function parseLabelSelector(selector: string): Requirement[] {
  const out: Requirement[] = [];
  if (selector.trim() === '') return out;
  for (const req of splitTop(selector)) {
    if (req === '') throw badRequest(`unable to parse requirement: empty requirement in "${selector}"`);
    let m: RegExpExecArray | null;
    if ((m = /^!\s*(\S+)$/.exec(req))) {
      out.push({ key: checkKey(m[1], req), op: '!exists' });
    } else if ((m = /^(\S+?)\s+(in|notin)\s*\(([^()]*)\)$/.exec(req))) {
      const values = m[3].split(',').map((v) => checkValue(v.trim(), req));
      out.push({ key: checkKey(m[1], req), op: m[2] as 'in' | 'notin', values });
    } else if ((m = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(req))) {
      const value = checkValue(m[3], req);
      out.push({ key: checkKey(m[1], req), op: m[2] === '!=' ? 'notin' : 'in', values: [value] });
    } else if ((m = /^([^=!\s(),]+)$/.exec(req))) {
      out.push({ key: checkKey(m[1], req), op: 'exists' });
    } else {
      throw badRequest(`unable to parse requirement: "${req}" is not a valid label selector requirement`);
    }
  }
  return out;
}

export function matchesLabels(reqs: Requirement[], labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  return reqs.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    switch (r.op) {
      case 'exists':
        return has;
      case '!exists':
        return !has;
      case 'in':
        return has && r.values.includes(l[r.key]);
      case 'notin':
        return !has || !r.values.includes(l[r.key]);
    }
  });
}

interface FieldRequirement {
  field: string;
  equal: boolean;
  value: string;
}

/** `extra`: the kind's own field labels (ResourceKind.fieldLabels). */
export function parseFieldSelector(selector: string, extra: readonly string[] = []): FieldRequirement[] {
  const out: FieldRequirement[] = [];
  if (selector.trim() === '') return out;
  for (const req of splitTop(selector)) {
    const m = /^([^=!\s]+)\s*(==|=|!=)\s*(.*)$/.exec(req);
    if (!m) throw badRequest(`invalid field selector requirement "${req}": expected field=value or field!=value`);
    if (m[1] !== 'metadata.name' && m[1] !== 'metadata.namespace' && !extra.includes(m[1])) {
      throw badRequest(`field label not supported: ${m[1]}`);
    }
    out.push({ field: m[1], equal: m[2] !== '!=', value: m[3].trim() });
  }
  return out;
}

export function matchesFields(reqs: FieldRequirement[], obj: KObject): boolean {
  return reqs.every((r) => {
    return ((fieldValue(obj, r.field) ?? '') === r.value) === r.equal;
  });
}

/** The value a field label selects; an absent field selects as "" (as Kubernetes' field sets do). */
function fieldValue(obj: KObject, field: string): string | undefined {
  // Kubernetes names the Event field "source" for source.component.
  const path = field === 'source' ? 'source.component' : field;
  let v: unknown = obj;
  for (const part of path.split('.')) v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[part] : undefined;
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined;
}

/** Builds one matcher from the labelSelector and fieldSelector query parameters. */
export function selectorMatcher(labelSelector: string | null, fieldSelector: string | null, fieldLabels: readonly string[] = []): Matcher {
  const labels = parseLabelSelector(labelSelector ?? '');
  const fields = parseFieldSelector(fieldSelector ?? '', fieldLabels);
  if (labels.length === 0 && fields.length === 0) return () => true;
  return (obj) => matchesLabels(labels, obj.metadata?.labels) && matchesFields(fields, obj);
}
