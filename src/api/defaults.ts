// Knative's admission defaults (the defaulting webhook), applied to what users send so that stored
// objects look like Knative's: timeouts, containerConcurrency, container names, resources, the
// serving container's readiness probe, read-only mounts, traffic. Pure functions over plain
// objects; the cluster settings come from config-defaults (config-defaults.ts).

import { DEFAULTS, expandNameTemplate, type ServingDefaults } from './config-defaults.js';
import type { Container, ObjectMeta, RevisionSpec, RevisionTemplate, TrafficTarget } from './types.js';

export { DEFAULTS, type ServingDefaults } from './config-defaults.js';

const isObject = (v: unknown): v is Record<string, any> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Knative's applyDefaultContainerNames: a numeric suffix when there are several, never clashing with a given name. */
function defaultContainerNames(containers: unknown[], taken: Set<string>, base: string): void {
  let next = 0;
  for (const c of containers) {
    if (!isObject(c) || c.name) continue;
    let name = base;
    if (containers.length > 1 || taken.has(name)) {
      do name = `${base}-${next++}`;
      while (taken.has(name));
    }
    c.name = name;
  }
}

function defaultProbe(c: Container, serving: boolean): void {
  // Knative's default readiness probe on the serving container is a TCP connect to its port.
  if (serving) {
    const p = isObject(c.readinessProbe) ? { ...c.readinessProbe } : {};
    if (!p.tcpSocket && !p.httpGet && !p.exec && !(p as Record<string, unknown>).grpc) p.tcpSocket = { port: 0 };
    c.readinessProbe = p;
  }
  if (!isObject(c.readinessProbe)) return;
  const p = { ...c.readinessProbe };
  if (!p.successThreshold) p.successThreshold = 1;
  if (p.periodSeconds) {
    // Kubernetes' defaults, once the user took the probing period out of Knative's hands.
    if (!p.failureThreshold) p.failureThreshold = 3;
    if (!p.timeoutSeconds) p.timeoutSeconds = 1;
  }
  c.readinessProbe = p;
  for (const kind of ['readinessProbe', 'livenessProbe', 'startupProbe'] as const) {
    const probe = c[kind] as Record<string, any> | undefined;
    if (isObject(probe) && isObject(probe.grpc) && probe.grpc.service === undefined) {
      c[kind] = { ...probe, grpc: { ...probe.grpc, service: '' } };
    }
  }
}

function defaultResources(c: Container, d: ServingDefaults): void {
  const res = isObject(c.resources) ? { ...c.resources } : {};
  const requests = isObject(res.requests) ? { ...res.requests } : {};
  const limits = isObject(res.limits) ? { ...res.limits } : {};
  for (const [k, v] of Object.entries(d.resourceRequests)) requests[k] ??= v;
  for (const [k, v] of Object.entries(d.resourceLimits)) limits[k] ??= v;
  if (Object.keys(requests).length) res.requests = requests;
  if (Object.keys(limits).length) res.limits = limits;
  c.resources = res;
}

/** Mounts of anything but emptyDir/PVC/ephemeral volumes are read-only, as Knative sets them. */
function defaultMounts(c: Container, writable: Set<string>): void {
  if (!Array.isArray(c.volumeMounts)) return;
  c.volumeMounts = c.volumeMounts.map((m) => (isObject(m) && !writable.has(m.name) ? { ...m, readOnly: true } : m));
}

export function defaultRevisionSpec(spec: RevisionSpec, d: ServingDefaults = DEFAULTS, parent: ObjectMeta = {}): RevisionSpec {
  const out: RevisionSpec = { ...spec };
  if (!out.timeoutSeconds) out.timeoutSeconds = d.revisionTimeoutSeconds;
  const timeout = isInt(out.timeoutSeconds) ? out.timeoutSeconds : d.revisionTimeoutSeconds;
  // The idle and response-start defaults apply only when set and below the revision's own timeout.
  if (out.idleTimeoutSeconds === undefined && d.revisionIdleTimeoutSeconds !== 0 && d.revisionIdleTimeoutSeconds < timeout) {
    out.idleTimeoutSeconds = d.revisionIdleTimeoutSeconds;
  }
  if (
    out.responseStartTimeoutSeconds === undefined &&
    d.revisionResponseStartTimeoutSeconds !== 0 &&
    d.revisionResponseStartTimeoutSeconds < timeout
  ) {
    out.responseStartTimeoutSeconds = d.revisionResponseStartTimeoutSeconds;
  }
  if (out.containerConcurrency === undefined) out.containerConcurrency = d.containerConcurrency;
  if (!Array.isArray(out.containers)) return out;
  const containers = out.containers.map((c) => (isObject(c) ? { ...c } : c)) as Container[];
  const inits = Array.isArray(out.initContainers) ? out.initContainers.map((c) => (isObject(c) ? { ...c } : c)) : undefined;
  const taken = new Set<string>([...containers, ...(inits ?? [])].flatMap((c) => (isObject(c) && c.name ? [String(c.name)] : [])));
  defaultContainerNames(containers, taken, expandNameTemplate(d.containerNameTemplate, parent));
  if (inits) defaultContainerNames(inits, taken, expandNameTemplate(d.initContainerNameTemplate, parent));
  const writable = new Set<string>(
    (Array.isArray(out.volumes) ? out.volumes : [])
      .filter((v: unknown) => isObject(v) && (v.emptyDir || v.persistentVolumeClaim || v.ephemeral))
      .map((v: Record<string, unknown>) => String(v.name)),
  );
  for (const c of containers) {
    if (!isObject(c)) continue;
    defaultResources(c, d);
    defaultProbe(c, containers.length === 1 || (Array.isArray(c.ports) && c.ports.length > 0));
    defaultMounts(c, writable);
  }
  out.containers = containers;
  if (inits) out.initContainers = inits;
  return out;
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

export function defaultTemplate(
  t: RevisionTemplate | undefined,
  d: ServingDefaults = DEFAULTS,
  parent: ObjectMeta = {},
): RevisionTemplate | undefined {
  if (!t || typeof t !== 'object' || !t.spec || typeof t.spec !== 'object') return t;
  return { ...t, metadata: { ...(t.metadata ?? {}) }, spec: defaultRevisionSpec(t.spec, d, parent) };
}

/** latestRevision defaults to "no revisionName given", as Knative's TrafficTarget.SetDefaults does. */
export function defaultTraffic(traffic: TrafficTarget[] | undefined, forService: boolean): TrafficTarget[] | undefined {
  if (traffic === undefined || (Array.isArray(traffic) && traffic.length === 0)) {
    return forService ? [{ latestRevision: true, percent: 100 }] : traffic;
  }
  if (!Array.isArray(traffic)) return traffic;
  return traffic.map((t) => (t && typeof t === 'object' && t.latestRevision === undefined ? { ...t, latestRevision: !t.revisionName } : t));
}
