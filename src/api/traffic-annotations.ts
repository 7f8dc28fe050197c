// Annotations on a Service or Route that shape how its traffic is routed, with their admission
// checks: Knative's `serving.knative.dev/rollout-duration`, and Sluice's `sluice.dev/traffic-rules`
// (header and cookie rules that send matching requests to a tag) and `sluice.dev/sticky` (sticky
// sessions that keep the split). Pure: parsing and validation only.

import { parse as parseYaml } from 'yaml';
import { parseGoDuration } from '../autoscaler/goparse.js';
import { fe, type FieldError } from './field-error.js';
import { validateRolloutDuration } from './metadata-validation.js';

export const ROLLOUT_DURATION_ANNOTATION = 'serving.knative.dev/rollout-duration';
export const TRAFFIC_RULES_ANNOTATION = 'sluice.dev/traffic-rules';
export const STICKY_ANNOTATION = 'sluice.dev/sticky';

/** Annotations a Service hands down to its Route (Knative copies all of them; these are the ones routing reads). */
export const ROUTING_ANNOTATIONS = [ROLLOUT_DURATION_ANNOTATION, TRAFFIC_RULES_ANNOTATION, STICKY_ANNOTATION] as const;

/** How a request value is compared. Exactly one field is set. */
export interface ValueMatch {
  exact?: string;
  prefix?: string;
  regex?: string;
}

export interface TrafficRule {
  /** The traffic tag matching requests go to. */
  tag: string;
  /** Lower-cased header name -> match; every entry must match. */
  headers?: Record<string, ValueMatch>;
  /** Cookie name (case-sensitive) -> match; every entry must match. */
  cookies?: Record<string, ValueMatch>;
}

/** Where a client's sticky key comes from. */
export interface StickySpec {
  /** set-cookie: the gateway gives each new client a random key in a cookie; header/cookie: the request carries the key. */
  from: 'set-cookie' | 'header' | 'cookie';
  name: string;
}

export const DEFAULT_STICKY_COOKIE = 'sluice-sticky';
/** Longest regex accepted; JavaScript regexes backtrack, so long patterns are refused rather than risked. */
export const MAX_REGEX_LENGTH = 256;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

// ---- rollout-duration ----

/** The annotation's value in whole seconds; 0 when absent or not a valid duration (admission refuses those). */
export function rolloutDurationSeconds(v: string | undefined): number {
  if (!v) return 0;
  try {
    const s = parseGoDuration(v) / 1000;
    return s > 0 ? Math.round(s) : 0;
  } catch {
    return 0;
  }
}

// ---- traffic rules ----

/** Parses the annotation (YAML or JSON). Returns the rules and every problem found, with field paths below `path`. */
export function parseTrafficRules(text: string, path = TRAFFIC_RULES_ANNOTATION): { rules: TrafficRule[]; errors: FieldError[] } {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    return { rules: [], errors: [fe(`not valid YAML or JSON: ${(e as Error).message.split('\n')[0]}`, path)] };
  }
  if (!Array.isArray(doc)) return { rules: [], errors: [fe('must be a list of rules, each with a tag and headers and/or cookies', path)] };
  const rules: TrafficRule[] = [];
  const errors: FieldError[] = [];
  doc.forEach((item, i) => {
    const at = `${path}[${i}]`;
    if (!isObject(item)) {
      errors.push(fe('must be an object with a tag and headers and/or cookies', at));
      return;
    }
    for (const k of Object.keys(item))
      if (!['tag', 'headers', 'cookies'].includes(k)) errors.push(fe('unknown field; expected tag, headers or cookies', `${at}.${k}`));
    const tag = item.tag;
    if (typeof tag !== 'string' || tag === '') errors.push(fe('missing field(s)', `${at}.tag`));
    const rule: TrafficRule = { tag: String(tag ?? '') };
    let matchers = 0;
    for (const kind of ['headers', 'cookies'] as const) {
      const m = item[kind];
      if (m === undefined) continue;
      if (!isObject(m)) {
        errors.push(fe('must be a map from name to a value or {exact|prefix|regex: value}', `${at}.${kind}`));
        continue;
      }
      const out: Record<string, ValueMatch> = {};
      for (const [name, v] of Object.entries(m)) {
        const vat = `${at}.${kind}.${name}`;
        if (!TOKEN.test(name)) errors.push(fe(`"${name}" is not a valid ${kind === 'headers' ? 'header' : 'cookie'} name`, vat));
        const vm = valueMatch(v, vat, errors);
        if (vm) out[kind === 'headers' ? name.toLowerCase() : name] = vm;
        matchers++;
      }
      rule[kind] = out;
    }
    if (matchers === 0) errors.push(fe('a rule needs at least one header or cookie to match', at));
    rules.push(rule);
  });
  return { rules, errors };
}

function valueMatch(v: unknown, path: string, errors: FieldError[]): ValueMatch | undefined {
  if (typeof v === 'string') return { exact: v };
  if (typeof v === 'number' || typeof v === 'boolean') return { exact: String(v) };
  if (!isObject(v)) {
    errors.push(fe('must be a string or one of {exact: V}, {prefix: V}, {regex: V}', path));
    return undefined;
  }
  const keys = Object.keys(v);
  if (keys.length !== 1 || !['exact', 'prefix', 'regex'].includes(keys[0]) || typeof v[keys[0]] !== 'string') {
    errors.push(fe('expected exactly one of exact, prefix or regex, with a string value', path));
    return undefined;
  }
  const k = keys[0] as keyof ValueMatch;
  const s = v[k] as string;
  if (k === 'regex') {
    if (s.length > MAX_REGEX_LENGTH) {
      errors.push(fe(`regex is ${s.length} characters; at most ${MAX_REGEX_LENGTH} are allowed`, `${path}.regex`));
      return undefined;
    }
    try {
      new RegExp(s);
    } catch (e) {
      errors.push(fe(`not a valid regular expression: ${(e as Error).message}`, `${path}.regex`));
      return undefined;
    }
  }
  return { [k]: s };
}

// ---- sticky ----

/** `set-cookie`, `set-cookie:NAME`, `header:NAME` or `cookie:NAME`. */
export function parseSticky(v: string): StickySpec | string {
  const t = v.trim();
  if (t === 'set-cookie') return { from: 'set-cookie', name: DEFAULT_STICKY_COOKIE };
  const m = /^(set-cookie|header|cookie):(.*)$/.exec(t);
  if (!m) return `invalid value: ${v} (want set-cookie, set-cookie:NAME, header:NAME or cookie:NAME)`;
  const name = m[2].trim();
  if (!TOKEN.test(name)) return `"${name}" is not a valid ${m[1] === 'header' ? 'header' : 'cookie'} name`;
  return { from: m[1] as StickySpec['from'], name: m[1] === 'header' ? name.toLowerCase() : name };
}

// ---- admission ----

/**
 * Checks the routing annotations of a Service or Route. `tags` are the tags its traffic declares:
 * a rule may only name one of them. Paths are relative to metadata.annotations.
 */
export function validateRoutingAnnotations(annotations: Record<string, string> | undefined, tags: ReadonlySet<string>): FieldError[] {
  if (!annotations) return [];
  const errs: FieldError[] = [];
  errs.push(...validateRolloutDuration(annotations));
  const rules = annotations[TRAFFIC_RULES_ANNOTATION];
  if (rules !== undefined) {
    const parsed = parseTrafficRules(rules);
    errs.push(...parsed.errors);
    parsed.rules.forEach((r, i) => {
      if (r.tag && !tags.has(r.tag))
        errs.push(
          fe(
            `tag "${r.tag}" is not a tag in spec.traffic${tags.size ? ` (tags: ${[...tags].sort().join(', ')})` : ' (it has none)'}`,
            `${TRAFFIC_RULES_ANNOTATION}[${i}].tag`,
          ),
        );
    });
  }
  const sticky = annotations[STICKY_ANNOTATION];
  if (sticky !== undefined) {
    const s = parseSticky(sticky);
    if (typeof s === 'string') errs.push(fe(s, STICKY_ANNOTATION));
  }
  return errs;
}
