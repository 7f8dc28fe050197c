// Weighted traffic split. The whole smooth-weighted-round-robin cycle is computed once per route
// when the table changes, so a request only reads `schedule[cursor]` and bumps the cursor.
// Over one cycle every target is picked exactly in proportion to its weight, and picks are
// interleaved (40/30/30 gives A B C A B A C ... rather than 40 A's in a row), so shares are exact
// in the long run and close to exact over any short window.

/** Longest cycle we precompute; integer percents reduced by their gcd never come close. */
export const MAX_CYCLE = 10_000;

/**
 * Turns arbitrary non-negative weights (percents, possibly fractional) into small integers with the
 * same proportions. Negative, NaN and infinite weights count as 0 (never picked).
 */
export function integerWeights(weights: readonly number[]): number[] {
  let w = weights.map((x) => (Number.isFinite(x) && x > 0 ? x : 0));
  if (w.some((x) => !Number.isInteger(x))) {
    // Percents with up to two decimals stay exact.
    w = w.map((x) => (x > 0 ? Math.max(1, Math.round(x * 100)) : 0));
  }
  const g = w.reduce((acc, x) => (x > 0 ? gcd(acc, x) : acc), 0);
  if (g > 1) w = w.map((x) => x / g);
  let total = w.reduce((a, b) => a + b, 0);
  if (total > MAX_CYCLE) {
    // Absurdly fine-grained weights: keep proportions approximately, every positive target stays
    // reachable.
    const scale = MAX_CYCLE / total;
    w = w.map((x) => (x > 0 ? Math.max(1, Math.round(x * scale)) : 0));
    total = w.reduce((a, b) => a + b, 0);
  }
  return w;
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/**
 * One full cycle of smooth weighted round-robin: a list of target indices whose length is the sum
 * of the (reduced) weights; index i appears exactly weights[i] times. Empty when nothing has weight.
 */
export function buildSchedule(weights: readonly number[]): number[] {
  const w = integerWeights(weights);
  const n = w.length;
  let total = 0;
  for (let i = 0; i < n; i++) total += w[i];
  if (total === 0) return [];
  const current = new Array<number>(n).fill(0);
  const out = new Array<number>(total);
  for (let step = 0; step < total; step++) {
    let best = -1;
    for (let i = 0; i < n; i++) {
      if (w[i] === 0) continue;
      current[i] += w[i];
      if (best < 0 || current[i] > current[best]) best = i;
    }
    current[best] -= total;
    out[step] = best;
  }
  return out;
}

/** A precomputed split: pick() is an array read and a cursor bump. */
export class Split<T> {
  readonly schedule: readonly T[];
  cursor = 0;

  constructor(targets: readonly T[], weights: readonly number[]) {
    this.schedule = buildSchedule(weights).map((i) => targets[i]);
  }

  /** undefined when no target has a positive weight. */
  pick(): T | undefined {
    const s = this.schedule;
    if (s.length === 0) return undefined;
    const t = s[this.cursor];
    this.cursor = this.cursor + 1 === s.length ? 0 : this.cursor + 1;
    return t;
  }
}
