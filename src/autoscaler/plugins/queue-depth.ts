// Example scaling plugin: scale on queue depth.
//   desired = ceil((queued + inFlight) / perInstance)
// perInstance comes from the annotation `sluice.dev/queue-depth-per-instance` (default 10).
// Load it with the control plane's plugin list (dist/src/autoscaler/plugins/queue-depth.js) and
// select it on a revision with:
//   autoscaling.knative.dev/class: plugin.autoscaling.sluice.dev
//   sluice.dev/scaling-plugin: queue-depth

import type { Indicators, PluginContext, ScalingPlugin } from '../plugin.js';

export const PER_INSTANCE_ANNOTATION = 'sluice.dev/queue-depth-per-instance';
const DEFAULT_PER_INSTANCE = 10;

function perInstance(ctx: PluginContext): number {
  const raw = ctx.annotations[PER_INSTANCE_ANNOTATION];
  const n = raw === undefined ? NaN : Number(raw);
  return Number.isFinite(n) && n > 0 ? n : DEFAULT_PER_INSTANCE;
}

const queueDepth: ScalingPlugin = {
  name: 'queue-depth',
  collect(ctx: PluginContext): Indicators {
    // The newest sample is the current picture; queues are a level, not a rate.
    const last = ctx.samples[ctx.samples.length - 1];
    return { queued: last?.queued ?? 0, inFlight: last?.inFlight ?? 0, perInstance: perInstance(ctx) };
  },
  decide(ind: Indicators): number {
    return Math.ceil((ind.queued + ind.inFlight) / ind.perInstance);
  },
};

export default queueDepth;
