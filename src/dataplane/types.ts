// What the control plane tells the data plane, and what the data plane reports back.
// The gateway never reads the store: controllers push precomputed tables here when things change,
// so the per-request path is a couple of Map lookups.

export interface Endpoint {
  /** Runtime instance id. */
  id: string;
  host: string;
  port: number;
}

export interface RevisionBackend {
  /** "{namespace}/{revision}" */
  key: string;
  /** Ready instances only. */
  endpoints: Endpoint[];
  /** Knative containerConcurrency: 0 = unlimited. */
  containerConcurrency: number;
  timeoutSeconds: number;
}

export interface WeightedTarget {
  revisionKey: string;
  percent: number;
}

export interface HostRoute {
  /** Lower-case host without port, e.g. "stock.default.example.com" or "v1-stock.default.example.com". */
  host: string;
  targets: WeightedTarget[];
}

/** One sampling interval's view of a revision, for the autoscaler. */
export interface RevisionSample {
  /** Time-weighted average of requests in flight (at instances + held in the activator) over the interval. */
  averageConcurrency: number;
  /** Requests that arrived during the interval. */
  requests: number;
  /** Requests held right now waiting for capacity. */
  queued: number;
  inFlight: number;
  intervalMs: number;
}
