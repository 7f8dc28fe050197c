// The grpc-ping example: a gRPC server over HTTP/2 cleartext on $PORT (Knative's runtime contract),
// serving ping.proto's PingService. Env: SUFFIX (appended to every answer), DELAY (ms before a
// unary answer), HOST (listen address, default 127.0.0.1).
//
// Special requests, so a client can see gRPC's error path and deadlines through a proxy:
//   Ping msg "status:<code>:<message>"  ends the call with that gRPC status and message (trailers)
//   Ping msg "deadline?"                answers how many ms of the caller's deadline were left ("none")

import * as grpc from '@grpc/grpc-js';
import { loadPing, type CountRequest, type PingRequest, type PingResponse } from './proto.js';

const suffix = process.env.SUFFIX ?? '';
const delay = Math.max(0, Number(process.env.DELAY ?? 0) || 0);
const pong = (msg: string): PingResponse => ({ msg: msg + suffix });

function ping(call: grpc.ServerUnaryCall<PingRequest, PingResponse>, done: grpc.sendUnaryData<PingResponse>): void {
  const { msg, delayMs } = call.request;
  console.log(`Received ping: ${msg}`);
  const status = /^status:(\d+):(.*)$/s.exec(msg);
  if (status) {
    done({ code: Number(status[1]) as grpc.status, details: status[2] });
    return;
  }
  if (msg === 'deadline?') {
    const d = call.getDeadline();
    // A Date or a number of ms since the epoch; Infinity without a deadline.
    const left = (d instanceof Date ? d.getTime() : Number(d)) - Date.now();
    done(null, { msg: Number.isFinite(left) ? String(Math.round(left)) : 'none' });
    return;
  }
  const timer = setTimeout(() => done(null, pong(msg)), delay + Math.max(0, delayMs ?? 0));
  // A caller that gave up (deadline, cancel) stops the work too.
  call.on('cancelled', () => {
    clearTimeout(timer);
    console.log(`Cancelled: ${msg}`);
  });
}

function pingStream(call: grpc.ServerDuplexStream<PingRequest, PingResponse>): void {
  console.log('Starting stream');
  call.on('data', (req: PingRequest) => call.write(pong(req.msg)));
  call.on('end', () => {
    console.log('Ending stream');
    call.end();
  });
  call.on('error', () => call.end());
}

function pingCount(call: grpc.ServerWritableStream<CountRequest, PingResponse>): void {
  const { msg, count, intervalMs } = call.request;
  let i = 0;
  const next = () => {
    if (call.cancelled) return;
    if (i >= count) {
      call.end();
      return;
    }
    i++;
    call.write(pong(`${msg} ${i}`));
    setTimeout(next, Math.max(0, intervalMs));
  };
  next();
}

const server = new grpc.Server();
server.addService(loadPing().PingService.service, { Ping: ping, PingStream: pingStream, PingCount: pingCount });
const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST ?? '127.0.0.1';
server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) => {
  if (err) {
    console.error(`grpc-ping: cannot listen on ${host}:${port}: ${err.message}`);
    process.exit(1);
  }
  console.log(`grpc-ping listening on ${host}:${bound}`);
});
process.on('SIGTERM', () => server.tryShutdown(() => process.exit(0)));
