// Pure pieces of the test node's pod bookkeeping, as the kubelet computes them: a pod's status (phase,
// conditions, containerStatuses) from what its containers are doing, and the restart rules
// (restartPolicy, the crash back-off of 10 s doubling to 5 min, reset after 10 min of running).

export type ContainerState =
  | { kind: 'waiting'; reason: string; message?: string }
  | { kind: 'running'; startedAt: string; ready: boolean }
  | { kind: 'terminated'; exitCode: number; reason: string; message?: string; startedAt: string; finishedAt: string; signal?: number };

export interface ContainerRecord {
  name: string;
  image: string;
  state: ContainerState;
  /** the previous run, when the container has restarted */
  last?: Extract<ContainerState, { kind: 'terminated' }>;
  restartCount: number;
  /** a pid-derived id, so `containerID` changes on each restart as with a real runtime */
  containerId?: string;
}

export interface PodRecord {
  podIp?: string;
  hostIp: string;
  startTime: string;
  containers: ContainerRecord[];
  restartPolicy: 'Always' | 'OnFailure' | 'Never';
  /** every container has been started at least once (or has finished) */
  initialized: boolean;
}

function terminatedJson(s: Extract<ContainerState, { kind: 'terminated' }>, containerId?: string): Record<string, unknown> {
  return {
    terminated: {
      exitCode: s.exitCode,
      ...(s.signal ? { signal: s.signal } : {}),
      reason: s.reason,
      ...(s.message ? { message: s.message } : {}),
      startedAt: s.startedAt,
      finishedAt: s.finishedAt,
      ...(containerId ? { containerID: containerId } : {}),
    },
  };
}

export function containerStatusJson(c: ContainerRecord): Record<string, unknown> {
  const s = c.state;
  const state =
    s.kind === 'waiting'
      ? { waiting: { reason: s.reason, ...(s.message ? { message: s.message } : {}) } }
      : s.kind === 'running'
        ? { running: { startedAt: s.startedAt } }
        : terminatedJson(s, c.containerId);
  return {
    name: c.name,
    image: c.image,
    imageID: '',
    ...(c.containerId ? { containerID: c.containerId } : {}),
    ready: s.kind === 'running' && s.ready,
    started: s.kind === 'running',
    restartCount: c.restartCount,
    state,
    lastState: c.last ? terminatedJson(c.last) : {},
  };
}

export function podPhase(p: PodRecord): 'Pending' | 'Running' | 'Succeeded' | 'Failed' {
  const states = p.containers.map((c) => c.state);
  if (states.some((s) => s.kind === 'running')) return 'Running';
  if (states.length > 0 && states.every((s) => s.kind === 'terminated')) {
    const term = states as Extract<ContainerState, { kind: 'terminated' }>[];
    // With restartPolicy Always a terminated container is about to be restarted: still Running.
    if (p.restartPolicy === 'Always') return 'Running';
    if (term.every((s) => s.exitCode === 0)) return 'Succeeded';
    // OnFailure starts the failed containers again; Never leaves the pod failed.
    return p.restartPolicy === 'Never' ? 'Failed' : 'Running';
  }
  // Waiting in back-off after having run counts as Running, as the kubelet reports it.
  if (p.initialized && p.containers.some((c) => c.restartCount > 0)) return 'Running';
  return 'Pending';
}

function condition(type: string, ok: boolean, since: string, reason?: string): Record<string, unknown> {
  return { type, status: ok ? 'True' : 'False', lastProbeTime: null, lastTransitionTime: since, ...(!ok && reason ? { reason } : {}) };
}

/**
 * The pod's status subresource body. `since` holds when each condition last changed (kept by the
 * caller so lastTransitionTime only moves when the status does).
 */
export function podStatusJson(p: PodRecord, since: (type: string, ok: boolean) => string): Record<string, unknown> {
  const ready = p.containers.length > 0 && p.containers.every((c) => c.state.kind === 'running' && c.state.ready);
  const notReady = p.containers.filter((c) => !(c.state.kind === 'running' && c.state.ready)).map((c) => c.name);
  const reason = notReady.length ? 'ContainersNotReady' : undefined;
  const phase = podPhase(p);
  const done = phase === 'Succeeded' || phase === 'Failed';
  const cond = (type: string, ok: boolean, why?: string) => condition(type, ok, since(type, ok), why);
  return {
    phase,
    hostIP: p.hostIp,
    hostIPs: [{ ip: p.hostIp }],
    ...(p.podIp ? { podIP: p.podIp, podIPs: [{ ip: p.podIp }] } : {}),
    startTime: p.startTime,
    conditions: [
      cond('PodReadyToStartContainers', p.podIp !== undefined),
      cond('Initialized', true),
      cond('ContainersReady', ready, done ? 'PodCompleted' : reason),
      cond('Ready', ready, done ? 'PodCompleted' : reason),
      cond('PodScheduled', true),
    ],
    containerStatuses: p.containers.map(containerStatusJson),
  };
}

/** Whether a container that exited with `exitCode` is started again under `policy`. */
export function shouldRestart(policy: PodRecord['restartPolicy'], exitCode: number): boolean {
  return policy === 'Always' || (policy === 'OnFailure' && exitCode !== 0);
}

export interface CrashBackoff {
  initialMs: number;
  maxMs: number;
  /** a container that ran this long before it exited starts its back-off over */
  resetAfterMs: number;
}

/** The kubelet's container restart back-off. */
export const KUBELET_BACKOFF: CrashBackoff = { initialMs: 10_000, maxMs: 300_000, resetAfterMs: 600_000 };

/** Delay before the next start, given the delay used last time (0 = none yet) and how long the run lasted. */
export function nextBackoff(previousMs: number, ranForMs: number, b: CrashBackoff): number {
  if (previousMs === 0 || ranForMs >= b.resetAfterMs) return b.initialMs;
  return Math.min(b.maxMs, previousMs * 2);
}
