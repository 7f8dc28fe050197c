// Kubernetes resource quantities ("500m", "128Mi", "1e3"), parsed as apimachinery's
// resource.ParseQuantity accepts them, with its error messages, and valued as a float so that
// requests and limits can be compared.

export type ParsedQuantity = { ok: true; value: number } | { ok: false; error: string };

const FORMAT = /^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$/;
export const QUANTITY_FORMAT_ERROR = `quantities must match the regular expression '${FORMAT.source}'`;
export const QUANTITY_SUFFIX_ERROR = "unable to parse quantity's suffix";

const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DECIMAL: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };

export function parseQuantity(text: string): ParsedQuantity {
  if (text.length === 0) return { ok: false, error: 'quantities must be non-empty' };
  const m = FORMAT.exec(text.trim() === text ? text : '');
  if (!m) return { ok: false, error: QUANTITY_FORMAT_ERROR };
  const [, num, suffix] = m as unknown as [string, string, string];
  // One decimal point at most, and at least one digit.
  if (!/^[+-]?(\d+\.?\d*|\.\d+)$/.test(num)) return { ok: false, error: QUANTITY_FORMAT_ERROR };
  let scale: number | undefined = BINARY[suffix] ?? DECIMAL[suffix];
  if (scale === undefined) {
    const exp = /^[eE]([-+]?\d+)$/.exec(suffix);
    if (exp) scale = 10 ** Number(exp[1]);
  }
  if (scale === undefined) return { ok: false, error: QUANTITY_SUFFIX_ERROR };
  return { ok: true, value: Number(num) * scale };
}
