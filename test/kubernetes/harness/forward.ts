// The outside half of the harness's port forwarding: a TCP listener on 127.0.0.1 (an ephemeral port, in
// the test's own network namespace) whose connections are carried over the relay's Unix socket to an
// address inside the run's namespace (relay.ts). This is how the test process, kubectl and a kubeconfig
// on the host reach the apiserver, a pod or a gateway at 10.244.x.y without any route into the namespace.

import net from 'node:net';

export interface Forward {
  /** the local port on 127.0.0.1 */
  port: number;
  close(): Promise<void>;
}

export async function forward(relaySocket: string, target: { host: string; port: number }): Promise<Forward> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((local) => {
    sockets.add(local);
    const remote = net.connect(relaySocket);
    sockets.add(remote);
    remote.write(`${target.host}:${target.port}\n`);
    local.pipe(remote);
    remote.pipe(local);
    const end = (): void => {
      local.destroy();
      remote.destroy();
      sockets.delete(local);
      sockets.delete(remote);
    };
    local.on('error', end);
    remote.on('error', end);
    local.on('close', end);
    remote.on('close', end);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
