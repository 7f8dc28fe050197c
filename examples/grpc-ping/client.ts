// The grpc-ping example's client: `node dist/examples/grpc-ping/client.js ADDRESS [AUTHORITY] [MESSAGE]`
// calls Ping, then PingCount (3 answers) and PingStream (2 messages) on ADDRESS (host:port), e.g.
// through Sluice's gateway with AUTHORITY grpc-ping.default.example.com (the route's host).

import * as grpc from '@grpc/grpc-js';
import { loadPing, type PingResponse } from './proto.js';

const [address = '127.0.0.1:8080', authority, message = 'hello'] = process.argv.slice(2);
const Client = loadPing().PingService;
const options: grpc.ClientOptions = authority ? { 'grpc.default_authority': authority } : {};
const client = new Client(address, grpc.credentials.createInsecure(), options);

function unary(): Promise<string> {
  return new Promise((resolve, reject) =>
    client.Ping({ msg: message }, { deadline: Date.now() + 10_000 }, (err: Error | null, res: PingResponse) =>
      err ? reject(err) : resolve(res.msg),
    ),
  );
}

function serverStream(): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const got: string[] = [];
    const call = client.PingCount({ msg: message, count: 3, intervalMs: 100 });
    call.on('data', (r: PingResponse) => got.push(r.msg));
    call.on('end', () => resolve(got));
    call.on('error', reject);
  });
}

function bidi(): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const got: string[] = [];
    const call = client.PingStream();
    call.on('data', (r: PingResponse) => got.push(r.msg));
    call.on('end', () => resolve(got));
    call.on('error', reject);
    call.write({ msg: `${message} 1` });
    call.write({ msg: `${message} 2` });
    call.end();
  });
}

try {
  console.log(`Ping: ${await unary()}`);
  console.log(`PingCount: ${(await serverStream()).join(' | ')}`);
  console.log(`PingStream: ${(await bidi()).join(' | ')}`);
} catch (err) {
  console.error(`grpc-ping client: ${(err as Error).message}`);
  process.exitCode = 1;
} finally {
  client.close();
}
