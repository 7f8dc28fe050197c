// Header and cookie matching for routing rules, compiled once per table so a request only runs
// string comparisons (and, for regex rules, one RegExp test; their cost is the pattern's).

import type { IncomingHttpHeaders } from 'node:http';
import type { RouteRule, ValueMatch } from './types.js';

/** One request's headers; cookies are looked up by scanning the Cookie header, without parsing all of it. */
export class RequestView {
  constructor(readonly headers: IncomingHttpHeaders) {}

  header(name: string): string | undefined {
    const v = this.headers[name];
    return Array.isArray(v) ? v.join(', ') : v;
  }

  cookie(name: string): string | undefined {
    const h = this.headers.cookie;
    return h === undefined ? undefined : cookieValue(h, name);
  }
}

/** The first cookie called `name` in a Cookie header (same answer as parseCookies(h).get(name)). */
export function cookieValue(h: string, name: string): string | undefined {
  let from = 0;
  while (from <= h.length) {
    const at = h.indexOf(name, from);
    if (at < 0) return undefined;
    // It must be a whole name: at the start of a pair, followed by "=" (spaces allowed around both).
    let before = at - 1;
    while (before >= 0 && (h.charCodeAt(before) === 32 || h.charCodeAt(before) === 9)) before--;
    let after = at + name.length;
    while (after < h.length && (h.charCodeAt(after) === 32 || h.charCodeAt(after) === 9)) after++;
    if ((before < 0 || h.charCodeAt(before) === 59) /* ; */ && h.charCodeAt(after) === 61 /* = */) {
      const end = h.indexOf(';', after + 1);
      let value = h.slice(after + 1, end < 0 ? h.length : end).trim();
      if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
      return value;
    }
    from = at + 1;
  }
  return undefined;
}

/** `a=1; b=2` -> {a: "1", b: "2"}; the first of repeated names wins, as browsers send the most specific first. */
export function parseCookies(header: string | undefined): Map<string, string> {
  const jar = new Map<string, string>();
  if (!header) return jar;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    if (!name || jar.has(name)) continue;
    let value = part.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    jar.set(name, value);
  }
  return jar;
}

export type ValueTest = (v: string | undefined) => boolean;

export function compileValueMatch(m: ValueMatch): ValueTest {
  if (m.exact !== undefined) {
    const want = m.exact;
    return (v) => v === want;
  }
  if (m.prefix !== undefined) {
    const want = m.prefix;
    return (v) => v !== undefined && v.startsWith(want);
  }
  if (m.regex !== undefined) {
    // Anchored: the whole value must match, as in Kubernetes Gateway API RegularExpression matches.
    const re = new RegExp(`^(?:${m.regex})$`);
    return (v) => v !== undefined && re.test(v);
  }
  return () => false;
}

/** A predicate over a request: every header and cookie entry of the rule must match. */
export function compileRuleMatch(rule: Pick<RouteRule, 'headers' | 'cookies'>): (req: RequestView) => boolean {
  const tests: ((req: RequestView) => boolean)[] = [];
  for (const [name, m] of Object.entries(rule.headers ?? {})) {
    const t = compileValueMatch(m);
    const n = name.toLowerCase();
    tests.push((req) => t(req.header(n)));
  }
  for (const [name, m] of Object.entries(rule.cookies ?? {})) {
    const t = compileValueMatch(m);
    tests.push((req) => t(req.cookie(name)));
  }
  if (tests.length === 0) return () => false;
  return (req) => {
    for (const t of tests) if (!t(req)) return false;
    return true;
  };
}
