// Writes a status only when it changed, so reconciles that find nothing new make no store write
// (and no watch event, which would otherwise wake the controllers again).

import { isDeepStrictEqual } from 'node:util';
import type { KObject } from '../api/types.js';
import type { Store } from '../store/store.js';

export async function writeStatus(store: Store, resource: string, obj: KObject, status: Record<string, unknown>): Promise<KObject> {
  if (isDeepStrictEqual(obj.status, status)) return obj;
  return store.update(resource, { ...obj, status }, { subresource: 'status' });
}
