// A Gateway in the test process with one host routed 100 % to one revision whose endpoints are
// backends the test started: the setup most data-plane tests share.
import type { AddressInfo, Server } from 'node:net';
import { Gateway, type GatewayOptions } from '../../src/dataplane/gateway.js';

export interface OneRevisionOptions {
  host: string;
  key: string;
  containerConcurrency?: number;
  timeoutSeconds?: number;
  gateway?: GatewayOptions;
}

/** Listens on a port of its own (127.0.0.1, chosen at run time); the caller closes `gw`. */
export async function gatewayToBackends(backends: Server[], o: OneRevisionOptions): Promise<{ gw: Gateway; port: number }> {
  const gw = new Gateway(o.gateway);
  gw.setRevision({
    key: o.key,
    endpoints: backends.map((s, i) => ({
      id: backends.length === 1 ? 'b' : `b${i}`,
      host: '127.0.0.1',
      port: (s.address() as AddressInfo).port,
    })),
    containerConcurrency: o.containerConcurrency ?? 0,
    timeoutSeconds: o.timeoutSeconds ?? 30,
  });
  gw.setRoutes([{ host: o.host, targets: [{ revisionKey: o.key, percent: 100 }] }]);
  return { gw, port: await gw.listen(0) };
}
