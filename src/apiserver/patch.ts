// PATCH bodies, by media type, the way Kubernetes treats custom resources:
//   merge-patch+json     RFC 7386 (what kubectl apply and `kubectl patch --type=merge` send)
//   json-patch+json      RFC 6902 (`kubectl patch --type=json`)
//   apply-patch+yaml     server-side apply, simplified (see applyConfiguration)
//   strategic-merge-patch+json  refused with 415, as Kubernetes does for CRDs: strategic merge needs
//                        Go struct tags that custom resources don't have.

import jsonPatch from 'fast-json-patch';
import type { Operation } from 'fast-json-patch';
import { apply as mergePatch } from 'json-merge-patch';
import { ApiError, badRequest } from '../api/errors.js';
import { hasOwn, isPlainObject, mediaType, setOwn } from './body.js';
import { unsupportedMediaType } from './status.js';

export const PATCH_TYPES = ['application/json-patch+json', 'application/merge-patch+json', 'application/apply-patch+yaml'];

export type PatchKind = 'json' | 'merge' | 'apply';

export function patchKindOf(contentType: string | undefined): PatchKind {
  switch (mediaType(contentType)) {
    case 'application/json-patch+json':
      return 'json';
    case 'application/merge-patch+json':
      return 'merge';
    case 'application/apply-patch+yaml':
      return 'apply';
    default:
      throw unsupportedMediaType(
        `the body of the request was in an unknown format - accepted media types include: ${PATCH_TYPES.join(', ')}`,
      );
  }
}

/** Server-side apply without field ownership: the configuration's fields win, maps merge, lists are replaced. */
export function applyConfiguration(live: unknown, config: unknown): unknown {
  if (!isPlainObject(live) || !isPlainObject(config)) return structuredClone(config);
  const out: Record<string, unknown> = structuredClone(live);
  for (const [k, v] of Object.entries(config)) {
    if (v === null) delete out[k];
    else setOwn(out, k, applyConfiguration(hasOwn(out, k) ? out[k] : undefined, v));
  }
  return out;
}

const JSON_PATCH_MALFORMED = new Set([
  'SEQUENCE_NOT_AN_ARRAY',
  'OPERATION_NOT_AN_OBJECT',
  'OPERATION_OP_INVALID',
  'OPERATION_PATH_INVALID',
  'OPERATION_FROM_REQUIRED',
  'OPERATION_VALUE_REQUIRED',
  'OPERATION_VALUE_CANNOT_CONTAIN_UNDEFINED',
]);

export function applyPatch(kind: PatchKind, current: Record<string, unknown>, patch: unknown): unknown {
  switch (kind) {
    case 'merge':
      if (!isPlainObject(patch)) throw badRequest('a merge patch must be a JSON object');
      return mergePatch(structuredClone(current), patch);
    case 'apply':
      if (!isPlainObject(patch)) throw badRequest('an apply configuration must be an object');
      return applyConfiguration(current, patch);
    case 'json': {
      if (!Array.isArray(patch)) throw badRequest('a JSON patch must be an array of operations');
      try {
        return jsonPatch.applyPatch(structuredClone(current), patch as Operation[], true, true, true).newDocument;
      } catch (e) {
        const err = e as Error & { name?: string };
        const msg = err.message.split('\n')[0];
        if (JSON_PATCH_MALFORMED.has(err.name ?? '')) throw badRequest(`invalid JSON patch: ${msg}`);
        throw new ApiError(422, 'Invalid', `the JSON patch could not be applied: ${msg}`);
      }
    }
  }
}
