// Knative's admission defaults (the defaulting webhook), applied to what users send so that stored
// objects look like Knative's: timeoutSeconds, containerConcurrency, container name, readiness
// probe, traffic. Pure functions over plain objects.

import type { Container, RevisionSpec, RevisionTemplate, TrafficTarget } from './types.js';

export interface ServingDefaults {
  revisionTimeoutSeconds: number; // config-defaults revision-timeout-seconds
  maxRevisionTimeoutSeconds: number; // config-defaults max-revision-timeout-seconds
  containerConcurrency: number; // config-defaults container-concurrency
  containerConcurrencyMaxLimit: number; // config-defaults container-concurrency-max-limit
  containerName: string; // config-defaults container-name-template
  defaultPort: number; // Knative gives the user container PORT=8080 unless a containerPort is set
}

export const DEFAULTS: ServingDefaults = {
  revisionTimeoutSeconds: 300,
  maxRevisionTimeoutSeconds: 600,
  containerConcurrency: 0,
  containerConcurrencyMaxLimit: 1000,
  containerName: 'user-container',
  defaultPort: 8080,
};

function defaultContainer(c: Container, index: number, count: number, d: ServingDefaults): Container {
  const out: Container = { ...c };
  if (!out.name) out.name = count === 1 ? d.containerName : `${d.containerName}-${index}`;
  if (!out.resources) out.resources = {};
  // Knative's default readiness probe is a TCP connect to the serving port.
  if (!out.readinessProbe) out.readinessProbe = { tcpSocket: { port: 0 }, successThreshold: 1 };
  else if (out.readinessProbe.successThreshold === undefined) out.readinessProbe = { ...out.readinessProbe, successThreshold: 1 };
  return out;
}

export function defaultRevisionSpec(spec: RevisionSpec, d: ServingDefaults = DEFAULTS): RevisionSpec {
  const out: RevisionSpec = { ...spec };
  if (out.timeoutSeconds === undefined) out.timeoutSeconds = d.revisionTimeoutSeconds;
  if (out.containerConcurrency === undefined) out.containerConcurrency = d.containerConcurrency;
  if (Array.isArray(out.containers)) {
    out.containers = out.containers.map((c, i) => (c && typeof c === 'object' ? defaultContainer(c, i, out.containers.length, d) : c));
  }
  return out;
}

export function defaultTemplate(t: RevisionTemplate | undefined, d: ServingDefaults = DEFAULTS): RevisionTemplate | undefined {
  if (!t || typeof t !== 'object' || !t.spec || typeof t.spec !== 'object') return t;
  return { ...t, metadata: { ...(t.metadata ?? {}) }, spec: defaultRevisionSpec(t.spec, d) };
}

/** latestRevision defaults to "no revisionName given", as Knative's TrafficTarget.SetDefaults does. */
export function defaultTraffic(traffic: TrafficTarget[] | undefined, forService: boolean): TrafficTarget[] | undefined {
  if (traffic === undefined || (Array.isArray(traffic) && traffic.length === 0)) {
    return forService ? [{ latestRevision: true, percent: 100 }] : traffic;
  }
  if (!Array.isArray(traffic)) return traffic;
  return traffic.map((t) => (t && typeof t === 'object' && t.latestRevision === undefined ? { ...t, latestRevision: !t.revisionName } : t));
}

/** The port the app listens on: the first containerPort, else 8080. */
export function containerPort(c: Container, d: ServingDefaults = DEFAULTS): number {
  return c.ports?.[0]?.containerPort ?? d.defaultPort;
}
