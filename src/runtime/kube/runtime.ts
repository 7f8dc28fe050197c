// KubeRuntime: the Runtime seam on a Kubernetes cluster. A workload is the revision's Deployment
// plus its headless private Service (builders.ts), written with server-side apply as field manager
// `sluice` and never with replicas; the instance count changes only through the Deployment's
// /scale subresource, or, for the hpa class, is left to a real HorizontalPodAutoscaler. Instances
// are the revision's Pods (an informer): host = pod IP, port = the user port. Pods the kubelet does
// not yet report Ready are probed directly from here (HTTP/TCP readiness probes, as Knative's
// activator does), so a cold start does not wait for the kubelet's probe period and the
// EndpointSlice round trip; terminating pods are never ready, so the gateway only drains them. On
// scale-down the victims (idle pods first) are chosen here, drained in the gateway, and marked with the lowest
// pod-deletion-cost so the ReplicaSet controller removes exactly those.

import type { KObject } from '../../api/types.js';
import { Labels } from '../../api/types.js';
import { resolveScalingSpec } from '../../autoscaler/annotations.js';
import { plannedCapacity } from '../../autoscaler/schedule.js';
import { HPA_CLASS, type AutoscalerConfig } from '../../autoscaler/config.js';
import { isAlreadyExists, type KubeClient } from '../../kube/client.js';
import { Informer } from '../../kube/reflector.js';
import { T, typeForKey } from '../../kube/resources.js';
import { normalizeProbe, ProbeLoop } from '../local/probe.js';
import type {
  InstancePhase,
  InstanceStatus,
  LogOptions,
  ResourceUsage,
  Runtime,
  WorkloadFailure,
  WorkloadSpec,
  WorkloadStatus,
} from '../runtime.js';
import {
  deploymentName,
  makeDeployment,
  makeHPA,
  makePrivateService,
  POD_DELETION_COST,
  privateServiceName,
  USER_PORT_NAME,
  type BuildOptions,
} from './builders.js';

const REVISIONS = typeForKey('serving.knative.dev/revisions')!;
const PODAUTOSCALERS = typeForKey('autoscaling.internal.knative.dev/podautoscalers')!;

/** Waiting reasons that mean the pod will not start by itself. */
const FAILING_WAIT = new Set([
  'CrashLoopBackOff',
  'ErrImagePull',
  'ImagePullBackOff',
  'InvalidImageName',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
]);

export interface KubeRuntimeOptions extends BuildOptions {
  client: KubeClient;
  /** Watch one namespace only (default: all). */
  namespace?: string;
  /** The autoscaler settings in force (the hpa class's bounds and targets). */
  autoscalerConfig: () => AutoscalerConfig;
  /** Probe not-ready pods from here (default true; needs a route to pod IPs). */
  directProbing?: boolean;
  /** Requests in flight per pod (the gateway's view), so scale-down takes idle pods first. */
  inFlight?: (key: string) => ReadonlyMap<string, number>;
  log?: (msg: string) => void;
}

const podReady = (p: KObject) => p.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True') === true;

function podPort(p: KObject): number {
  for (const c of p.spec?.containers ?? []) {
    const port = (c.ports ?? []).find((x: any) => x.name === USER_PORT_NAME);
    if (port) return port.containerPort;
  }
  return Number(p.spec?.containers?.[0]?.ports?.[0]?.containerPort) || 8080;
}

function servingContainer(p: KObject): any {
  return (
    (p.spec?.containers ?? []).find((c: any) => (c.ports ?? []).some((x: any) => x.name === USER_PORT_NAME)) ?? p.spec?.containers?.[0]
  );
}

/**
 * Which pods go on a scale-down by `n` (pure): not-ready ones first, then the idle ones (fewest
 * requests in flight — the event-gateway class releases *its idle* pod), then the newest.
 */
export function chooseVictims<T extends { id: string; ready: boolean; createdAt: number }>(
  candidates: readonly T[],
  n: number,
  inFlight: ReadonlyMap<string, number>,
): T[] {
  if (n <= 0) return [];
  const busy = (c: T) => inFlight.get(c.id) ?? 0;
  return [...candidates]
    .sort((a, b) => (a.ready !== b.ready ? (a.ready ? 1 : -1) : busy(a) !== busy(b) ? busy(a) - busy(b) : b.createdAt - a.createdAt))
    .slice(0, n);
}

/** What a pod's container statuses say is wrong with it, in Knative's words (pure). */
export function podFailure(p: KObject): WorkloadFailure | undefined {
  for (const cs of p.status?.containerStatuses ?? []) {
    const waiting = cs.state?.waiting;
    if (waiting && FAILING_WAIT.has(waiting.reason)) {
      const last = cs.lastState?.terminated;
      const exit = last ? ` (last exit code ${last.exitCode}${last.reason ? `, ${last.reason}` : ''})` : '';
      return { reason: waiting.reason, message: `${waiting.message ?? `container ${cs.name} is waiting`}${exit}`.trim() };
    }
    const term = cs.state?.terminated;
    if (term && term.exitCode !== 0) {
      return { reason: `ExitCode${term.exitCode}`, message: term.message ?? `container ${cs.name} exited with code ${term.exitCode}` };
    }
  }
  if (p.status?.phase === 'Failed')
    return { reason: p.status.reason ?? 'PodFailed', message: p.status.message ?? `pod ${p.metadata.name} failed` };
  return undefined;
}

function phaseOf(p: KObject, ready: boolean): InstancePhase {
  if (p.metadata.deletionTimestamp) return 'terminating';
  if (ready) return 'ready';
  const waiting = (p.status?.containerStatuses ?? []).find((c: any) => c.state?.waiting)?.state?.waiting;
  if (waiting?.reason === 'CrashLoopBackOff') return 'backoff';
  if (p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed') return 'exited';
  return podReady(p) === false && p.status?.conditions?.some((c: any) => c.type === 'Ready') && p.status?.podIP ? 'unready' : 'starting';
}

interface Applied {
  deployment?: string;
  service?: string;
  hpa?: string;
}

export class KubeRuntime implements Runtime {
  readonly revisions: Informer;
  readonly pods: Informer;
  readonly deployments: Informer;
  private readonly listeners = new Set<(key: string) => void>();
  private drain?: (key: string, instanceId: string) => Promise<void>;
  private readonly desired = new Map<string, WorkloadSpec>();
  private readonly running = new Map<string, Promise<void>>();
  private readonly dirty = new Set<string>();
  private readonly applied = new Map<string, Applied>();
  private readonly probes = new Map<string, ProbeLoop>(); // pod uid → loop
  private readonly probedReady = new Set<string>(); // pod uids that passed our own probe
  private readonly everKubeletReady = new Set<string>();
  private stopped = false;

  constructor(private readonly o: KubeRuntimeOptions) {
    const informer = (t: typeof REVISIONS, labelSelector?: string) =>
      new Informer(o.client, t, { namespace: o.namespace, labelSelector, log: o.log });
    this.revisions = informer(REVISIONS);
    this.pods = informer(T.pods, Labels.revision);
    this.deployments = informer(T.deployments, Labels.revision);
    const byRevision = (x: KObject) => [`${x.metadata.namespace}/${x.metadata.labels?.[Labels.revision] ?? ''}`];
    this.pods.addIndex('revision', byRevision);
    this.pods.on({
      add: (p) => this.podChanged(p),
      update: (_old, p) => this.podChanged(p),
      delete: (p) => this.podGone(p),
    });
    this.deployments.on({ add: (d) => this.emit(byRevision(d)[0]), update: (_o, d) => this.emit(byRevision(d)[0]) });
  }

  /** Starts the informers and resolves once their caches are filled. */
  async start(): Promise<void> {
    for (const i of [this.revisions, this.pods, this.deployments]) i.start();
    await Promise.all([this.revisions.synced(), this.pods.synced(), this.deployments.synced()]);
  }

  private emit(key: string): void {
    for (const l of this.listeners) l(key);
  }

  private podChanged(p: KObject): void {
    const uid = p.metadata.uid!;
    const key = `${p.metadata.namespace}/${p.metadata.labels?.[Labels.revision]}`;
    if (podReady(p)) this.everKubeletReady.add(uid);
    const wantProbe =
      this.o.directProbing !== false &&
      !this.stopped &&
      !p.metadata.deletionTimestamp &&
      !!p.status?.podIP &&
      !podReady(p) &&
      !this.everKubeletReady.has(uid);
    if (wantProbe && !this.probes.has(uid) && !this.probedReady.has(uid)) this.startProbe(p, key);
    if (!wantProbe) this.stopProbe(uid);
    this.emit(key);
  }

  private podGone(p: KObject): void {
    const uid = p.metadata.uid!;
    this.stopProbe(uid);
    this.probedReady.delete(uid);
    this.everKubeletReady.delete(uid);
    this.emit(`${p.metadata.namespace}/${p.metadata.labels?.[Labels.revision]}`);
  }

  private startProbe(p: KObject, key: string): void {
    const c = servingContainer(p);
    const cfg = normalizeProbe(c?.readinessProbe, c?.ports, 'readinessProbe');
    // Only network probes can be run from outside the pod (exec stays the kubelet's).
    if ('error' in cfg || cfg.action.kind === 'exec') return;
    const uid = p.metadata.uid!;
    const loop = new ProbeLoop(
      { ...cfg, initialDelayMs: 0 },
      { host: p.status.podIP, port: podPort(p), cwd: '/', env: {} },
      { initiallyPassing: false, fastUntilFirstPass: true },
      (passing) => {
        if (!passing) return;
        this.probedReady.add(uid);
        this.stopProbe(uid);
        this.emit(key);
      },
    );
    this.probes.set(uid, loop);
    loop.start();
  }

  private stopProbe(uid: string): void {
    this.probes.get(uid)?.stop();
    this.probes.delete(uid);
  }

  /** Ready for traffic: the kubelet says so, or our own probe passed before the kubelet spoke. */
  private isReady(p: KObject): boolean {
    if (p.metadata.deletionTimestamp || !p.status?.podIP) return false;
    if (podReady(p)) return true;
    const uid = p.metadata.uid!;
    return this.probedReady.has(uid) && !this.everKubeletReady.has(uid);
  }

  status(key: string): WorkloadStatus | undefined {
    const [ns, name] = key.split('/');
    const pods = this.pods.byIndex('revision', key);
    const dep = this.deployments.get(ns, deploymentName(name));
    if (!dep && pods.length === 0) return undefined;
    const instances: InstanceStatus[] = pods.map((p) => {
      const ready = this.isReady(p);
      const started = Date.parse(p.status?.startTime ?? p.metadata.creationTimestamp ?? '') || 0;
      return {
        id: p.metadata.name!,
        host: p.status?.podIP ?? '',
        port: podPort(p),
        phase: phaseOf(p, ready),
        ready,
        restarts: (p.status?.containerStatuses ?? []).reduce((n: number, c: any) => n + (c.restartCount ?? 0), 0),
        startedAt: started,
      };
    });
    const readyReplicas = instances.filter((i) => i.ready).length;
    let failure: WorkloadFailure | undefined;
    if (readyReplicas === 0) {
      for (const p of pods) if ((failure = podFailure(p))) break;
      const cond = (dep?.status?.conditions ?? []).find((c: any) => c.type === 'ReplicaFailure' && c.status === 'True');
      if (!failure && cond) failure = { reason: cond.reason ?? 'ReplicaFailure', message: cond.message ?? '' };
    }
    return { key, replicas: dep?.spec?.replicas ?? pods.length, readyReplicas, instances, ...(failure ? { failure } : {}) };
  }

  scaleTarget(revision: string) {
    return { apiVersion: 'apps/v1', kind: 'Deployment', name: deploymentName(revision) };
  }

  onChange(listener: (key: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  setDrainer(drain: (key: string, instanceId: string) => Promise<void>): void {
    this.drain = drain;
  }

  async apply(spec: WorkloadSpec): Promise<void> {
    this.desired.set(spec.key, spec);
    this.kick(spec.key);
  }

  /** One reconcile per key at a time; a change while it runs makes it run again with the latest spec. */
  private kick(key: string): void {
    if (this.running.has(key)) {
      this.dirty.add(key);
      return;
    }
    const run = (async () => {
      do {
        this.dirty.delete(key);
        const spec = this.desired.get(key);
        if (!spec || this.stopped) break;
        try {
          await this.reconcile(spec);
        } catch (e) {
          this.o.log?.(`kube runtime: ${key}: ${(e as Error).message}`);
          // Retry a failed write after a pause (the API may be restarting, or a conflict).
          await new Promise((r) => setTimeout(r, 1000).unref());
          if (!this.stopped) this.dirty.add(key);
        }
      } while (this.dirty.has(key));
    })();
    this.running.set(key, run);
    void run.finally(() => this.running.delete(key));
  }

  private async revision(ns: string, name: string): Promise<KObject | undefined> {
    return this.revisions.get(ns, name) ?? (await this.o.client.get(REVISIONS, ns, name));
  }

  private async reconcile(spec: WorkloadSpec): Promise<void> {
    const rev = await this.revision(spec.namespace, spec.revision);
    if (!rev) return;
    const done = this.applied.get(spec.key) ?? {};
    this.applied.set(spec.key, done);
    const ns = spec.namespace;
    const scaling = resolveScalingSpec(rev.metadata.annotations, rev.spec?.containerConcurrency, this.o.autoscalerConfig());
    const hpaClass = scaling.class === HPA_CLASS;

    const dep = makeDeployment(rev, this.o);
    const depText = JSON.stringify(dep);
    let live =
      this.deployments.get(ns, deploymentName(spec.revision)) ??
      (await this.o.client.get(T.deployments, ns, deploymentName(spec.revision)));
    if (!live) {
      // Created once with its first replica count (as Knative's initial scale), by a plain create,
      // so `sluice`'s applied configuration never owns spec.replicas.
      try {
        live = await this.o.client.create(T.deployments, {
          ...dep,
          spec: { ...dep.spec, replicas: hpaClass ? Math.max(1, spec.replicas) : spec.replicas },
        });
        done.deployment = depText;
      } catch (e) {
        if (!isAlreadyExists(e)) throw e;
        live = await this.o.client.get(T.deployments, ns, deploymentName(spec.revision));
      }
    }
    if (done.deployment !== depText) {
      live = await this.o.client.apply(T.deployments, dep, { force: true });
      done.deployment = depText;
    }
    const svc = makePrivateService(rev);
    const svcText = JSON.stringify(svc);
    if (done.service !== svcText) {
      await this.o.client.apply(T.services, svc, { force: true });
      done.service = svcText;
    }

    if (hpaClass) {
      const pa = await this.o.client.get(PODAUTOSCALERS, ns, spec.revision);
      if (!pa) throw new Error(`PodAutoscaler ${ns}/${spec.revision} not there yet`);
      const window = rev.metadata.annotations?.['autoscaling.knative.dev/window'];
      const hpa = makeHPA(
        { ...pa, spec: { ...pa.spec, scaleTargetRef: this.scaleTarget(spec.revision) } },
        scaling,
        window ? Math.round(scaling.stableWindowMs / 1000) : undefined,
        plannedCapacity(scaling.schedule, Date.now()),
      );
      const hpaText = JSON.stringify(hpa);
      if (done.hpa !== hpaText) {
        await this.o.client.apply(T.hpas, hpa, { force: true });
        done.hpa = hpaText;
      }
      return; // the HPA owns replicas
    }

    const current = live?.spec?.replicas ?? 0;
    if (spec.replicas === current) return;
    if (spec.replicas < current) await this.prepareScaleDown(spec.key, current - spec.replicas);
    await this.o.client.scale(T.deployments, ns, deploymentName(spec.revision), spec.replicas);
  }

  /** Picks the pods to go, drains them in the gateway, and makes the ReplicaSet pick the same ones. */
  private async prepareScaleDown(key: string, n: number): Promise<void> {
    const pods = this.pods.byIndex('revision', key).filter((p) => !p.metadata.deletionTimestamp);
    const candidates = pods.map((p) => ({
      id: p.metadata.name!,
      pod: p,
      ready: this.isReady(p),
      createdAt: Date.parse(p.metadata.creationTimestamp ?? '') || 0,
    }));
    const victims = chooseVictims(candidates, n, this.o.inFlight?.(key) ?? new Map());
    await Promise.all(
      victims.map(async ({ pod }) => {
        await this.o.client.patch(
          T.pods,
          pod.metadata.namespace,
          pod.metadata.name!,
          { metadata: { annotations: { [POD_DELETION_COST]: '-1000' } } },
          'merge',
        );
        if (this.drain) await this.drain(key, pod.metadata.name!);
      }),
    );
  }

  async remove(key: string): Promise<void> {
    const [ns, name] = key.split('/');
    this.desired.delete(key);
    this.applied.delete(key);
    // Owner references make the garbage collector do this when the Revision goes; removing
    // explicitly covers a revision that stays but must stop running.
    await this.o.client.delete(T.deployments, ns, deploymentName(name), { propagationPolicy: 'Background' });
    await this.o.client.delete(T.services, ns, privateServiceName(name));
    await this.o.client.delete(T.hpas, ns, name);
  }

  async logs(key: string, opts: LogOptions, write: (line: string) => void): Promise<() => void> {
    const pods = this.pods.byIndex('revision', key);
    const stops = await Promise.all(
      // A named container (a sidecar, `sluice logs -c`) or, by default, the serving one.
      pods.map((p) =>
        this.o.client.podLog(p.metadata.namespace!, p.metadata.name!, opts.container ?? servingContainer(p)?.name, opts, write),
      ),
    );
    return () => stops.forEach((s) => s());
  }

  /** Pod CPU and memory come from metrics.k8s.io to the real HPA; Sluice's own hpa decider is not used here. */
  async usage(_key: string): Promise<ResourceUsage[]> {
    return [];
  }

  async shutdown(): Promise<void> {
    this.stopped = true;
    for (const uid of [...this.probes.keys()]) this.stopProbe(uid);
    await Promise.allSettled([...this.running.values()]);
    await Promise.all([this.revisions.stop(), this.pods.stop(), this.deployments.stop()]);
  }
}
