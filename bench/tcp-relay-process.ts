// A bare TCP relay in Node, for the gateway benchmark's floor: each client connection is piped to
// one upstream connection (chosen 4/3/3 over the apps by connection, not by request), with no HTTP
// parsing at all. It makes the same socket reads and writes per request as an HTTP proxy, so its
// CPU per request is about the least any Node proxy built on net.Socket streams can spend.
//
//   node dist/bench/tcp-relay-process.js PORT_A:WEIGHT PORT_B:WEIGHT ...
//
// Prints `tcp-relay {"port":P,"pid":N}` once listening on 127.0.0.1; SIGTERM/SIGINT stop it.

import net from 'node:net';

function fail(message: string): never {
  process.stderr.write(`tcp-relay: ${message}\n`);
  process.exit(2);
}

const schedule: number[] = [];
for (const arg of process.argv.slice(2)) {
  const m = /^(\d+):(\d+)$/.exec(arg);
  if (!m || Number(m[1]) < 1 || Number(m[1]) > 65535) fail(`expected PORT:WEIGHT, got "${arg}"`);
  for (let i = 0; i < Number(m[2]); i++) schedule.push(Number(m[1]));
}
if (schedule.length === 0) fail('give at least one upstream as PORT:WEIGHT with a positive weight');

let next = 0;
const open = new Set<net.Socket>();

const server = net.createServer({ noDelay: true }, (client) => {
  const port = schedule[next];
  next = (next + 1) % schedule.length;
  const upstream = net.connect({ port, host: '127.0.0.1', noDelay: true });
  open.add(client);
  open.add(upstream);
  const done = (): void => {
    client.destroy();
    upstream.destroy();
    open.delete(client);
    open.delete(upstream);
  };
  client.on('error', done).on('close', done);
  upstream.on('error', done).on('close', done);
  client.pipe(upstream);
  upstream.pipe(client);
});

server.on('error', (err) => fail(`cannot listen: ${err.message}`));
server.listen(0, '127.0.0.1', () => {
  const port = (server.address() as net.AddressInfo).port;
  process.stdout.write(`tcp-relay ${JSON.stringify({ port, pid: process.pid })}\n`);
});

const stop = (): void => {
  for (const s of open) s.destroy();
  server.close(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
