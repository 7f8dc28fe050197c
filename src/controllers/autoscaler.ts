// The autoscaler controller: the control-plane side of src/autoscaler's pure deciders.
//
//   every second   its own gateway stats reader → RevisionMetrics (1 s buckets, stable/panic windows)
//   every tick     decide() per revision (tick-interval, 2 s) → desired instances → runtime
//   on demand      the gateway starts holding requests → decideOnDemand() at once → runtime
//   on failure     the runtime reports a failed start while requests are held → 503 with the reason
//   always         a PodAutoscaler per revision shows desired/actual scale, mode, metrics, errors
//
// A revision whose last decision is settled (at zero, no instance, no traffic: autoscaling/quiet.ts)
// sleeps: it is not sampled or decided, and its PodAutoscaler is not looked at, until an event about
// it (revision, PodAutoscaler, route, runtime, held requests, config) wakes it, or the time at
// which the clock alone would change its decision (grace periods, scheduled capacity). So each
// second and each tick costs what changed, not the number of revisions.
//
// Settings come from ConfigMap knative-serving/config-autoscaler, re-read on every change; a bad
// change is refused (the previous settings stay) and the reason is put on the ConfigMap.

import { hash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { KObject } from '../api/types.js';
import { setAnnotationValidator } from '../api/validation.js';
import {
  type AutoscalerConfig,
  type AutoscalerState,
  type Decision,
  type DecideInput,
  type ScalingPlugin,
  type ScalingSpec,
  EVENT_GATEWAY_CLASS,
  HPA_CLASS,
  KPA_CLASS,
  PLUGIN_CLASS,
  RevisionMetrics,
  type RevisionMetricsOptions,
  averageCpuUtilization,
  averageMemoryMiB,
  cpuRequestCores,
  decide,
  decideKpa,
  decideOnDemand,
  defaultAutoscalerConfig,
  formatFieldErrors,
  initialAutoscalerState,
  initialReplicas,
  newKpaState,
  parseAutoscalerConfig,
  resolveScalingSpec,
  validateAnnotations,
} from '../autoscaler/index.js';
import type { RevisionLoad } from '../dataplane/gateway.js';
import type { StatsReader } from '../dataplane/stats.js';
import type { ResourceUsage, Runtime, WorkloadStatus } from '../runtime/runtime.js';
import type { EventRecorder } from '../events/recorder.js';
import type { Store, WatchEvent } from '../store/store.js';
import { type Listers, ROUTES_BY_REVISION } from './listers.js';
import {
  AUTOSCALER_CONFIGMAP,
  CONFIG_ERROR_ANNOTATION,
  CONFIG_NAMESPACE,
  autoscalerConfigMap,
  configData,
  defaultAutoscalerConfigData,
} from './autoscaling/config-map.js';
import {
  type ActiveState,
  type Reachability,
  type RoutingState,
  metricsView,
  nextRoutingState,
  podAutoscalerFor,
  podAutoscalerStatus,
  reachabilityOf,
  referencedRevisions,
} from './autoscaling/podautoscaler.js';
import { Alarms, settledUntil } from './autoscaling/quiet.js';
import { type ReconcileKind, RES, type ScaleSource } from './context.js';
import { revisionKey, workloadSpecFor, type GatewayConcurrencyHint } from './revision.js';

/** What the autoscaler needs from the gateway (the Gateway class implements it). */
export interface AutoscalerGateway {
  /** A reader of its own: reading windows never disturbs other consumers of the same stats. */
  reader(): StatsReader;
  load(revisionKey: string): RevisionLoad | undefined;
  onDemand(cb: (revisionKey: string) => void): () => void;
  failHeld(revisionKey: string, status: number, message: string): number;
}

export interface AutoscalerControllerOptions {
  /** Writes (PodAutoscalers, config-autoscaler) go here. */
  store: Store;
  /** Revisions, routes and PodAutoscalers are read from these (synced before start()). */
  listers: Listers;
  runtime: Runtime;
  gateway: AutoscalerGateway;
  /** The controller manager's queue: a revision whose desired scale changed is reconciled. */
  enqueue: (kind: ReconcileKind, namespace: string, name: string) => void;
  log: (msg: string) => void;
  plugins?: ReadonlyMap<string, ScalingPlugin>;
  /** config-autoscaler keys written into the ConfigMap at startup (tests shorten the windows). */
  configOverrides?: Record<string, string>;
  /** Epoch milliseconds (injectable for tests). */
  now?: () => number;
  /** How often the gateway is sampled (default 1000 ms, Knative's bucket size). */
  sampleIntervalMs?: number;
  /** Least time between PodAutoscaler writes that only refresh metric values (default 5000 ms). */
  metricsWriteIntervalMs?: number;
  /** Where user-facing Events go (cold-start failures). */
  events?: EventRecorder;
  /** Told of every decision applied (logs, events, metrics); must be cheap and must not throw. */
  onDecision?: (r: DecisionRecord) => void;
}

/** One applied decision, for observers. */
export interface DecisionRecord {
  key: string;
  class: string;
  mode: string;
  /** Instances asked of the runtime before and after. */
  from: number;
  to: number;
  reason?: string;
  error?: string;
}

/** A tracked revision's decider state, read at scrape time (Knative's autoscaler_* gauges). */
export interface DeciderView {
  key: string;
  class: string;
  /** The scaling metric (concurrency, rps, cpu, memory, or a plugin's name). */
  metric: string;
  /** What the last decision wanted, and what was asked of the runtime. */
  desired: number;
  requested: number;
  /** stable | panic | hpa | event-gateway | plugin ... (the last decision's). */
  mode: string;
  panic: boolean;
  stable?: number;
  panicValue?: number;
  target?: number;
  excessBurstCapacity?: number;
  /** Why the last decision set the count it set. */
  reason?: string;
}

/** Why a decision set the count it set, in words for people (PodAutoscaler status, logs). */
export function decisionReason(d: Decision): string | undefined {
  if (d.planned > d.metricDesired && d.desired > d.metricDesired)
    return `scheduled capacity: ${d.planned} planned, the metric wants ${d.metricDesired}`;
  return typeof d.details?.reason === 'string' && d.details.reason !== '' ? d.details.reason : undefined;
}

interface Tracked {
  key: string;
  ns: string;
  name: string;
  rev: KObject;
  spec: ScalingSpec;
  /** Annotation problems (revisions admitted before a config change, or created around admission). */
  specError?: string;
  state: AutoscalerState;
  metrics: RevisionMetrics;
  /** Instances asked of the runtime. */
  desired: number;
  routing: RoutingState;
  failed: boolean;
  reachability: Reachability;
  /** Non-KPA classes: an instance was ready once. */
  initialized: boolean;
  last?: Decision;
  /** Bumped by every decision, so a slow (plugin) decision does not overwrite a newer one. */
  version: number;
  deciding: boolean;
  demandScheduled: boolean;
  /** Pending second look at held requests (see handleDemand). */
  recheck?: NodeJS.Timeout;
  usage?: { at: number; list: ResourceUsage[] };
  /** Event gateway: when each endpoint was first seen (the "last busy" of a never-used instance); made at first use. */
  firstSeen?: Map<string, number>;
  /** Neither sampled nor decided until woken (see the header). */
  asleep: boolean;
  /** When a sleeping revision wakes by itself (epoch ms), if ever. */
  alarmAt?: number;
  /** Woken: nothing happened to it until this stats time, where its next window starts. */
  idleUntil?: number;
  pa: {
    busy: boolean;
    dirty: boolean;
    timer?: NodeJS.Timeout;
    lastKey?: string;
    lastMetricsAt: number;
    /** What the PodAutoscaler was last synced from (see paFingerprint); undefined = sync on the next decision. */
    fingerprint?: string;
    /** A metrics-only write held back by the write interval is tried again then. */
    retry?: NodeJS.Timeout;
    /** resourceVersion of the PodAutoscaler the last sync wrote or found right: its own events need no sync. */
    rv?: string;
  };
}

interface Restored {
  desired?: number;
  routing?: RoutingState;
  initialized: boolean;
}

const PA = RES.podautoscalers;
/** While requests are held, how soon the next arrivals of a burst are counted too. */
const DEMAND_RECHECK_MS = 50;
/** How long a PodAutoscaler write waits, so a burst of changes becomes one write. */
const PA_WRITE_DELAY_MS = 50;
/** proxySince for the deciders: Sluice's gateway has been in every revision's request path forever. */
const ALWAYS_IN_PATH = 0;

const ROUTING_STATES = new Set<string>(['pending', 'active', 'reserve']);
/** Decisions made in one turn of the event loop before a tick lets other work run. */
const TICK_CHUNK = 256;

/**
 * What of a decision shows on the PodAutoscaler (statusFor reads it): a decision with the same
 * fingerprint as the last synced one needs no sync. Everything else statusFor or podAutoscalerFor
 * reads (runtime status, routes, the revision, the PodAutoscaler itself) requests a sync when it
 * changes.
 */
function paFingerprint(t: Tracked, d: Decision): string {
  const kpa = t.state.kpa;
  return digest([
    t.desired,
    d.mode,
    d.planned,
    d.metricDesired,
    decisionReason(d) ?? '',
    d.error ?? '',
    kpa ? [kpa.status, kpa.initialized, kpa.panicTime !== null] : 0,
    t.initialized,
    metricsView(d.details, t.spec.metricName || t.spec.metric),
  ]);
}

/** A short stand-in for a value's JSON, for "did it change" checks kept per revision (the JSON itself was 600 bytes each). */
function digest(v: unknown): string {
  return hash('sha1', JSON.stringify(v), 'base64');
}

/** The message held requests get when their revision cannot start. */
export function coldStartFailureMessage(name: string, reason: string, message: string): string {
  return `Revision "${name}" failed to start: ${reason}: ${message}`;
}

let validatorOwner: object | null = null;

/** A revision's metric windows; raw samples only where a plugin reads them. */
function metricsOptions(spec: ScalingSpec): RevisionMetricsOptions {
  return {
    stableWindowMs: spec.stableWindowMs,
    panicWindowMs: spec.panicWindowMs,
    algorithm: spec.aggregation,
    keepSamples: spec.class === PLUGIN_CLASS,
  };
}

function deciderView(t: Tracked): DeciderView {
  const num = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? x : undefined);
  const det = t.last?.details ?? {};
  const reason = t.last ? decisionReason(t.last) : undefined;
  return {
    key: t.key,
    class: t.spec.class,
    metric: t.spec.metricName || t.spec.metric,
    desired: t.last?.desired ?? t.desired,
    requested: t.desired,
    mode: t.last?.mode ?? (t.state.kpa?.panicTime != null ? 'panic' : 'stable'),
    panic: t.last ? t.last.mode === 'panic' : t.state.kpa?.panicTime != null,
    stable: num(det.observedStable),
    panicValue: num(det.observedPanic),
    target: num(det.target),
    excessBurstCapacity: num(det.excessBurstCapacity),
    ...(reason ? { reason } : {}),
  };
}

export class AutoscalerController implements ScaleSource, GatewayConcurrencyHint {
  private config: AutoscalerConfig = defaultAutoscalerConfig();
  private configError: string | undefined;
  private readonly tracked = new Map<string, Tracked>();
  private readonly restored = new Map<string, Restored>();
  private readonly plugins: ReadonlyMap<string, ScalingPlugin>;
  private readonly now: () => number;
  private readonly unsubscribe: (() => void)[] = [];
  private sampleTimer: NodeJS.Timeout | undefined;
  private readonly sampleMs: number;
  /** Time of the last tick (epoch ms); ticks run on the sample timer every tick-interval. */
  private lastTick = 0;
  private stopped = false;
  private readonly metricsWriteMs: number;
  private ticks = { count: 0, lastMs: 0, maxMs: 0, revisions: 0, decided: 0 };
  private readonly stats: StatsReader;
  /** The revisions sampled every second and decided every tick (the others sleep). */
  private readonly awake = new Set<Tracked>();
  private readonly alarms = new Alarms<Tracked>();
  /** The stats reader's time at the last sampling round. */
  private sampledAt: number | undefined;
  private ticking = false;
  /** A tick was asked for while one ran: run another when it ends. */
  private tickAgain = false;

  constructor(private readonly o: AutoscalerControllerOptions) {
    this.stats = o.gateway.reader();
    this.plugins = o.plugins ?? new Map();
    this.now = o.now ?? (() => Date.now());
    this.metricsWriteMs = o.metricsWriteIntervalMs ?? 5000;
    this.sampleMs = o.sampleIntervalMs ?? 1000;
  }

  /** The settings in force (for tests and status output). */
  currentConfig(): AutoscalerConfig {
    return this.config;
  }

  /** The message of the last refused config-autoscaler change, if the current data is refused. */
  currentConfigError(): string | undefined {
    return this.configError;
  }

  /**
   * Reads the config (creating the ConfigMap when missing), remembers what the PodAutoscalers
   * recorded before a restart, and starts sampling and ticking. Call before the controllers start.
   */
  async start(): Promise<void> {
    const { store } = this.o;
    await this.ensureConfigMap();
    for (const pa of this.o.listers.podautoscalers.list()) {
      const st = pa.status ?? {};
      const routing = pa.metadata.labels?.['serving.knative.dev/routingState'];
      this.restored.set(revisionKey(pa.metadata.namespace ?? '', pa.metadata.name!), {
        desired: Number.isInteger(st.desiredScale) && st.desiredScale >= 0 ? st.desiredScale : undefined,
        routing: routing && ROUTING_STATES.has(routing) ? (routing as RoutingState) : undefined,
        initialized: !!st.conditions?.some?.(
          (c: { type: string; status: string }) => c.type === 'ScaleTargetInitialized' && c.status === 'True',
        ),
      });
    }
    const l = this.o.listers;
    const configMaps = await store.list(RES.configmaps, CONFIG_NAMESPACE);
    // The watch starts where its list left off, so nothing between the list and the watch is missed.
    this.unsubscribe.push(
      await store.watch(
        RES.configmaps,
        { resourceVersion: configMaps.resourceVersion, namespace: CONFIG_NAMESPACE },
        { onEvent: (e) => this.onEvent(e) },
      ),
      l.revisions.onChange((e) => this.onEvent({ ...e, resource: RES.revisions })),
      l.podautoscalers.onChange((e) => this.onEvent({ ...e, resource: PA })),
      l.routes.onChange((e) => this.onRouteChange(e.object, e.old)),
    );
    this.unsubscribe.push(this.o.gateway.onDemand((key) => this.onDemand(key)));
    this.unsubscribe.push(this.o.runtime.onChange((key) => this.onRuntimeChange(key)));
    this.installValidator();
    // One timer for sampling and ticking: a decision right after a sample reads the windows in the
    // same 1 s bucket, so a panic window of one bucket is never read as empty.
    this.sampleTimer = setInterval(() => this.onTimer(), this.sampleMs);
    this.sampleTimer.unref();
  }

  stop(): void {
    this.stopped = true;
    for (const u of this.unsubscribe.splice(0)) u();
    if (this.sampleTimer) clearInterval(this.sampleTimer);
    for (const t of this.tracked.values()) {
      if (t.recheck) clearTimeout(t.recheck);
      if (t.pa.timer) clearTimeout(t.pa.timer);
      if (t.pa.retry) clearTimeout(t.pa.retry);
    }
    this.awake.clear();
    this.alarms.clear();
    if (validatorOwner === this) {
      setAnnotationValidator(() => []);
      validatorOwner = null;
    }
  }

  // ---- ScaleSource ----

  desiredReplicas(rev: KObject): number {
    const key = revisionKey(rev.metadata.namespace ?? '', rev.metadata.name!);
    const t = this.tracked.get(key);
    if (!t) return this.track(rev).desired;
    if (t.rev === rev) return t.desired;
    const changed =
      !isDeepStrictEqual(t.rev.metadata.annotations ?? {}, rev.metadata.annotations ?? {}) ||
      t.rev.spec?.containerConcurrency !== rev.spec?.containerConcurrency;
    const labelled = t.rev.metadata.uid !== rev.metadata.uid || !isDeepStrictEqual(t.rev.metadata.labels ?? {}, rev.metadata.labels ?? {});
    t.rev = rev;
    if (changed) this.resolve(t);
    // Its labels and uid are copied onto the PodAutoscaler (the rest of a Revision's changes, its
    // status above all, touch neither the decision nor the PodAutoscaler).
    else if (labelled) this.requestPaSync(t);
    return t.desired;
  }

  /** The event-gateway class serves one request per instance, whatever containerConcurrency says. */
  gatewayConcurrency(rev: KObject): number | undefined {
    const key = revisionKey(rev.metadata.namespace ?? '', rev.metadata.name!);
    const spec = this.tracked.get(key)?.spec ?? resolveScalingSpec(rev.metadata.annotations, rev.spec?.containerConcurrency, this.config);
    return spec.class === EVENT_GATEWAY_CLASS ? 1 : undefined;
  }

  // ---- tracking ----

  /**
   * A revision is tracked when its reconcile first asks for its scale; after a restart that may be
   * thousands of keys away in the work queue, and a request held for it must not wait for that.
   */
  private trackStored(key: string): Tracked | undefined {
    const slash = key.indexOf('/');
    const rev = this.o.listers.revisions.get(key.slice(0, slash), key.slice(slash + 1));
    return rev ? this.track(rev) : undefined;
  }

  private track(rev: KObject): Tracked {
    const ns = rev.metadata.namespace ?? '';
    const name = rev.metadata.name!;
    const key = revisionKey(ns, name);
    const now = this.now();
    const { spec, error } = this.specFor(rev);
    const restored = this.restored.get(key);
    this.restored.delete(key);
    let desired: number;
    let state: AutoscalerState;
    if (restored?.desired !== undefined) {
      // A restart: the runtime brings back what ran before; the deciders treat those instances
      // as running (KPA starts in panic so it does not scale down on an empty history).
      desired = restored.desired;
      state = initialAutoscalerState(spec, now, desired);
      if (desired === 0 && state.kpa) state.kpa = { ...newKpaState(now, 0), status: 'inactive', initialized: restored.initialized };
    } else {
      desired = initialReplicas(spec);
      state = initialAutoscalerState(spec, now, 0);
    }
    const routing = nextRoutingState(restored?.routing ?? 'pending', this.isReferenced(key));
    const t: Tracked = {
      key,
      ns,
      name,
      rev,
      spec,
      specError: error,
      state,
      metrics: new RevisionMetrics(metricsOptions(spec)),
      desired,
      routing,
      failed: false,
      reachability: reachabilityOf(routing, false),
      initialized: restored?.initialized ?? false,
      version: 0,
      deciding: false,
      demandScheduled: false,
      asleep: false,
      pa: { busy: false, dirty: false, lastMetricsAt: 0 },
    };
    this.tracked.set(key, t);
    this.awake.add(t);
    this.applyScale(t);
    this.requestPaSync(t);
    return t;
  }

  private specFor(rev: KObject): { spec: ScalingSpec; error?: string } {
    const anns = rev.metadata.annotations;
    const spec = resolveScalingSpec(anns, rev.spec?.containerConcurrency, this.config);
    const errs = validateAnnotations(anns, this.config, { knownPlugins: this.plugins.keys() }).filter((e) => e.level !== 'warning');
    return { spec, error: errs.length ? `invalid annotations (defaults apply): ${formatFieldErrors(errs)}` : undefined };
  }

  /** Re-reads a revision's annotations against the current config. */
  private resolve(t: Tracked): void {
    const { spec, error } = this.specFor(t.rev);
    const classChanged = spec.class !== t.spec.class;
    t.spec = spec;
    t.specError = error;
    t.metrics.configure(metricsOptions(spec));
    if (classChanged) {
      t.state = initialAutoscalerState(spec, this.now(), this.o.runtime.status(t.key)?.readyReplicas ?? 0);
      t.version++;
      // The gateway's per-instance limit depends on the class (event gateway: one request).
      this.o.enqueue('Revision', t.ns, t.name);
    }
    this.wake(t);
    this.requestPaSync(t);
  }

  /** Back to being sampled and decided (see the header); cheap, so every event may call it. */
  private wake(t: Tracked): void {
    if (!t.asleep || this.tracked.get(t.key) !== t) return;
    t.asleep = false;
    t.alarmAt = undefined;
    // It was idle at least until the last sampling round (anything happening to it wakes it at once).
    t.idleUntil = this.sampledAt;
    this.awake.add(t);
  }

  /** After a tick's decision: stop sampling and deciding a revision whose decision is settled. */
  private maybeSleep(t: Tracked, d: Decision, now: number): void {
    if (t.asleep || this.tracked.get(t.key) !== t || t.demandScheduled || t.recheck) return;
    const st = this.o.runtime.status(t.key);
    const load = this.o.gateway.load(t.key);
    const s = settledUntil({
      spec: t.spec,
      decision: d,
      requested: t.desired,
      reachable: t.reachability !== 'Unreachable',
      instances: st?.instances.length ?? 0,
      held: load?.queued ?? 0,
      inFlight: load?.inFlight ?? 0,
      endpoints: load?.endpoints.length ?? 0,
      metricsOnlyZeros: t.metrics.onlyZeros(),
      proxySince: ALWAYS_IN_PATH,
      now,
    });
    if (!s) return;
    t.metrics.pause(now);
    if (!t.metrics.paused) return;
    t.asleep = true;
    this.awake.delete(t);
    if (s.until !== undefined) {
      t.alarmAt = s.until;
      this.alarms.add(s.until, t);
    }
  }

  /** Wakes the sleepers whose time has come. */
  private ringAlarms(now: number): void {
    for (const { at, item: t } of this.alarms.due(now)) if (t.asleep && t.alarmAt === at) this.wake(t);
  }

  private untrack(key: string): void {
    const t = this.tracked.get(key);
    if (t?.recheck) clearTimeout(t.recheck);
    if (t?.pa.timer) clearTimeout(t.pa.timer);
    if (t?.pa.retry) clearTimeout(t.pa.retry);
    if (t) this.awake.delete(t);
    this.tracked.delete(key);
    this.restored.delete(key);
    this.stats.forget(key);
  }

  // ---- watch events ----

  private onEvent(e: WatchEvent): void {
    if (this.stopped) return;
    const o = e.object;
    const ns = o.metadata.namespace ?? '';
    const name = o.metadata.name!;
    switch (e.resource) {
      case RES.configmaps:
        if (ns === CONFIG_NAMESPACE && name === AUTOSCALER_CONFIGMAP)
          void this.onConfigMap(e).catch((err) => this.o.log(`autoscaler: config-autoscaler: ${String(err?.message ?? err)}`));
        break;
      case RES.revisions: {
        const key = revisionKey(ns, name);
        if (e.type === 'DELETED') this.untrack(key);
        else {
          const t = this.tracked.get(key);
          if (t) this.desiredReplicas(o);
        }
        break;
      }
      case PA: {
        // Someone deleted or edited a PodAutoscaler of a live revision: it is written again (a
        // sync of an unchanged one, such as after this controller's own write, only compares).
        // Nothing on it feeds a decision, so a sleeping revision sleeps on.
        const t = this.tracked.get(revisionKey(ns, name));
        if (!t) break;
        if (e.type === 'DELETED') {
          t.pa.lastKey = undefined;
          t.pa.rv = undefined;
        } else if (t.pa.busy || o.metadata.resourceVersion === t.pa.rv) {
          // This controller's own write (a sync in progress looks at the lister again when it ends).
          break;
        }
        this.requestPaSync(t);
        break;
      }
    }
  }

  /** Whether any route's traffic names the revision (the listers index routes by the revisions they name). */
  private isReferenced(key: string): boolean {
    return this.o.listers.routes.byIndex(ROUTES_BY_REVISION, key).length > 0;
  }

  /** Only the revisions the route names now or named before can change reachability. */
  private onRouteChange(route: KObject, old: KObject | undefined): void {
    if (this.stopped) return;
    for (const key of new Set([...referencedRevisions([route]), ...(old ? referencedRevisions([old]) : [])])) {
      const t = this.tracked.get(key);
      if (t) {
        this.wake(t);
        this.updateReachability(t);
      }
    }
  }

  private updateReachability(t: Tracked): void {
    const routing = nextRoutingState(t.routing, this.isReferenced(t.key));
    const reachability = reachabilityOf(routing, t.failed);
    if (routing === t.routing && reachability === t.reachability) return;
    t.routing = routing;
    t.reachability = reachability;
    this.wake(t);
    this.requestPaSync(t);
  }

  // ---- config ----

  private async ensureConfigMap(): Promise<void> {
    const { store } = this.o;
    let cm = await store.get(RES.configmaps, CONFIG_NAMESPACE, AUTOSCALER_CONFIGMAP);
    if (!cm) {
      try {
        cm = await store.create(
          RES.configmaps,
          autoscalerConfigMap({ ...defaultAutoscalerConfigData(), ...(this.o.configOverrides ?? {}) }),
        );
      } catch (err) {
        if ((err as { code?: number }).code !== 409) throw err;
        cm = await store.get(RES.configmaps, CONFIG_NAMESPACE, AUTOSCALER_CONFIGMAP);
      }
    } else if (this.o.configOverrides) {
      const data = { ...configData(cm), ...this.o.configOverrides };
      if (!isDeepStrictEqual(data, configData(cm))) cm = await store.update(RES.configmaps, { ...cm, data });
    }
    await this.applyConfigMap(cm);
  }

  private async onConfigMap(e: WatchEvent): Promise<void> {
    if (e.type === 'DELETED') {
      // Without the ConfigMap Knative falls back to its defaults; Sluice also writes them back so
      // there is something to edit.
      this.o.log('autoscaler: config-autoscaler was deleted; recreating it with the defaults');
      try {
        await this.o.store.create(RES.configmaps, autoscalerConfigMap(defaultAutoscalerConfigData()));
      } catch (err) {
        if ((err as { code?: number }).code !== 409) throw err;
      }
      return;
    }
    await this.applyConfigMap(e.object);
  }

  private async applyConfigMap(cm: KObject | undefined): Promise<void> {
    let next: AutoscalerConfig | undefined;
    let problem: string | undefined;
    try {
      next = parseAutoscalerConfig(configData(cm));
    } catch (err) {
      problem = String((err as Error)?.message ?? err);
    }
    if (next) {
      const changed = !isDeepStrictEqual(next, this.config);
      this.config = next;
      if (this.configError) this.o.log('autoscaler: config-autoscaler is valid again');
      this.configError = undefined;
      if (changed) this.applyConfigToAll();
    } else if (problem !== this.configError) {
      this.configError = problem;
      this.o.log(`autoscaler: config-autoscaler refused, keeping the previous settings: ${problem}`);
    }
    await this.markConfigMap(cm, this.configError);
  }

  /** Puts the refusal on the ConfigMap (or takes it off), so `kubectl get cm -o yaml` shows it. */
  private async markConfigMap(cm: KObject | undefined, error: string | undefined): Promise<void> {
    if (!cm) return;
    const anns = cm.metadata.annotations ?? {};
    const msg = error ? `refused, the previous settings stay in force: ${error}` : undefined;
    if (anns[CONFIG_ERROR_ANNOTATION] === msg) return;
    const next = { ...anns };
    if (msg) next[CONFIG_ERROR_ANNOTATION] = msg;
    else delete next[CONFIG_ERROR_ANNOTATION];
    try {
      await this.o.store.update(RES.configmaps, { ...cm, metadata: { ...cm.metadata, annotations: next } });
    } catch (err) {
      // A newer version arrived meanwhile; its own event marks it.
      if ((err as { code?: number }).code !== 409 && (err as { code?: number }).code !== 404) throw err;
    }
  }

  private applyConfigToAll(): void {
    this.installValidator();
    for (const t of this.tracked.values()) this.resolve(t);
    // A new floor or ceiling (min-scale, enable-scale-to-zero...) applies without waiting a tick.
    this.tickAll();
  }

  private installValidator(): void {
    // oxlint-disable-next-line typescript/no-this-alias -- the process-wide validator remembers which autoscaler installed it
    validatorOwner = this;
    setAnnotationValidator((anns) =>
      validateAnnotations(anns, this.config, { knownPlugins: this.plugins.keys() })
        .filter((e) => e.level !== 'warning')
        .map((e) => ({ message: e.message, paths: e.paths, ...(e.details ? { details: e.details } : {}) })),
    );
  }

  // ---- sampling and ticking ----

  private onTimer(): void {
    if (this.stopped) return;
    const now = this.now();
    for (const t of this.awake) {
      const sample = this.stats.read(t.key, t.idleUntil);
      t.idleUntil = undefined;
      t.metrics.record(now, sample);
      // Still holding requests a second later: demand the last decision did not cover yet.
      if (sample.queued > 0) this.handleDemand(t);
    }
    this.sampledAt = this.stats.now();
    // Tick on the sample that reaches the interval (half a sample early counts: timers drift). A
    // clock stepped back (NTP, a test's clock) ticks at once rather than waiting to catch up.
    if (now < this.lastTick || now - this.lastTick >= this.config.tickIntervalMs - this.sampleMs / 2) this.tickAll(now);
  }

  private tickAll(now = this.now()): void {
    if (this.stopped) return;
    this.lastTick = now;
    if (this.ticking) {
      this.tickAgain = true;
      return;
    }
    this.ticking = true;
    void this.runTick(now).finally(() => {
      this.ticking = false;
      if (this.tickAgain && !this.stopped) {
        this.tickAgain = false;
        this.tickAll();
      }
    });
  }

  /**
   * One tick over the awake revisions, in chunks, so that a long tick never blocks the API for
   * long. Resolves once every decision has started; slow (plugin) ones finish on their own, as a
   * revision never has two decisions at once.
   */
  private async runTick(now: number): Promise<void> {
    const started = performance.now();
    this.ringAlarms(now);
    const batch = [...this.awake];
    const decisions: Promise<void>[] = [];
    for (let i = 0; i < batch.length; i++) {
      if (i > 0 && i % TICK_CHUNK === 0) {
        // Plain (KPA) decisions finish in their chunk's turn; the API and the gateway go next.
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (this.stopped) return;
      }
      decisions.push(this.decideFor(batch[i], now, true));
    }
    void Promise.allSettled(decisions).then(() => {
      const ms = performance.now() - started;
      this.ticks = {
        count: this.ticks.count + 1,
        lastMs: ms,
        maxMs: Math.max(this.ticks.maxMs, ms),
        revisions: this.tracked.size,
        decided: batch.length,
      };
    });
  }

  /**
   * How long ticks take (every decision settled), for the benchmark and diagnostics: `revisions`
   * tracked, of which the last tick `decided` the awake ones.
   */
  tickStats(): { count: number; lastMs: number; maxMs: number; revisions: number; decided: number } {
    return { ...this.ticks };
  }

  /** How many revisions sleep (neither sampled nor decided until woken). */
  sleeping(): number {
    return this.tracked.size - this.awake.size;
  }

  /** What every decision about a revision starts from. */
  private baseInput(t: Tracked, ready: number): DecideInput {
    return {
      spec: t.spec,
      revision: { namespace: t.ns, name: t.name, key: t.key },
      annotations: t.rev.metadata.annotations ?? {},
      current: t.desired,
      ready,
      metrics: t.metrics,
      reachable: t.reachability !== 'Unreachable',
      initialized: t.initialized,
      // The gateway holds requests for every revision that has no capacity, always (Knative: the
      // activator is in the path), so scale to zero never waits for it to get there.
      proxySince: ALWAYS_IN_PATH,
    };
  }

  private async inputFor(t: Tracked, st: WorkloadStatus | undefined, now: number): Promise<DecideInput> {
    const ready = st?.readyReplicas ?? 0;
    const input: DecideInput = { ...this.baseInput(t, ready), plugins: this.plugins };
    const cls = t.spec.class;
    if (cls === HPA_CLASS || cls === PLUGIN_CLASS) {
      const list = await this.o.runtime.usage(t.key);
      const prev = t.usage;
      t.usage = { at: now, list };
      input.usage = list;
      if (cls === HPA_CLASS) {
        input.cpu = prev ? averageCpuUtilization(prev.list, list, now - prev.at, cpuRequestCores(t.rev.spec?.containers?.[0])) : null;
        input.memory = averageMemoryMiB(list);
      }
    }
    if (cls === EVENT_GATEWAY_CLASS) input.gateway = this.gatewayView(t, now);
    return input;
  }

  /** The event-gateway decider's view: held and in-flight requests, and each instance's idleness. */
  private gatewayView(t: Tracked, now: number): DecideInput['gateway'] {
    const load = this.o.gateway.load(t.key);
    const eps = load?.endpoints ?? [];
    const ids = new Set(eps.map((e) => e.id));
    const firstSeen = (t.firstSeen ??= new Map());
    for (const id of [...firstSeen.keys()]) if (!ids.has(id)) firstSeen.delete(id);
    for (const id of ids) if (!firstSeen.has(id)) firstSeen.set(id, now);
    return {
      pending: load?.queued ?? 0,
      inFlight: load?.inFlight ?? 0,
      instances: eps.map((e) => ({
        id: e.id,
        busy: e.inFlight > 0,
        lastBusy: e.inFlight > 0 ? now : e.idleMs === null ? firstSeen.get(e.id)! : now - e.idleMs,
      })),
    };
  }

  private async decideFor(t: Tracked, now: number, tick = false): Promise<void> {
    if (t.deciding || this.stopped || (tick && t.asleep)) return;
    t.deciding = true;
    try {
      const version = t.version;
      const st = this.o.runtime.status(t.key);
      this.noteInitialized(t, st);
      const input = await this.inputFor(t, st, now);
      const d = await decide(t.state, input, now);
      // Untracked meanwhile, or an immediate decision came first: this one is stale.
      if (this.tracked.get(t.key) !== t || t.version !== version) return;
      this.apply(t, d);
      if (tick) this.maybeSleep(t, d, now);
    } catch (err) {
      this.o.log(`autoscaler: ${t.key}: decision failed: ${String((err as Error)?.stack ?? err)}`);
    } finally {
      t.deciding = false;
    }
  }

  private apply(t: Tracked, d: Decision): void {
    t.version++;
    t.state = d.state;
    t.last = d;
    const from = t.desired;
    if (d.desired !== t.desired) this.setDesired(t, d.desired);
    // Only what shows on the PodAutoscaler is compared; the rest requests its own sync.
    const fp = paFingerprint(t, d);
    if (fp !== t.pa.fingerprint) {
      t.pa.fingerprint = fp;
      this.requestPaSync(t);
    }
    this.o.onDecision?.({ key: t.key, class: d.class, mode: d.mode, from, to: d.desired, reason: decisionReason(d), error: d.error });
  }

  /** Every tracked revision's decider state (read at scrape time; allocates only then). */
  deciders(): DeciderView[] {
    return [...this.tracked.values()].map((t) => deciderView(t));
  }

  /** The keys ("ns/name") of the revisions it tracks. */
  keys(): IterableIterator<string> {
    return this.tracked.keys();
  }

  /** One revision's decider state; undefined when the autoscaler does not track it. */
  decider(key: string): DeciderView | undefined {
    const t = this.tracked.get(key);
    return t ? deciderView(t) : undefined;
  }

  private setDesired(t: Tracked, n: number): void {
    t.desired = n;
    // The runtime gets it now (a cold start must not wait for the queue); the reconciler then
    // records it on the Revision.
    this.applyScale(t);
    this.o.enqueue('Revision', t.ns, t.name);
  }

  /** The one place the instance count goes to the runtime. */
  private applyScale(t: Tracked): void {
    const n = t.desired;
    this.o.runtime.apply(workloadSpecFor(t.rev, n)).catch((err: Error) => {
      this.o.log(`autoscaler: ${t.key}: the runtime refused ${n} instance(s): ${err.message}`);
      // Tried again on the next tick's decision (or at once when something changes).
      if (this.tracked.get(t.key) === t) this.o.enqueue('Revision', t.ns, t.name);
    });
  }

  private noteInitialized(t: Tracked, st: WorkloadStatus | undefined): void {
    if (!t.initialized && (st?.readyReplicas ?? 0) > 0) t.initialized = true;
  }

  // ---- immediate decisions ----

  private onDemand(key: string): void {
    const t = this.tracked.get(key) ?? this.trackStored(key);
    if (!t || this.stopped) return;
    this.wake(t);
    if (t.demandScheduled) return;
    t.demandScheduled = true;
    // Requests of one burst arrive in the same turn of the event loop: count them all.
    setImmediate(() => {
      t.demandScheduled = false;
      this.handleDemand(t);
    });
  }

  private handleDemand(t: Tracked): void {
    if (this.tracked.get(t.key) !== t || this.stopped) return;
    const held = this.o.gateway.load(t.key)?.queued ?? 0;
    if (held === 0) return;
    const st = this.o.runtime.status(t.key);
    const ready = st?.readyReplicas ?? 0;
    if (st?.failure && ready === 0 && st.instances.length > 0 && st.instances.every((i) => i.phase === 'backoff' || i.phase === 'exited')) {
      // Every instance is waiting out a crash back-off: say why now instead of holding.
      this.o.gateway.failHeld(t.key, 503, coldStartFailureMessage(t.name, st.failure.reason, st.failure.message));
      return;
    }
    const now = this.now();
    const cls = t.spec.class;
    // A burst reaches the gateway over some milliseconds, not in one turn of the event loop: while
    // requests stay held, look again shortly (plugins, which may be slow, wait for the next second).
    if (cls !== PLUGIN_CLASS && !t.recheck) {
      t.recheck = setTimeout(() => {
        t.recheck = undefined;
        this.handleDemand(t);
      }, DEMAND_RECHECK_MS);
      t.recheck.unref();
    }
    if (cls === EVENT_GATEWAY_CLASS || cls === PLUGIN_CLASS) {
      // Their regular decision already counts held requests.
      t.version++;
      void this.decideFor(t, now);
      return;
    }
    const input: DecideInput & { demand: number } = { ...this.baseInput(t, ready), demand: held };
    if (t.desired === 0 || cls !== KPA_CLASS || t.spec.metric !== 'concurrency') {
      const d = decideOnDemand(t.state, input, now);
      if (d.desired === t.desired && isDeepStrictEqual(d.state, t.state)) return;
      this.apply(t, d);
      return;
    }
    // Instances exist but none has a free slot: the requests the gateway holds plus those in
    // flight are the concurrency right now. The KPA decides on that at once instead of waiting
    // for its windows to show it (they will, a tick or a few later); it only ever scales up here.
    const load = this.o.gateway.load(t.key);
    const level = (load?.inFlight ?? 0) + held;
    const obs = t.metrics.observed('concurrency', now);
    const kd = decideKpa(
      t.state.kpa ?? newKpaState(now, ready),
      {
        spec: t.spec,
        observed: { stable: Math.max(obs?.stable ?? 0, level), panic: Math.max(obs?.panic ?? 0, level) },
        ready,
        current: t.desired,
        reachable: input.reachable,
        proxySince: ALWAYS_IN_PATH,
      },
      now,
    );
    if (kd.desired <= t.desired) return;
    this.apply(t, {
      desired: kd.desired,
      state: { ...t.state, kpa: kd.state },
      class: t.spec.class,
      mode: kd.mode,
      planned: 0,
      metricDesired: kd.desired,
      details: { ...kd.details, reason: `requests held at capacity: ${held} waiting, ${level} in total` },
    });
  }

  private onRuntimeChange(key: string): void {
    const t = this.tracked.get(key);
    if (!t || this.stopped) return;
    this.wake(t);
    const st = this.o.runtime.status(key);
    this.noteInitialized(t, st);
    const failed = !!st?.failure && (st?.readyReplicas ?? 0) === 0;
    if (failed && st?.failure) {
      const held = this.o.gateway.load(key)?.queued ?? 0;
      if (held > 0) {
        // Knative leaves such requests hanging until they time out (knative/serving#11717).
        const message = coldStartFailureMessage(t.name, st.failure.reason, st.failure.message);
        const n = this.o.gateway.failHeld(key, 503, message);
        if (n > 0) {
          this.o.log(`autoscaler: ${key}: answered ${n} held request(s) with 503: ${st.failure.reason}`);
          this.o.events?.recordEvent(t.rev, 'Warning', 'ColdStartFailed', `${message} (${n} held request(s) answered 503)`);
        }
      }
    }
    if (failed !== t.failed) {
      t.failed = failed;
      this.updateReachability(t);
    }
    this.requestPaSync(t);
  }

  // ---- PodAutoscaler ----

  private requestPaSync(t: Tracked): void {
    if (this.stopped) return;
    if (t.pa.busy) {
      t.pa.dirty = true;
      return;
    }
    if (t.pa.timer) return;
    // Writes wait a moment: each is an fsync on the event loop, and right after a scale change the
    // gateway has held requests to hand to a new instance first. Changes meanwhile are coalesced.
    t.pa.timer = setTimeout(() => {
      t.pa.timer = undefined;
      this.runPaSync(t);
    }, PA_WRITE_DELAY_MS);
  }

  private runPaSync(t: Tracked): void {
    if (this.stopped || this.tracked.get(t.key) !== t) return;
    t.pa.busy = true;
    void (async () => {
      try {
        // Someone else's write while this one ran (its event was not acted on): look again, a few
        // times at most (a lister that lags its own writes must not make this spin).
        let looks = 3;
        const changedMeanwhile = () => looks-- > 0 && this.o.listers.podautoscalers.get(t.ns, t.name)?.metadata.resourceVersion !== t.pa.rv;
        do {
          t.pa.dirty = false;
          await this.syncPa(t);
        } while ((t.pa.dirty || changedMeanwhile()) && !this.stopped && this.tracked.get(t.key) === t);
      } catch (err) {
        const code = (err as { code?: number }).code;
        // Conflicts and a revision deleted meanwhile sort themselves out on the next write.
        if (code !== 409 && code !== 404 && !this.stopped)
          this.o.log(`autoscaler: ${t.key}: writing PodAutoscaler failed: ${String((err as Error)?.message ?? err)}`);
        t.pa.lastKey = undefined;
        // The next decision syncs again, whatever it decides.
        t.pa.fingerprint = undefined;
        this.wake(t);
      } finally {
        t.pa.busy = false;
      }
    })();
  }

  private statusFor(t: Tracked, pa: KObject): Record<string, unknown> {
    const st = this.o.runtime.status(t.key);
    const actual = st?.readyReplicas ?? 0;
    const kpa = t.state.kpa;
    const active: ActiveState = kpa ? kpa.status : t.desired === 0 ? 'inactive' : actual > 0 ? 'active' : 'activating';
    const d = t.last;
    const error = [t.specError, d?.error].filter(Boolean).join('; ');
    return podAutoscalerStatus({
      generation: pa.metadata.generation,
      class: t.spec.class,
      desired: t.desired,
      actual,
      mode: d?.mode ?? (t.spec.class === KPA_CLASS ? (kpa?.panicTime != null ? 'panic' : 'stable') : 'stable'),
      active,
      initialized: kpa ? kpa.initialized || t.initialized : t.initialized,
      metrics: d
        ? {
            ...metricsView(d.details, t.spec.metricName || t.spec.metric),
            ...(d.planned > 0 ? { planned: d.planned, metricDesired: d.metricDesired } : {}),
          }
        : undefined,
      // While a scheduled period is active, say when the plan (not the metric) set the count.
      reason: d ? decisionReason(d) : undefined,
      error: error || undefined,
      previous: pa.status?.conditions,
    });
  }

  private async syncPa(t: Tracked): Promise<void> {
    if (this.tracked.get(t.key) !== t) return;
    const { store } = this.o;
    const want = podAutoscalerFor(t.rev, t.routing, t.reachability, this.o.runtime.scaleTarget?.(t.rev.metadata.name!));
    // From the lister: after each write below its event is in the cache before the write resolves.
    let pa = this.o.listers.podautoscalers.get(t.ns, t.name);
    if (!pa) {
      pa = await store.create(PA, want);
      // The revision may have gone while this was written: do not leave an orphan behind.
      if (!this.o.listers.revisions.get(t.ns, t.name)) {
        await store.delete(PA, t.ns, t.name).catch(() => undefined);
        t.pa.rv = undefined;
        return;
      }
    } else if (
      !isDeepStrictEqual(pa.spec, want.spec) ||
      !isDeepStrictEqual(pa.metadata.labels ?? {}, want.metadata.labels) ||
      !isDeepStrictEqual(pa.metadata.annotations ?? {}, want.metadata.annotations ?? {})
    ) {
      pa = await store.update(PA, {
        ...pa,
        metadata: {
          ...pa.metadata,
          labels: want.metadata.labels,
          annotations: want.metadata.annotations,
          ownerReferences: want.metadata.ownerReferences,
        },
        spec: want.spec,
      });
    }
    t.pa.rv = pa.metadata.resourceVersion;
    const status = this.statusFor(t, pa);
    if (isDeepStrictEqual(pa.status, status)) return;
    // Metric values change every tick; each write is an fsync, so those go out at most every few
    // seconds unless something users act on (scale, mode, conditions, errors) changed too.
    const {
      metrics: _m,
      reason: _r,
      conditions,
      ...rest
    } = status as { metrics?: unknown; reason?: unknown; conditions: { type: string; status: string; reason?: string }[] };
    const key = digest({ rest, c: conditions.map((c) => [c.type, c.status, c.reason]) });
    const now = this.now();
    if (key === t.pa.lastKey && now >= t.pa.lastMetricsAt && now - t.pa.lastMetricsAt < this.metricsWriteMs) {
      // Written once the interval is over, even if no later decision differs from this one.
      if (!t.pa.retry) {
        t.pa.retry = setTimeout(
          () => {
            t.pa.retry = undefined;
            this.requestPaSync(t);
          },
          Math.max(PA_WRITE_DELAY_MS, t.pa.lastMetricsAt + this.metricsWriteMs - now),
        );
        t.pa.retry.unref();
      }
      return;
    }
    t.pa.rv = (await store.update(PA, { ...pa, status }, { subresource: 'status' })).metadata.resourceVersion;
    t.pa.lastKey = key;
    t.pa.lastMetricsAt = now;
  }
}
