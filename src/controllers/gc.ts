// Garbage collection by ownerReferences: when an object goes, what it controlled goes too
// (Service → Configuration + Route; Configuration → Revisions; Revision → its instances).

import type { KObject } from '../api/types.js';
import { type ControllerContext, RES } from './context.js';
import { revisionKey } from './revision.js';

const OWNED: string[] = [RES.configurations, RES.routes, RES.revisions, RES.podautoscalers];

export async function collectGarbage(ctx: ControllerContext, gone: KObject): Promise<void> {
  const ns = gone.metadata.namespace ?? '';
  if (gone.kind === 'Revision') {
    const key = revisionKey(ns, gone.metadata.name!);
    ctx.dataplane.removeRevision(key);
    await ctx.runtime.remove(key);
  }
  for (const res of OWNED) {
    const { items } = await ctx.store.list(res, ns);
    for (const o of items) {
      if (o.metadata.ownerReferences?.some((r) => r.uid === gone.metadata.uid)) {
        await ctx.store.delete(res, ns, o.metadata.name!).catch((e: { code?: number }) => {
          if (e.code !== 404) throw e;
        });
      }
    }
  }
}
