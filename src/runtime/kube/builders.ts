// Pure builders of the Kubernetes objects a Revision becomes, after Knative's own
// (pkg/reconciler/revision/resources, autoscaling/hpa/resources) minus what only exists because
// Knative's activator can leave the request path: no queue-proxy sidecar (Sluice's gateway enforces
// containerConcurrency, timeouts and drains), no public Service. What stays:
//   Deployment `{revision}-deployment`: Knative's labels, revisionUID selector, owner reference,
//     maxUnavailable 0, revisionHistoryLimit 0, grace = timeoutSeconds, PORT and K_* env, a
//     preStop sleep so the gateway stops sending before SIGTERM; no replicas (the autoscaler owns
//     them through /scale, or the HPA does);
//   Service `{revision}-private`: headless, selecting the revision's pods, so the real EndpointSlice
//     controller tracks each pod's ready/serving/terminating state;
//   HorizontalPodAutoscaler (hpa class) from the PodAutoscaler, as Knative's MakeHPA.

import { DEFAULTS } from '../../api/defaults.js';
import type { Container, KObject } from '../../api/types.js';
import { Labels } from '../../api/types.js';
import type { ScalingSpec } from '../../autoscaler/annotations.js';
import { ownerRef } from '../../controllers/context.js';

export const deploymentName = (revision: string) => `${revision}-deployment`;
export const privateServiceName = (revision: string) => `${revision}-private`;

/** The port the user container serves on when it declares none (Knative's default). */
export const DEFAULT_USER_PORT = 8080;
/** Knative names the serving container's port so. */
export const USER_PORT_NAME = 'user-port';
export const SERVICE_TYPE_LABEL = 'networking.internal.knative.dev/serviceType';
export const POD_DELETION_COST = 'controller.kubernetes.io/pod-deletion-cost';

const EXCLUDED_LABELS = new Set<string>([Labels.route, Labels.routingState]);
const EXCLUDED_ANNOTATIONS = new Set([
  'serving.knative.dev/lastPinned',
  'serving.knative.dev/preserve',
  'serving.knative.dev/routingStateModified',
  'serving.knative.dev/routes',
]);
/** Fields of a RevisionSpec that are Knative's, not a PodSpec's. */
const KNATIVE_ONLY_SPEC = ['containerConcurrency', 'timeoutSeconds', 'responseStartTimeoutSeconds', 'idleTimeoutSeconds'];

export interface BuildOptions {
  /** Seconds the preStop hook sleeps so the gateway takes the pod out of rotation first. */
  preStopSleepSeconds?: number;
  /** config-deployment progress-deadline (Knative's default 600 s). */
  progressDeadlineSeconds?: number;
}

const filter = (m: Record<string, string> | undefined, drop: (k: string) => boolean): Record<string, string> =>
  Object.fromEntries(Object.entries(m ?? {}).filter(([k]) => !drop(k)));

/** The labels every child of the revision carries (Knative's makeLabels). */
export function revisionLabels(rev: KObject): Record<string, string> {
  const labels = filter(rev.metadata.labels, (k) => EXCLUDED_LABELS.has(k));
  labels[Labels.revision] = rev.metadata.name!;
  labels[Labels.revisionUID] = rev.metadata.uid!;
  labels.app ??= rev.metadata.name!;
  return labels;
}

export const revisionSelector = (rev: KObject) => ({ matchLabels: { [Labels.revisionUID]: rev.metadata.uid! } });

/** The container that receives traffic: the one with a port (Knative allows exactly one), else the first. */
export function servingContainerIndex(containers: Container[]): number {
  const i = containers.findIndex((c) => (c.ports?.length ?? 0) > 0);
  return i < 0 ? 0 : i;
}

export function userPort(rev: KObject): number {
  const containers: Container[] = rev.spec?.containers ?? [];
  return containers[servingContainerIndex(containers)]?.ports?.[0]?.containerPort || DEFAULT_USER_PORT;
}

/** A probe as the kubelet needs it: Knative's "port 0 / unset means the user port" made explicit. */
function kubeletProbe(p: any, port: number, readiness: boolean): any {
  if (!p || typeof p !== 'object') return p;
  const out = structuredClone(p);
  for (const h of ['httpGet', 'tcpSocket']) {
    if (out[h] && (out[h].port === undefined || out[h].port === 0 || out[h].port === '')) out[h].port = port;
  }
  if (out.grpc && !out.grpc.port) out.grpc.port = port;
  // Knative's periodSeconds 0 means "probe aggressively" (queue-proxy's job); the kubelet's
  // minimum is 1 s. The gateway probes not-ready pods itself, so this only sets the floor.
  if (readiness && !(out.periodSeconds >= 1)) out.periodSeconds = 1;
  return out;
}

function envFor(rev: KObject, serving: boolean, port: number, existing: any[] | undefined): any[] {
  const knative = [
    ...(serving ? [{ name: 'PORT', value: String(port) }] : []),
    { name: 'K_REVISION', value: rev.metadata.name! },
    { name: 'K_CONFIGURATION', value: rev.metadata.labels?.[Labels.configuration] ?? '' },
    { name: 'K_SERVICE', value: rev.metadata.labels?.[Labels.service] ?? '' },
  ];
  const reserved = new Set(knative.map((e) => e.name));
  return [...(existing ?? []).filter((e) => !reserved.has(e.name)), ...knative];
}

function podSpec(rev: KObject, o: BuildOptions): Record<string, unknown> {
  const spec = structuredClone(rev.spec ?? {}) as Record<string, any>;
  for (const f of KNATIVE_ONLY_SPEC) delete spec[f];
  const containers: Container[] = spec.containers ?? [];
  const servingIdx = servingContainerIndex(containers);
  const port = userPort(rev);
  spec.containers = containers.map((c: any, i: number) => {
    const serving = i === servingIdx;
    const out: any = { ...c, env: envFor(rev, serving, port, c.env) };
    if (serving) {
      out.ports = [{ name: USER_PORT_NAME, containerPort: port, protocol: 'TCP' }];
      if (out.readinessProbe) out.readinessProbe = kubeletProbe(out.readinessProbe, port, true);
      if (out.livenessProbe) out.livenessProbe = kubeletProbe(out.livenessProbe, port, false);
      if (o.preStopSleepSeconds && !out.lifecycle?.preStop) {
        out.lifecycle = { ...(out.lifecycle ?? {}), preStop: { sleep: { seconds: o.preStopSleepSeconds } } };
      }
    }
    return out;
  });
  spec.terminationGracePeriodSeconds = rev.spec?.timeoutSeconds ?? DEFAULTS.revisionTimeoutSeconds;
  return spec;
}

/** Knative's Deployment for a Revision, without spec.replicas (see the header). */
export function makeDeployment(rev: KObject, o: BuildOptions = {}): KObject {
  const labels = revisionLabels(rev);
  const annotations = filter(rev.metadata.annotations, (k) => EXCLUDED_ANNOTATIONS.has(k) || k.startsWith('autoscaling.knative.dev'));
  const containers: Container[] = rev.spec?.containers ?? [];
  const servingName = containers[servingContainerIndex(containers)]?.name;
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: deploymentName(rev.metadata.name!),
      namespace: rev.metadata.namespace,
      labels,
      annotations,
      ownerReferences: [ownerRef(rev)],
    },
    spec: {
      selector: revisionSelector(rev),
      progressDeadlineSeconds: o.progressDeadlineSeconds ?? 600,
      revisionHistoryLimit: 0,
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: '25%' } },
      template: {
        metadata: {
          labels,
          annotations: { ...annotations, ...(servingName ? { 'kubectl.kubernetes.io/default-container': servingName } : {}) },
        },
        spec: podSpec(rev, o),
      },
    },
  };
}

/** The headless per-revision Service whose EndpointSlices list the revision's pods. */
export function makePrivateService(rev: KObject): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: privateServiceName(rev.metadata.name!),
      namespace: rev.metadata.namespace,
      labels: { ...revisionLabels(rev), [SERVICE_TYPE_LABEL]: 'Private' },
      ownerReferences: [ownerRef(rev)],
    },
    spec: {
      clusterIP: 'None',
      selector: { [Labels.revisionUID]: rev.metadata.uid! },
      ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: userPort(rev) }],
    },
  };
}

const MAX_INT32 = 2147483647;

/**
 * An autoscaling/v2 HPA for an hpa-class PodAutoscaler, as Knative's MakeHPA: bounds from the
 * scale annotations (max 0 ⇒ unlimited), cpu → Utilization, memory → AverageValue in MiB, any
 * other metric → a Pods metric of that name (needs a custom-metrics adapter), and the window
 * annotation as both stabilization windows. A scheduled capacity in force raises minReplicas.
 */
export function makeHPA(pa: KObject, scaling: ScalingSpec, windowSeconds?: number, plannedCapacity = 0): KObject {
  const target = pa.spec?.scaleTargetRef ?? {};
  const max = scaling.maxScale > 0 ? scaling.maxScale : MAX_INT32;
  const spec: Record<string, unknown> = {
    scaleTargetRef: { apiVersion: target.apiVersion ?? 'apps/v1', kind: target.kind ?? 'Deployment', name: target.name },
    maxReplicas: max,
  };
  // Scheduled capacity raises the floor while a period is active (the cron-HPA pattern).
  const min = Math.min(max, Math.max(scaling.minScale, plannedCapacity));
  if (min > 0) spec.minReplicas = min;
  if (scaling.targetFromAnnotation) {
    if (scaling.metricName === 'cpu') {
      spec.metrics = [
        { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: Math.ceil(scaling.target) } } },
      ];
    } else if (scaling.metricName === 'memory') {
      spec.metrics = [
        {
          type: 'Resource',
          resource: { name: 'memory', target: { type: 'AverageValue', averageValue: `${Math.floor(scaling.target)}Mi` } },
        },
      ];
    } else {
      spec.metrics = [
        {
          type: 'Pods',
          pods: {
            metric: { name: scaling.metricName },
            target: { type: 'AverageValue', averageValue: String(Math.floor(scaling.target)) },
          },
        },
      ];
    }
  }
  if (windowSeconds !== undefined) {
    spec.behavior = { scaleDown: { stabilizationWindowSeconds: windowSeconds }, scaleUp: { stabilizationWindowSeconds: windowSeconds } };
  }
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: {
      name: pa.metadata.name,
      namespace: pa.metadata.namespace,
      labels: { ...(pa.metadata.labels ?? {}) },
      annotations: { ...(pa.metadata.annotations ?? {}) },
      ownerReferences: [ownerRef(pa)],
    },
    spec,
  };
}
