// Knative's cluster-local visibility (pure): which Routes are reachable only from inside, and the
// host names a route has inside (`{name}.{namespace}.svc.cluster.local` and the short forms
// Knative's ingress also programs, `{name}.{namespace}.svc` and `{name}.{namespace}`).

/** The label that makes a Service (copied to its Route) or a Route cluster-local. */
export const VISIBILITY_LABEL = 'networking.knative.dev/visibility';
/** The label's name before Knative moved it to the networking group; older manifests still carry it. */
export const LEGACY_VISIBILITY_LABEL = 'serving.knative.dev/visibility';
export const CLUSTER_LOCAL = 'cluster-local';
/** Kubernetes' default cluster domain. */
export const CLUSTER_DOMAIN = 'cluster.local';
/** The domain of cluster-local URLs: `{name}.{namespace}.svc.cluster.local`. */
export const CLUSTER_LOCAL_DOMAIN = `svc.${CLUSTER_DOMAIN}`;

/** Whether labels mark an object cluster-local (Knative's config-domain lookup gives it the cluster domain then). */
export function isClusterLocal(labels: Record<string, string> | undefined): boolean {
  return labels?.[VISIBILITY_LABEL] === CLUSTER_LOCAL || labels?.[LEGACY_VISIBILITY_LABEL] === CLUSTER_LOCAL;
}

/** The cluster-local address of a route: always `{name}.{namespace}.svc.cluster.local`. */
export function clusterLocalHost(name: string, namespace: string): string {
  return `${name}.${namespace}.${CLUSTER_LOCAL_DOMAIN}`;
}

/**
 * The hosts a cluster-local host is reachable at (Knative's ExpandedHosts): the full name, then
 * without `.cluster.local` and without `.svc.cluster.local`. Other hosts stand alone.
 */
export function expandedHosts(host: string): string[] {
  const suffix = `.${CLUSTER_LOCAL_DOMAIN}`;
  if (!host.endsWith(suffix)) return [host];
  const base = host.slice(0, -suffix.length);
  return [host, `${base}.svc`, base];
}
