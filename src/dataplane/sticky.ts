// Sticky sessions that keep the split. A client's key is a point on [0, 2^32); the line is cut
// into consecutive ranges, one per target in the order the control plane gives (newest revision
// first), sized by weight. Shares across clients therefore follow the weights, and when weights
// change only the clients whose point a boundary crossed move: growing the newest revision by x%
// moves exactly x% of clients, and nobody moves back while weights only grow in one direction.
//
// The layout is a pure function of the weights, so every gateway (and a restarted one) agrees
// without shared state. The key never names a revision, which is what keeps the split honest:
// a cookie that pinned a revision would keep clients on it after its weight fell.

import { randomBytes } from 'node:crypto';
import { integerWeights } from './split.js';

export const SPACE = 2 ** 32;

/**
 * Exclusive end of each target's range, in target order (largest-remainder rounding, so the ranges
 * tile the whole line exactly). A zero weight gets an empty range.
 */
export function stickyLayout(weights: readonly number[]): number[] {
  const w = integerWeights(weights);
  const total = w.reduce((a, b) => a + b, 0);
  if (total === 0) return w.map(() => 0);
  let cum = 0;
  return w.map((x) => {
    cum += x;
    return Math.floor((cum / total) * SPACE);
  });
}

/** The target index whose range holds the point (binary search). */
export function slotOf(ends: readonly number[], point: number): number {
  let lo = 0;
  let hi = ends.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (point < ends[mid]) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** A well-mixed point for a key the request carries (FNV-1a, then murmur3's finaliser). */
export function pointOfKey(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The point a gateway-issued cookie holds (8 lower-case hex digits), or undefined when the value is not one. */
export function pointOfCookie(value: string | undefined): number | undefined {
  if (value === undefined || value.length !== 8) return undefined;
  let n = 0;
  for (let i = 0; i < 8; i++) {
    const c = value.charCodeAt(i);
    const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : -1;
    if (d < 0) return undefined;
    n = n * 16 + d;
  }
  return n;
}

/** A fresh random point and the cookie value that carries it. */
export function newStickyPoint(): { point: number; value: string } {
  const value = randomBytes(4).toString('hex');
  return { point: Number.parseInt(value, 16), value };
}

/** The key lives in the client for a year; it names no revision, so it never goes stale. */
export function stickyCookie(name: string, value: string): string {
  return `${name}=${value}; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax`;
}
