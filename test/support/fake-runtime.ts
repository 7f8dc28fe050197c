// A Runtime for controller tests: no processes. It records every apply, and instances become
// ready, fail or go only when the test says so (setReady / fail), which announces the change as the
// local runtime would.

import type { LogOptions, ResourceUsage, Runtime, WorkloadFailure, WorkloadSpec, WorkloadStatus } from '../../src/runtime/runtime.js';

export class FakeRuntime implements Runtime {
  readonly applied: { key: string; replicas: number }[] = [];
  readonly removed: string[] = [];
  private readonly workloads = new Map<string, { spec: WorkloadSpec; ready: number; failure?: WorkloadFailure }>();
  private readonly listeners = new Set<(key: string) => void>();
  /** Set to make the next apply reject (a cluster refusing the write). */
  refuseNext?: Error;

  async apply(spec: WorkloadSpec): Promise<void> {
    if (this.refuseNext) {
      const err = this.refuseNext;
      this.refuseNext = undefined;
      throw err;
    }
    this.applied.push({ key: spec.key, replicas: spec.replicas });
    const w = this.workloads.get(spec.key);
    this.workloads.set(spec.key, { ready: 0, ...w, spec });
  }

  async remove(key: string): Promise<void> {
    this.removed.push(key);
    this.workloads.delete(key);
    this.emit(key);
  }

  status(key: string): WorkloadStatus | undefined {
    const w = this.workloads.get(key);
    if (!w) return undefined;
    const instances = Array.from({ length: w.ready }, (_, i) => ({
      id: `${key.split('/')[1]}-${i}`,
      host: '127.0.0.1',
      port: 10000 + i,
      phase: 'ready' as const,
      ready: true,
      restarts: 0,
      startedAt: 0,
      readyAt: 0,
    }));
    return { key, replicas: w.spec.replicas, readyReplicas: w.ready, instances, ...(w.failure ? { failure: w.failure } : {}) };
  }

  /** `n` instances of the workload are ready (a failure is cleared when one is, as in the local runtime). */
  setReady(key: string, n: number): void {
    const w = this.workloads.get(key);
    if (!w) throw new Error(`no workload ${key} was applied`);
    w.ready = n;
    if (n > 0) w.failure = undefined;
    this.emit(key);
  }

  fail(key: string, failure: WorkloadFailure): void {
    const w = this.workloads.get(key);
    if (!w) throw new Error(`no workload ${key} was applied`);
    w.failure = failure;
    w.ready = 0;
    this.emit(key);
  }

  onChange(listener: (key: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  setDrainer(): void {}

  async logs(_key: string, _opts: LogOptions, _write: (line: string) => void): Promise<() => void> {
    return () => {};
  }

  async usage(): Promise<ResourceUsage[]> {
    return [];
  }

  async shutdown(): Promise<void> {
    this.workloads.clear();
  }

  private emit(key: string): void {
    for (const l of this.listeners) l(key);
  }
}
