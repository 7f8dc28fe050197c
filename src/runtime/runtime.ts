// The Runtime seam: runs a revision's instances. The embedded default (runtime/local) runs each
// instance as a child process; a Kubernetes runtime (Deployments + Pods) can implement the same
// interface later. Nothing here mentions processes.

import type { Container, RevisionSpec } from '../api/types.js';

export interface WorkloadSpec {
  /** "{namespace}/{revision}" — the unit the rest of Sluice addresses. */
  key: string;
  namespace: string;
  revision: string;
  configuration: string;
  service?: string;
  /** The revision's whole pod spec, already defaulted (containers, volumes, timeouts, …). */
  podSpec: RevisionSpec;
  /** The serving container (the one with the port; podSpec.containers[0] when none has one). */
  container: Container;
  /** The revision's labels and annotations (what the downward API shows of the instance). */
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** Desired number of instances. */
  replicas: number;
}

export type InstancePhase = 'starting' | 'ready' | 'unready' | 'terminating' | 'backoff' | 'exited';

export interface InstanceStatus {
  id: string;
  host: string;
  port: number;
  phase: InstancePhase;
  ready: boolean;
  restarts: number;
  pid?: number;
  startedAt: number; // epoch ms
  readyAt?: number; // epoch ms of the first passing readiness probe
}

export interface WorkloadFailure {
  /** Knative-style reason, e.g. "ExitCode1", "CrashLoopBackOff", "ImageNotMapped", "ProbeFailed". */
  reason: string;
  /** What a user needs: exit code, signal, last lines of the log. */
  message: string;
  /** While backing off (reason CrashLoopBackOff): why the container last ended, e.g. "ExitCode1". */
  terminationReason?: string;
}

export interface WorkloadStatus {
  key: string;
  replicas: number;
  readyReplicas: number;
  instances: InstanceStatus[];
  /** Set while instances fail to start or keep crashing; cleared once one is ready again. */
  failure?: WorkloadFailure;
}

export interface ResourceUsage {
  id: string;
  cpuSeconds: number; // cumulative user+system CPU time
  rssBytes: number;
}

export interface LogOptions {
  follow?: boolean;
  tailLines?: number;
  /** Which container's logs (default: the serving container). */
  container?: string;
}

export interface Runtime {
  /**
   * Create the workload or change it (replicas). Idempotent. Resolves once the runtime has taken
   * the change (a local runtime at once, a cluster once its write was accepted); rejects with the
   * reason when it could not. The autoscaler is its one caller for the instance count.
   */
  apply(spec: WorkloadSpec): Promise<void>;
  /** Stop every instance of the workload and forget it. */
  remove(key: string): Promise<void>;
  status(key: string): WorkloadStatus | undefined;
  /** Called (synchronously, cheaply) with the key of any workload whose status changed. */
  onChange(listener: (key: string) => void): () => void;
  /**
   * Hook run before an instance is stopped on scale-down: the data plane takes it out of routing
   * and resolves once its in-flight requests are done (the runtime bounds the wait).
   */
  setDrainer(drain: (key: string, instanceId: string) => Promise<void>): void;
  /** Streams log lines (oldest first) to `write`; returns a function that stops following. */
  logs(key: string, opts: LogOptions, write: (line: string) => void): Promise<() => void>;
  /** What a PodAutoscaler's scaleTargetRef names for the revision (absent: the runtime's own workload). */
  scaleTarget?(revision: string): { apiVersion: string; kind: string; name: string };
  /** CPU and memory of each running instance, for HPA. */
  usage(key: string): Promise<ResourceUsage[]>;
  /** Stop everything (server shutdown). */
  shutdown(): Promise<void>;
}
