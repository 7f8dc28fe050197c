// A loopback port that was free a moment ago, for an app a test configures to listen on a fixed
// port (a sidecar); the OS picks it, so tests never collide on hard-coded numbers.

import net from 'node:net';

export async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}
