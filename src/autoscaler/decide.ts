// One entry point per revision per tick: picks the decider for the revision's class, feeds it
// the right metric, and fuses the result with the scheduled capacity:
//   desired = clamp(max(planned, metricDesired), min-scale, max-scale)
// The state returned must be passed back next time (one AutoscalerState per revision).

import type { ResourceUsage } from '../runtime/runtime.js';
import { EVENT_GATEWAY_CLASS, HPA_CLASS, KPA_CLASS, PLUGIN_CLASS } from './config.js';
import type { ScalingSpec } from './annotations.js';
import { decideEventGateway, type GatewayInstance } from './event-gateway.js';
import { decideHpa, newHpaState, type AverageMetric, type HpaState } from './hpa.js';
import { decideKpa, decideKpaOnDemand, newKpaState, type KpaDecision, type KpaState } from './kpa.js';
import type { ObservedValues, RevisionMetrics } from './metrics.js';
import { runPlugin, type ScalingPlugin } from './plugin.js';
import { clampScale, fuse, plannedCapacity } from './schedule.js';

export interface AutoscalerState {
  kpa?: KpaState;
  hpa?: HpaState;
}

/** State for a revision the control plane starts tracking (ready = instances already running). */
export function initialAutoscalerState(spec: Pick<ScalingSpec, 'class'>, now: number, ready = 0): AutoscalerState {
  if (spec.class === KPA_CLASS) return { kpa: newKpaState(now, ready) };
  if (spec.class === HPA_CLASS) return { hpa: newHpaState(now, ready) };
  return {};
}

export interface DecideInput {
  spec: ScalingSpec;
  revision: { namespace: string; name: string; key: string };
  annotations?: Record<string, string>;
  /** Instances currently asked of the runtime. */
  current: number;
  ready: number;
  /** The revision's data-plane windows (KPA; HPA on concurrency/rps; plugins). */
  metrics?: RevisionMetrics;
  /** Routed by some route (Knative "Reachable"); unreachable revisions ignore min-scale and schedules. */
  reachable?: boolean;
  /** See KpaInput.proxySince. */
  proxySince?: number;
  /** HPA cpu: average utilization percent over measured instances (see averageCpuUtilization). */
  cpu?: AverageMetric | null;
  /** HPA memory: average MiB (see averageMemoryMiB). */
  memory?: AverageMetric | null;
  /** Event gateway: what the gateway holds and which instances it has. */
  gateway?: { pending: number; inFlight: number; instances: readonly GatewayInstance[] };
  /**
   * Event gateway: false while the revision has never had its initial scale ready. Until then the
   * initial scale is held (an instance that is still starting is not an idle one); a failure makes
   * the revision unreachable, which ends it.
   */
  initialized?: boolean;
  /** Plugin class: loaded plugins and the instances' usage for the plugin context. */
  plugins?: ReadonlyMap<string, ScalingPlugin>;
  usage?: readonly ResourceUsage[];
}

export type DecisionMode = 'stable' | 'panic' | 'hpa' | 'event-gateway' | 'plugin' | 'unmanaged';

export interface Decision {
  desired: number;
  state: AutoscalerState;
  class: string;
  mode: DecisionMode;
  /** Scheduled capacity at `now` (0 when no period is active). */
  planned: number;
  /** What the class decider alone asked for. */
  metricDesired: number;
  /** Event gateway: instances to stop. */
  release?: string[];
  /** A contained failure (plugin fault, missing metric source); the current scale was kept. */
  error?: string;
  details: Record<string, unknown>;
}

function kpaObserved(input: DecideInput, now: number): ObservedValues | null {
  const metric = input.spec.metric === 'rps' ? 'rps' : 'concurrency';
  const obs = input.metrics?.observed(metric, now) ?? null;
  // Knative's instances report every second, zeros included; if our data plane stays silent for
  // an idle revision that still has instances, silence means no load.
  if (obs === null && input.ready > 0) return { stable: 0, panic: 0 };
  return obs;
}

function finish(
  input: DecideInput,
  now: number,
  metricDesired: number,
  rest: Omit<Decision, 'desired' | 'planned' | 'metricDesired' | 'class'>,
): Decision {
  const reachable = input.reachable ?? true;
  const planned = reachable ? plannedCapacity(input.spec.schedule, now) : 0;
  const min = reachable ? input.spec.minScale : 0;
  // Without a schedule the decider's number stands (it already applied its own bounds, and a
  // KPA "keep current" must stay exactly current).
  const desired = planned > 0 ? fuse(planned, metricDesired, min, input.spec.maxScale) : metricDesired;
  return { desired, planned, metricDesired, class: input.spec.class, ...rest };
}

function fromKpa(input: DecideInput, now: number, d: KpaDecision, state: AutoscalerState): Decision {
  return finish(input, now, d.desired, { state: { ...state, kpa: d.state }, mode: d.mode, details: { ...d.details } });
}

/** The decision for one tick. Never throws for plugin faults; those come back as `error`. */
export async function decide(state: AutoscalerState, input: DecideInput, now: number): Promise<Decision> {
  const { spec } = input;
  switch (spec.class) {
    case KPA_CLASS: {
      const kpa = state.kpa ?? newKpaState(now, input.ready);
      const d = decideKpa(
        kpa,
        {
          spec,
          observed: kpaObserved(input, now),
          ready: input.ready,
          current: input.current,
          reachable: input.reachable,
          proxySince: input.proxySince,
        },
        now,
      );
      return fromKpa(input, now, d, state);
    }
    case HPA_CLASS: {
      const hpa = state.hpa ?? newHpaState(now, input.ready);
      let metric: AverageMetric | null = null;
      let error: string | undefined;
      if (spec.metric === 'cpu') metric = input.cpu ?? null;
      else if (spec.metric === 'memory') metric = input.memory ?? null;
      else if (spec.metric === 'concurrency' || spec.metric === 'rps') {
        const obs = input.metrics?.observed(spec.metric, now) ?? (input.ready > 0 ? { stable: 0, panic: 0 } : null);
        if (obs) metric = { value: obs.stable / Math.max(1, input.ready), measured: Math.max(1, input.ready) };
      } else {
        error = `metric "${spec.metricName}" has no source in Sluice`;
      }
      const d = decideHpa(hpa, { spec, current: input.current, metric: metric?.value ?? null, measured: metric?.measured }, now);
      return finish(input, now, d.desired, {
        state: { ...state, hpa: d.state },
        mode: 'hpa',
        ...(error ? { error } : {}),
        details: { ...d.details, metric: metric?.value, metricName: spec.metricName, target: spec.target },
      });
    }
    case EVENT_GATEWAY_CLASS: {
      const g = input.gateway;
      if (!g) {
        // Without the gateway's view every instance would look unneeded.
        return finish(input, now, input.current, {
          state,
          mode: 'event-gateway',
          error: 'no gateway data: keeping the current scale',
          details: {},
        });
      }
      const reachable = input.reachable ?? true;
      const d = decideEventGateway(
        {
          pending: g.pending,
          inFlight: g.inFlight,
          instances: g.instances,
          idleTimeoutMs: spec.eventGatewayIdleTimeoutMs,
          minScale: reachable ? Math.max(spec.minScale, input.initialized === false ? spec.initialScale : 0) : 0,
          maxScale: spec.maxScale,
        },
        now,
      );
      return finish(input, now, d.desired, { state, mode: 'event-gateway', release: d.release, details: { ...d.details } });
    }
    case PLUGIN_CLASS: {
      const keep = clampScale(input.current, (input.reachable ?? true) ? spec.minScale : 0, spec.maxScale);
      const plugin = spec.pluginName ? input.plugins?.get(spec.pluginName) : undefined;
      if (!plugin) {
        const error = spec.pluginName ? `scaling plugin "${spec.pluginName}" is not loaded` : 'no scaling plugin named';
        return finish(input, now, keep, { state, mode: 'plugin', error, details: {} });
      }
      const r = await runPlugin(
        plugin,
        {
          revision: input.revision,
          annotations: input.annotations ?? {},
          current: input.current,
          ready: input.ready,
          samples: input.metrics?.recentSamples() ?? [],
          usage: input.usage ?? [],
          now,
        },
        spec.pluginTimeoutMs,
      );
      if ('error' in r) return finish(input, now, input.current, { state, mode: 'plugin', error: r.error, details: {} });
      const desired = clampScale(r.desired, (input.reachable ?? true) ? spec.minScale : 0, spec.maxScale);
      return finish(input, now, desired, { state, mode: 'plugin', details: { plugin: plugin.name, raw: r.desired, rounded: !!r.rounded } });
    }
    default: {
      // A class no Sluice decider owns (Knative leaves such revisions to another autoscaler).
      const keep = clampScale(input.current, (input.reachable ?? true) ? spec.minScale : 0, spec.maxScale);
      return finish(input, now, keep, { state, mode: 'unmanaged', details: { reason: `no Sluice autoscaler for class ${spec.class}` } });
    }
  }
}

/**
 * The immediate decision when requests arrive for a revision at zero instances: KPA scales to
 * max(activation-scale, what the demand needs) at once; the event gateway gives each held request
 * an instance. Other classes return the current scale (HPA never sits at zero; for the plugin
 * class call decide()). `demand` = requests the gateway is holding for the revision.
 */
export function decideOnDemand(state: AutoscalerState, input: DecideInput & { demand: number }, now: number): Decision {
  const { spec } = input;
  if (spec.class === KPA_CLASS) {
    const kpa = state.kpa ?? newKpaState(now, input.ready);
    const d = decideKpaOnDemand(
      kpa,
      {
        spec,
        observed: input.metrics?.observed(spec.metric === 'rps' ? 'rps' : 'concurrency', now) ?? null,
        ready: input.ready,
        current: input.current,
        reachable: input.reachable,
        proxySince: input.proxySince,
        demand: input.demand,
      },
      now,
    );
    return fromKpa(input, now, d, state);
  }
  if (spec.class === EVENT_GATEWAY_CLASS && input.current === 0) {
    const g = input.gateway ?? { pending: input.demand, inFlight: 0, instances: [] };
    const d = decideEventGateway(
      {
        pending: Math.max(g.pending, input.demand),
        inFlight: g.inFlight,
        instances: g.instances,
        idleTimeoutMs: spec.eventGatewayIdleTimeoutMs,
        minScale: spec.minScale,
        maxScale: spec.maxScale,
      },
      now,
    );
    return finish(input, now, d.desired, { state, mode: 'event-gateway', release: d.release, details: { ...d.details } });
  }
  return finish(input, now, input.current, { state, mode: 'unmanaged', details: { reason: 'no immediate decision for this class' } });
}
