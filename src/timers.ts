// setTimeout's range, for every timer whose delay comes from user input (probe periods, backoffs,
// scale-down delays, schedules). Node fires a delay above 2^31-1 ms (about 24.8 days) after 1 ms
// instead, so an unclamped `periodSeconds: 3000000` would become a busy loop.

/** The longest delay setTimeout honours. */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** A delay setTimeout will honour: NaN and negatives become 0, anything longer the maximum. */
export function clampDelay(ms: number): number {
  if (!(ms > 0)) return 0;
  return Math.min(ms, MAX_TIMEOUT_MS);
}
