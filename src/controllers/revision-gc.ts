// Revision garbage collection as Knative's GC reconciler does it (pkg/reconciler/gc/gc.go), per
// Configuration: revisions that are routed, pending, the latest ready one or marked
// serving.knative.dev/no-gc are kept; of the others ("reserve"), the stale ones (older than
// retain-since-create-time and not routed within retain-since-last-active-time) go, oldest last
// activity first, always leaving min-non-active-revisions; then any beyond max-non-active-revisions.
// The policy is pure over an injected clock; the deletes happen at the edge.

import { GC_DISABLED, type GcConfig } from '../api/config-gc.js';
import type { KObject } from '../api/types.js';
import { Annotations, Labels } from '../api/types.js';
import { BY_CONFIGURATION, ROUTES_BY_REVISION } from './listers.js';
import { type ControllerContext, RES } from './context.js';

export const NO_GC = 'serving.knative.dev/no-gc';

const time = (s: string | undefined): number | undefined => {
  const t = s ? Date.parse(s) : NaN;
  return Number.isFinite(t) ? t : undefined;
};

/** routingStateModified, else the creation time: Knative's "last active". */
export const lastActive = (rev: KObject): number =>
  time(rev.metadata.annotations?.[Annotations.routingStateModified]) ?? time(rev.metadata.creationTimestamp) ?? 0;

function isActive(rev: KObject, cfg: KObject, routed: ReadonlySet<string>): boolean {
  if (cfg.status?.latestReadyRevisionName === rev.metadata.name) return true;
  // A revision some route sends traffic to is never collected, even before the labeler marks it.
  if (routed.has(rev.metadata.name!)) return true;
  const preserved = rev.metadata.annotations?.[NO_GC] ?? rev.metadata.labels?.[NO_GC];
  if (preserved?.toLowerCase() === 'true') return true;
  // Only what the labeler marked "reserve" may go; unlabelled and pending revisions stay.
  return rev.metadata.labels?.[Labels.routingState] !== 'reserve';
}

function isStale(c: GcConfig, rev: KObject, now: number): boolean {
  if (c.retainSinceCreateTimeMs === GC_DISABLED && c.retainSinceLastActiveTimeMs === GC_DISABLED) return false;
  const created = time(rev.metadata.creationTimestamp) ?? 0;
  if (c.retainSinceCreateTimeMs !== GC_DISABLED && now - created < c.retainSinceCreateTimeMs) return false;
  if (c.retainSinceLastActiveTimeMs !== GC_DISABLED && now - lastActive(rev) < c.retainSinceLastActiveTimeMs) return false;
  return true;
}

/** Names of the configuration's revisions to delete now. */
export function revisionsToCollect(
  cfg: KObject,
  revisions: readonly KObject[],
  c: GcConfig,
  now: number,
  routed: ReadonlySet<string> = new Set(),
): string[] {
  const min = c.minNonActiveRevisions;
  if (
    c.maxNonActiveRevisions === GC_DISABLED &&
    c.retainSinceCreateTimeMs === GC_DISABLED &&
    c.retainSinceLastActiveTimeMs === GC_DISABLED
  ) {
    return [];
  }
  const own = revisions.filter((r) => r.metadata.labels?.[Labels.configuration] === cfg.metadata.name);
  if (own.length <= min) return [];
  const candidates = own.filter((r) => !isActive(r, cfg, routed)).sort((a, b) => lastActive(a) - lastActive(b));
  if (candidates.length <= min) return [];
  const out: string[] = [];
  const kept: KObject[] = [];
  const maxDeletes = candidates.length - min;
  for (const rev of candidates) {
    if (out.length < maxDeletes && isStale(c, rev, now)) out.push(rev.metadata.name!);
    else kept.push(rev);
  }
  if (out.length >= maxDeletes || c.maxNonActiveRevisions === GC_DISABLED || kept.length <= c.maxNonActiveRevisions) return out;
  // Past the maximum: the oldest of what is left goes too.
  return [...out, ...kept.slice(0, kept.length - c.maxNonActiveRevisions).map((r) => r.metadata.name!)];
}

/** Applies the policy to one configuration. */
export async function collectRevisions(ctx: ControllerContext, c: GcConfig, ns: string, name: string): Promise<string[]> {
  // From the listers, through their indexes: the configuration, its revisions, and which of them a route names.
  const cfg = ctx.listers.configurations.get(ns, name);
  if (!cfg || cfg.metadata.deletionTimestamp) return [];
  const revisions = ctx.listers.revisions.byIndex(BY_CONFIGURATION, `${ns}/${name}`);
  const routed = new Set(
    revisions.map((r) => r.metadata.name!).filter((rev) => ctx.listers.routes.byIndex(ROUTES_BY_REVISION, `${ns}/${rev}`).length > 0),
  );
  const doomed = revisionsToCollect(cfg, revisions, c, ctx.now(), routed);
  for (const rev of doomed) {
    ctx.log(`revision GC: deleting ${ns}/${rev} (configuration ${name})`);
    const gone = await ignoreNotFound(ctx.store.delete(RES.revisions, ns, rev));
    // The revision's PodAutoscaler is its only dependent (the API server would cascade the same way).
    const pa = await ctx.store.get(RES.podautoscalers, ns, rev);
    if (gone && pa?.metadata.ownerReferences?.some((o) => o.uid === gone.metadata.uid))
      await ignoreNotFound(ctx.store.delete(RES.podautoscalers, ns, rev));
  }
  return doomed;
}

async function ignoreNotFound<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (err) {
    if ((err as { code?: number }).code === 404) return undefined;
    throw err;
  }
}
