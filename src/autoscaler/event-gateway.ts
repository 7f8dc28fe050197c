// The event-gateway class (the article's "event gateway"): one request per instance. Every request
// held or in flight gets an instance of its own, capped by max-scale; instances that have been idle
// longer than the idle timeout are released. Pure: the gateway reports, this decides.

export interface GatewayInstance {
  id: string;
  /** Serving a request right now. */
  busy: boolean;
  /** Epoch ms the instance last finished a request (for a never-used instance: when it became ready or started). */
  lastBusy: number;
}

export interface GatewayInput {
  /** Requests waiting for an instance. */
  pending: number;
  /** Requests being served. */
  inFlight: number;
  instances: readonly GatewayInstance[];
  idleTimeoutMs: number;
  minScale: number;
  /** 0 = unlimited. */
  maxScale: number;
}

export interface GatewayDecision {
  desired: number;
  /** Instances to stop, longest idle first. */
  release: string[];
  details: { demand: number; busy: number; warm: number; expired: number; reason: string };
}

export function decideEventGateway(input: GatewayInput, now: number): GatewayDecision {
  const demand = Math.max(0, input.pending) + Math.max(0, input.inFlight);
  const cap = input.maxScale > 0 ? input.maxScale : Infinity;
  const needed = Math.min(cap, Math.max(demand, input.minScale));

  const busy = input.instances.filter((i) => i.busy);
  const idle = input.instances.filter((i) => !i.busy);
  const warm = idle.filter((i) => now - i.lastBusy < input.idleTimeoutMs);
  // Most recently used first: those are the ones worth keeping if some expired ones must stay.
  const expired = idle.filter((i) => now - i.lastBusy >= input.idleTimeoutMs).sort((a, b) => b.lastBusy - a.lastBusy);

  // An expired instance still beats starting a new one when demand needs it.
  const keepExpired = Math.max(0, Math.min(expired.length, needed - busy.length - warm.length));
  const releasable = expired.slice(keepExpired);
  const kept = busy.length + warm.length + keepExpired;
  // Never release below max-scale's excess either: if there are more instances than allowed, the
  // idle ones go first (expired, then warm, longest idle first).
  let release = releasable.map((i) => i.id).reverse();
  let remaining = kept;
  if (remaining > cap) {
    const extraWarm = warm
      .slice()
      .sort((a, b) => a.lastBusy - b.lastBusy)
      .slice(0, remaining - cap);
    release = [...release, ...extraWarm.map((i) => i.id)];
    remaining -= extraWarm.length;
  }
  const desired = Math.min(cap, Math.max(needed, remaining));
  const reason =
    desired > input.instances.length ? 'scale up: one instance per request' : release.length ? 'release idle instances' : 'steady';
  return {
    desired,
    release,
    details: { demand, busy: busy.length, warm: warm.length, expired: expired.length, reason },
  };
}
