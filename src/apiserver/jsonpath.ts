// The small JSONPath subset printer columns use: .a.b, escaped dots in keys (a\.b), ['key'],
// [n], [*] and filters [?(@.x=='v')] / [?(@.x!='v')]. Returns every match, in document order.

type Step =
  | { t: 'key'; key: string }
  | { t: 'index'; index: number }
  | { t: 'all' }
  | { t: 'filter'; path: string[]; op: '==' | '!='; value: string | number | boolean };

const cache = new Map<string, Step[]>();

function parse(expr: string): Step[] {
  const hit = cache.get(expr);
  if (hit) return hit;
  let s = expr.trim();
  if (s.startsWith('{') && s.endsWith('}')) s = s.slice(1, -1);
  if (s.startsWith('$')) s = s.slice(1);
  const steps: Step[] = [];
  let i = 0;
  const fail = () => new Error(`unsupported JSONPath ${JSON.stringify(expr)} at offset ${i}`);
  while (i < s.length) {
    if (s[i] === '.') {
      i++;
      let key = '';
      while (i < s.length && s[i] !== '.' && s[i] !== '[') {
        if (s[i] === '\\' && i + 1 < s.length) i++;
        key += s[i++];
      }
      if (key) steps.push({ t: 'key', key });
    } else if (s[i] === '[') {
      const end = findClose(s, i);
      if (end < 0) throw fail();
      const inner = s.slice(i + 1, end).trim();
      i = end + 1;
      let m: RegExpExecArray | null;
      if (inner === '*') steps.push({ t: 'all' });
      else if (/^-?\d+$/.test(inner)) steps.push({ t: 'index', index: Number(inner) });
      else if ((m = /^(['"])(.*)\1$/.exec(inner))) steps.push({ t: 'key', key: m[2].replace(/\\(.)/g, '$1') });
      else if ((m = /^\?\(\s*@((?:\.[A-Za-z0-9_-]+)+)\s*(==|!=)\s*(.+?)\s*\)$/.exec(inner))) {
        steps.push({ t: 'filter', path: m[1].slice(1).split('.'), op: m[2] as '==' | '!=', value: literal(m[3]) });
      } else throw fail();
    } else throw fail();
  }
  cache.set(expr, steps);
  return steps;
}

function findClose(s: string, open: number): number {
  let quote = '';
  for (let j = open + 1; j < s.length; j++) {
    const c = s[j];
    if (quote) {
      if (c === '\\') j++;
      else if (c === quote) quote = '';
    } else if (c === "'" || c === '"') quote = c;
    else if (c === ']') return j;
  }
  return -1;
}

function literal(raw: string): string | number | boolean {
  const m = /^(['"])(.*)\1$/.exec(raw);
  if (m) return m[2];
  if (raw === 'true' || raw === 'false') return raw === 'true';
  const n = Number(raw);
  if (!Number.isNaN(n)) return n;
  return raw;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

export function evaluate(expr: string, root: unknown): unknown[] {
  let nodes: unknown[] = [root];
  for (const step of parse(expr)) {
    const next: unknown[] = [];
    for (const n of nodes) {
      switch (step.t) {
        case 'key':
          if (isObj(n) && !Array.isArray(n) && Object.prototype.hasOwnProperty.call(n, step.key)) next.push(n[step.key]);
          break;
        case 'index':
          if (Array.isArray(n)) {
            const v = n[step.index < 0 ? n.length + step.index : step.index];
            if (v !== undefined) next.push(v);
          }
          break;
        case 'all':
          if (Array.isArray(n)) next.push(...n);
          else if (isObj(n)) next.push(...Object.values(n));
          break;
        case 'filter':
          if (Array.isArray(n)) {
            for (const item of n) {
              let v: unknown = item;
              for (const k of step.path)
                v = isObj(v) && Object.prototype.hasOwnProperty.call(v, k) ? (v as Record<string, unknown>)[k] : undefined;
              if (v !== undefined && (v === step.value) === (step.op === '==')) next.push(item);
            }
          }
          break;
      }
    }
    nodes = next;
  }
  return nodes.filter((v) => v !== undefined && v !== null);
}
