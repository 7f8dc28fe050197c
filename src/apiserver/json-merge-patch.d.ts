// json-merge-patch ships no types; this covers the one function the API server calls.
declare module 'json-merge-patch' {
  /** RFC 7386: applies `patch` to `target` (mutating and returning it). */
  export function apply(target: unknown, patch: unknown): unknown;
}
