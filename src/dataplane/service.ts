// What the server holds as its gateway: the in-process Gateway (one worker) or a GatewayCluster
// (src/dataplane/workers/, N worker processes on one port). Both take the control plane's tables
// and give the same readings, so the controllers, the autoscaler and /metrics see no difference.

import type { RevisionLoad } from './gateway.js';
import type { GatewayMetricsSource } from './metrics.js';
import type { StatsReader } from './stats.js';
import type { HostRoute, RevisionBackend } from './types.js';

export interface GatewayService extends GatewayMetricsSource {
  /** Starts serving; resolves with the bound port (useful with port 0). */
  listen(port: number, host?: string): Promise<number>;
  /** Starts the internal listener (cluster-local hosts answered too); resolves with its port. */
  listenInternal(port: number, host?: string): Promise<number>;
  close(): Promise<void>;
  setRoutes(routes: HostRoute[]): void;
  setRoute(owner: string, routes: HostRoute[]): void;
  /** Resolves once the tables set so far are served (the in-process gateway serves them at once). */
  synced?(): Promise<void>;
  setRevision(backend: RevisionBackend): void;
  removeRevision(key: string): void;
  drain(revisionKey: string, endpointId: string): Promise<void>;
  reader(): StatsReader;
  load(revisionKey: string): RevisionLoad | undefined;
  onDemand(cb: (revisionKey: string) => void): () => void;
  failHeld(revisionKey: string, status: number, message: string): number;
  hosts(): string[];
}
