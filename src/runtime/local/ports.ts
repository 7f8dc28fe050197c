// Free ports for instances. The OS picks one (listen on port 0), we close the listener and hand the
// number to the child. Between close and the child's bind another allocation could get the same
// number, so ports stay reserved here until their instance is gone and a reserved number is never
// handed out twice. (A foreign process grabbing it in that window makes the child fail to bind;
// the supervisor then restarts it on a fresh port.)

import net from 'node:net';

const reserved = new Set<number>();

function probeFreePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen({ port: 0, host, exclusive: true }, () => {
      const addr = srv.address();
      const port = addr && typeof addr === 'object' ? addr.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error(`could not read the port allocated on ${host}`))));
    });
  });
}

/** Returns a port that is free on `host` and not reserved by another instance; reserves it. */
export async function allocatePort(host: string): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await probeFreePort(host);
    if (!reserved.has(port)) {
      reserved.add(port);
      return port;
    }
  }
  throw new Error(`could not find a free port on ${host} after 50 attempts`);
}

export function releasePort(port: number): void {
  reserved.delete(port);
}

export function isPortReserved(port: number): boolean {
  return reserved.has(port);
}
