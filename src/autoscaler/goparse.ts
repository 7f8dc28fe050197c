// Parsing and formatting that behaves like the Go standard library (time.ParseDuration,
// strconv.Parse*, fmt's %v for floats and durations), so that Sluice accepts exactly the values
// Knative accepts and its error messages read the same.

export class GoParseError extends Error {}

const UNIT_NS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  µs: 1e3, // U+00B5 micro sign
  μs: 1e3, // U+03BC Greek mu
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

const quote = (s: string) => JSON.stringify(s);

/** Go's time.ParseDuration; returns milliseconds (fractional for sub-ms units). */
export function parseGoDuration(text: string): number {
  const invalid = () => new GoParseError(`time: invalid duration ${quote(text)}`);
  let s = text;
  let neg = false;
  if (s.startsWith('-') || s.startsWith('+')) {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') throw invalid();
  let totalNs = 0;
  while (s !== '') {
    const num = /^(\d*)(?:\.(\d*))?/.exec(s)!;
    const [whole, intPart, fracPart] = num;
    if (whole === '' || whole === '.' || (intPart === '' && (fracPart === undefined || fracPart === ''))) throw invalid();
    s = s.slice(whole.length);
    const unitMatch = /^[^\d.]*/.exec(s)!;
    const unit = unitMatch[0];
    if (unit === '') throw new GoParseError(`time: missing unit in duration ${quote(text)}`);
    const scale = UNIT_NS[unit];
    if (scale === undefined) throw new GoParseError(`time: unknown unit ${quote(unit)} in duration ${quote(text)}`);
    s = s.slice(unit.length);
    totalNs += Number(`${intPart || '0'}.${fracPart ?? ''}0`) * scale;
    if (totalNs > 2 ** 63 - 1) throw invalid(); // int64 nanoseconds overflow
  }
  const ms = totalNs / 1e6;
  return neg ? -ms : ms;
}

function trimDecimal(n: number, digits: number): string {
  return n.toFixed(digits).replace(/\.?0+$/, '');
}

/** Go's time.Duration.String() for a duration given in milliseconds. */
export function formatGoDuration(ms: number): string {
  if (ms === 0) return '0s';
  const sign = ms < 0 ? '-' : '';
  const ns = Math.round(Math.abs(ms) * 1e6);
  if (ns < 1e9) {
    if (ns < 1e3) return `${sign}${ns}ns`;
    if (ns < 1e6) return `${sign}${trimDecimal(ns / 1e3, 3)}µs`;
    return `${sign}${trimDecimal(ns / 1e6, 6)}ms`;
  }
  const h = Math.floor(ns / 3600e9);
  const m = Math.floor((ns % 3600e9) / 60e9);
  const sec = trimDecimal((ns % 60e9) / 1e9, 9);
  if (h > 0) return `${sign}${h}h${m}m${sec}s`;
  if (m > 0) return `${sign}${m}m${sec}s`;
  return `${sign}${sec}s`;
}

/** Go's strconv.ParseFloat(s, 64) (decimal forms, inf/infinity/nan). */
export function parseGoFloat(s: string): number {
  if (/^[+-]?(inf|infinity)$/i.test(s)) return s.startsWith('-') ? -Infinity : Infinity;
  if (/^nan$/i.test(s)) return NaN;
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(s)) {
    throw new GoParseError(`strconv.ParseFloat: parsing ${quote(s)}: invalid syntax`);
  }
  const v = Number(s);
  if (!Number.isFinite(v)) throw new GoParseError(`strconv.ParseFloat: parsing ${quote(s)}: value out of range`);
  return v;
}

export class GoRangeError extends GoParseError {}

/** Go's strconv.ParseInt(s, 10, bits). */
export function parseGoInt(s: string, bits: 32 | 64 = 64, fn = 'strconv.ParseInt'): number {
  if (!/^[+-]?\d+$/.test(s)) throw new GoParseError(`${fn}: parsing ${quote(s)}: invalid syntax`);
  const v = BigInt(s);
  const limit = 1n << BigInt(bits - 1);
  if (v >= limit || v < -limit) throw new GoRangeError(`${fn}: parsing ${quote(s)}: value out of range`);
  return Number(v);
}

/** Go's strconv.ParseBool. */
export function parseGoBool(s: string): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false;
  throw new GoParseError(`strconv.ParseBool: parsing ${quote(s)}: invalid syntax`);
}

/** fmt's %v for a float64: shortest digits, exponent form when the decimal exponent is < -4 or >= 6. */
export function formatGoFloat(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const [mant, expStr] = v.toExponential().split('e');
  const exp = Number(expStr);
  // Go's %v is %g with the shortest precision, which decides on notation with precision 6
  // (strconv ftoa), unlike JavaScript's 1e21 threshold.
  if (exp < -4 || exp >= 6) {
    const e = Math.abs(exp) < 10 ? `0${Math.abs(exp)}` : `${Math.abs(exp)}`;
    return `${mant}e${exp < 0 ? '-' : '+'}${e}`;
  }
  return String(v);
}

/** fmt's %f (six decimals). */
export const formatGoFixed = (v: number) => v.toFixed(6);
