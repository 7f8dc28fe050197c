// Field errors shaped like knative.dev/pkg/apis.FieldError, so Sluice's messages read the same as
// Knative's webhook: "<message>: <path>, <path>" lines, merged by message and sorted.

import { ApiError, type StatusCause } from './errors.js';

export interface FieldError {
  message: string;
  paths: string[];
  details?: string;
}

export const fe = (message: string, ...paths: string[]): FieldError => ({ message, paths });
export const missingField = (...paths: string[]) => fe('missing field(s)', ...paths);
export const disallowedFields = (...paths: string[]) => fe('must not set the field(s)', ...paths);
export const invalidValue = (value: unknown, path: string) => fe(`invalid value: ${String(value)}`, path);
export const outOfBounds = (value: unknown, lower: unknown, upper: unknown, path: string) =>
  fe(`expected ${String(lower)} <= ${String(value)} <= ${String(upper)}`, path);
export const multipleOneOf = (...paths: string[]) => fe('expected exactly one, got both', ...paths);
export const missingOneOf = (...paths: string[]) => fe('expected exactly one, got neither', ...paths);

/** Prefixes every path of the errors with `prefix` ("spec" + "traffic[0]" → "spec.traffic[0]"). */
export function via(prefix: string, errs: FieldError[]): FieldError[] {
  return errs.map((e) => ({
    ...e,
    paths: e.paths.map((p) => (p === '' ? prefix : p.startsWith('[') ? `${prefix}${p}` : `${prefix}.${p}`)),
  }));
}

/** Knative's merge: errors with the same message and details become one, sorted by message, each printed as one entry. */
export function mergedFieldErrors(errs: FieldError[]): string[] {
  const merged = new Map<string, FieldError>();
  for (const e of errs) {
    const key = `${e.message}\u0000${e.details ?? ''}`;
    const m = merged.get(key);
    if (m) m.paths.push(...e.paths);
    else merged.set(key, { ...e, paths: [...e.paths] });
  }
  return [...merged.values()]
    .sort((a, b) => (a.message < b.message ? -1 : a.message > b.message ? 1 : 0))
    .map((e) => {
      const paths = [...new Set(e.paths)].sort().join(', ');
      return e.details ? `${e.message}: ${paths}\n${e.details}` : `${e.message}: ${paths}`;
    });
}

/** Joins errors the way Knative prints them: same message+details merged, sorted by message. */
export function formatFieldErrors(errs: FieldError[]): string {
  return mergedFieldErrors(errs).join('\n');
}

/** The error admission throws: 422 Invalid with one cause per field error. */
export function invalid(kind: string, name: string, errs: FieldError[]): ApiError {
  const causes: StatusCause[] = errs.flatMap((e) => e.paths.map((field) => ({ reason: 'FieldValueInvalid', message: e.message, field })));
  return new ApiError(422, 'Invalid', formatFieldErrors(errs), { name, kind, causes });
}
