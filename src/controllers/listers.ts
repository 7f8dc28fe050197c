// The caches the controllers read from (Knative's listers): one per resource, kept by a watch,
// indexed so that a change finds the objects it affects without a scan — revisions by their
// configuration, configurations and routes by their service, routes by the revisions and
// configurations their traffic names, domain mappings by the route they map to and by domain. Created once per process and shared by the manager and the
// autoscaler.

import { R } from '../api/resources.js';
import { Annotations, Labels } from '../api/types.js';
import type { KObject } from '../api/types.js';
import { Cache, byLabel, byOwner } from '../store/cache.js';
import { referencedRevisions } from './autoscaling/podautoscaler.js';
import type { Store } from '../store/store.js';

/** Route index: "ns/revision" for every revision its spec or status traffic names (none while it is being deleted). */
export const ROUTES_BY_REVISION = 'revision';
/** Route index: "ns/configuration" for every configuration its spec traffic names (none while it is being deleted). */
export const ROUTES_BY_CONFIGURATION = 'configuration';
/** Revision index: "ns/configuration" from the configuration label. */
export const BY_CONFIGURATION = 'label:configuration';
/** Index: "ns/service" from the service label. */
export const BY_SERVICE = 'label:service';
export const BY_OWNER = 'owner';
/** DomainMapping index: "ns/route" for the Knative Service or Route its ref names (a Service's route has its name). */
export const DOMAINMAPPINGS_BY_ROUTE = 'route';
/** DomainMapping index: its name (the domain), across namespaces. */
export const DOMAINMAPPINGS_BY_DOMAIN = 'domain';

function routeOfMapping(dm: KObject): string[] {
  const ref = dm.spec?.ref;
  if (!ref || typeof ref.name !== 'string' || !ref.name) return [];
  return [`${typeof ref.namespace === 'string' && ref.namespace ? ref.namespace : (dm.metadata.namespace ?? '')}/${ref.name}`];
}

/** Revision and configuration index: "ns/route" for each route their serving.knative.dev/routes annotation lists. */
export const BY_ROUTES_ANNOTATION = 'annotation:routes';

function byRoutesAnnotation(o: KObject): string[] {
  const ns = o.metadata.namespace ?? '';
  return (o.metadata.annotations?.[Annotations.routes] ?? '')
    .split(',')
    .filter(Boolean)
    .map((r) => `${ns}/${r}`);
}

function configurationsNamedBy(route: KObject): string[] {
  if (route.metadata.deletionTimestamp) return [];
  const ns = route.metadata.namespace ?? '';
  const out = new Set<string>();
  for (const t of Array.isArray(route.spec?.traffic) ? route.spec.traffic : []) {
    if (typeof t?.configurationName === 'string' && t.configurationName) out.add(`${ns}/${t.configurationName}`);
  }
  return [...out];
}

export interface Listers {
  services: Cache<typeof R.services>;
  configurations: Cache<typeof R.configurations>;
  revisions: Cache<typeof R.revisions>;
  routes: Cache<typeof R.routes>;
  podautoscalers: Cache<typeof R.podautoscalers>;
  domainmappings: Cache<typeof R.domainmappings>;
  clusterdomainclaims: Cache<typeof R.clusterdomainclaims>;
}

export function createListers(store: Store, log: (msg: string) => void = () => {}): Listers {
  return {
    services: new Cache(store, R.services, {}, log),
    configurations: new Cache(
      store,
      R.configurations,
      { [BY_SERVICE]: byLabel(Labels.service), [BY_OWNER]: byOwner, [BY_ROUTES_ANNOTATION]: byRoutesAnnotation },
      log,
    ),
    revisions: new Cache(
      store,
      R.revisions,
      { [BY_CONFIGURATION]: byLabel(Labels.configuration), [BY_OWNER]: byOwner, [BY_ROUTES_ANNOTATION]: byRoutesAnnotation },
      log,
    ),
    routes: new Cache(
      store,
      R.routes,
      {
        [BY_SERVICE]: byLabel(Labels.service),
        [ROUTES_BY_REVISION]: (o) => [...referencedRevisions([o])],
        [ROUTES_BY_CONFIGURATION]: configurationsNamedBy,
      },
      log,
    ),
    podautoscalers: new Cache(store, R.podautoscalers, {}, log),
    domainmappings: new Cache(
      store,
      R.domainmappings,
      { [DOMAINMAPPINGS_BY_ROUTE]: routeOfMapping, [DOMAINMAPPINGS_BY_DOMAIN]: (o) => [o.metadata.name ?? ''] },
      log,
    ),
    clusterdomainclaims: new Cache(store, R.clusterdomainclaims, {}, log),
  };
}

/** Resolves once every cache holds the current objects. */
export async function syncListers(l: Listers): Promise<void> {
  await Promise.all(Object.values(l).map((c: Cache<string>) => c.synced()));
}

export function stopListers(l: Listers): void {
  for (const c of Object.values(l) as Cache<string>[]) c.stop();
}
