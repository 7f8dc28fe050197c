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
  /** Knative's responseStartTimeoutSeconds / idleTimeoutSeconds; unset or 0 = none. */
  responseStartTimeoutSeconds?: number;
  idleTimeoutSeconds?: number;
  /** How instances speak: 'h2c' when the container port is named h2c (Knative's rule), else HTTP/1.1. */
  protocol?: 'http1' | 'h2c';
}

export interface WeightedTarget {
  revisionKey: string;
  percent: number;
}

export interface HostRoute {
  /** Lower-case host without port, e.g. "stock.default.example.com" or "v1-stock.default.example.com". */
  host: string;
  /** The default split. */
  targets: WeightedTarget[];
  /** Tried in order before the default split; the first rule whose matches all hold decides. */
  rules?: RouteRule[];
  /** Keep each client on one revision of the default split, without skewing the shares. */
  sticky?: StickyPolicy;
  /**
   * 'cluster-local': answered only on the gateway's internal listener (Knative's local gateway);
   * the public listener treats the host as unknown. Absent: public (served on both listeners).
   */
  visibility?: 'cluster-local';
}

/** How a request value is compared; exactly one field is set. */
export interface ValueMatch {
  exact?: string;
  prefix?: string;
  regex?: string;
}

export interface RouteRule {
  /** Lower-cased header name -> match. */
  headers?: Record<string, ValueMatch>;
  /** Cookie name -> match. */
  cookies?: Record<string, ValueMatch>;
  targets: WeightedTarget[];
}

/**
 * Where a client's sticky key comes from: a random key the gateway hands out in a cookie
 * (set-cookie), or a key the request already carries in a header or cookie. The key picks a point
 * on a line divided among the revisions in target order, so shares follow the weights.
 */
export interface StickyPolicy {
  from: 'set-cookie' | 'header' | 'cookie';
  /** Cookie or (lower-cased) header name. */
  name: string;
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
