// The inside half of the harness's port forwarding, run as a process inside the run's network
// namespace: it listens on a Unix socket (a file, so reachable from the host's namespace too) and,
// for each connection, reads one line "host:port", connects to that address inside the namespace and
// pipes bytes both ways. The outside half is forward.ts. Usage: node relay.js SOCKET_PATH

import { rmSync } from 'node:fs';
import net from 'node:net';
import { requireArguments } from './entry.js';

const socketPath = process.argv[2] ?? '';
requireArguments(socketPath !== '', 'relay.js SOCKET_PATH');

const server = net.createServer((client) => {
  let head = Buffer.alloc(0);
  const onData = (chunk: Buffer): void => {
    head = Buffer.concat([head, chunk]);
    const nl = head.indexOf(10);
    if (nl === -1) {
      if (head.length > 256) client.destroy();
      return;
    }
    client.off('data', onData);
    client.pause();
    const target = head.subarray(0, nl).toString('utf8');
    const rest = head.subarray(nl + 1);
    const colon = target.lastIndexOf(':');
    const upstream = net.connect({ host: target.slice(0, colon), port: Number(target.slice(colon + 1)) });
    upstream.once('connect', () => {
      if (rest.length) upstream.write(rest);
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  };
  client.on('data', onData);
  client.on('error', () => client.destroy());
});
rmSync(socketPath, { force: true });
server.listen(socketPath, () => process.stdout.write('ready\n'));
process.on('SIGTERM', () => process.exit(0));
