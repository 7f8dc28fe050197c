// DomainMapping reconciler, as Knative's: claims the domain (a ClusterDomainClaim naming this
// namespace; created when config-network autocreate-cluster-domain-claims is "true", which is not
// Knative's default), resolves spec.ref to its cluster-local address, and programs the domain into
// the gateway with the split of the route behind that address, so the custom host follows every
// traffic change of the Service. Status conditions and URLs come from src/api/domainmapping.ts.

import {
  AUTOCREATE_CLAIMS_KEY,
  CLAIM_API_VERSION,
  claimFacts,
  type DomainMapping,
  domainMappingStatus,
  type MappingFacts,
  resolveTarget,
} from '../api/domainmapping.js';
import { SERVING_NAMESPACE } from '../api/serving-config.js';
import type { KObject } from '../api/types.js';
import type { HostRoute } from '../dataplane/types.js';
import { type ControllerContext, RES } from './context.js';
import type { RouteTable } from './route.js';
import { writeStatus } from './status.js';

/** The gateway-table owner of a mapping's host (routes own theirs as "ns/name"). */
const ownerOf = (ns: string, name: string) => `domainmapping:${ns}/${name}`;

async function autocreateClaims(ctx: ControllerContext): Promise<boolean> {
  const network = await ctx.store.get(RES.configmaps, SERVING_NAMESPACE, 'config-network');
  const v = (network?.data as Record<string, string> | undefined)?.[AUTOCREATE_CLAIMS_KEY];
  return v?.trim().toLowerCase() === 'true';
}

/** The mapping's host entry: the target route's cluster-local entry (its split, rules, sticky policy) under the domain, public. */
function mappedHost(domain: string, target: HostRoute): HostRoute {
  return {
    host: domain,
    targets: target.targets,
    ...(target.rules ? { rules: target.rules } : {}),
    ...(target.sticky ? { sticky: target.sticky } : {}),
  };
}

export async function reconcileDomainMapping(ctx: ControllerContext, table: RouteTable, ns: string, name: string): Promise<void> {
  const dm = ctx.listers.domainmappings.get(ns, name) as DomainMapping | undefined;
  if (!dm || dm.metadata.deletionTimestamp) {
    ctx.dataplane.setRoute(ownerOf(ns, name), []);
    await releaseClaim(ctx, ns, name);
    return;
  }
  const autocreate = await autocreateClaims(ctx);
  const claim = claimFacts(ctx.listers.clusterdomainclaims.get(undefined, name), ns, autocreate);
  if (claim.create) await createClaim(ctx, ns, name);

  let target: MappingFacts['target'];
  let hosts: HostRoute[] = [];
  if (claim.ok) {
    const ref = dm.spec?.ref ?? {};
    const refNs = ref.namespace || ns;
    const refName = ref.name ?? '';
    const object: KObject | undefined =
      ref.kind === 'Route'
        ? ctx.listers.routes.get(refNs, refName)
        : ref.kind === 'Service'
          ? ctx.listers.services.get(refNs, refName)
          : undefined;
    target = resolveTarget({ ...ref, namespace: refNs }, object, ns);
    if ('host' in target) {
      // {route}.{ns}.svc.cluster.local: every route has that host in the gateway, public or not.
      const host = target.host;
      const entry = table.hostsOf(ns, host.split('.')[0])?.find((h) => h.host === host);
      if (entry) hosts = [mappedHost(name, entry)];
    }
  }
  ctx.dataplane.setRoute(ownerOf(ns, name), hosts);
  if (hosts.length > 0) await ctx.dataplane.synced?.();
  const status = domainMappingStatus(dm, { claim, target, ingressReady: hosts.length > 0 });
  await writeStatus(ctx.store, RES.domainmappings, dm, status as Record<string, unknown>);
}

async function createClaim(ctx: ControllerContext, ns: string, name: string): Promise<void> {
  try {
    await ctx.store.create(RES.clusterdomainclaims, {
      apiVersion: CLAIM_API_VERSION,
      kind: 'ClusterDomainClaim',
      metadata: { name },
      spec: { namespace: ns },
    });
  } catch (err) {
    // Another namespace's mapping claimed it first: the claim's watch brings this one back.
    if ((err as { code?: number }).code !== 409) throw err;
  }
}

/** Knative's FinalizeKind: with autocreate on, a mapping that goes takes its namespace's claim with it. */
async function releaseClaim(ctx: ControllerContext, ns: string, name: string): Promise<void> {
  const claim = ctx.listers.clusterdomainclaims.get(undefined, name);
  if (!claim || claim.spec?.namespace !== ns || !(await autocreateClaims(ctx))) return;
  try {
    await ctx.store.delete(RES.clusterdomainclaims, undefined, name);
  } catch (err) {
    if ((err as { code?: number }).code !== 404) throw err;
  }
}
