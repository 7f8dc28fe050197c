// Loads the grpc-ping example's API (ping.proto, next to this file's source) for the server and
// for clients (the example client and the tests).

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/** ping.proto stays in examples/grpc-ping/; the compiled file runs from dist/examples/grpc-ping/. */
export const PROTO_PATH = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  '..',
  'examples',
  'grpc-ping',
  'ping.proto',
);

export interface PingRequest {
  msg: string;
  delayMs?: number;
}
export interface PingResponse {
  msg: string;
}
export interface CountRequest {
  msg: string;
  count: number;
  intervalMs: number;
}

export interface PingPackage {
  PingService: grpc.ServiceClientConstructor;
}

export function loadPing(): PingPackage {
  const def = protoLoader.loadSync(PROTO_PATH, { keepCase: false, longs: Number, defaults: true });
  return (grpc.loadPackageDefinition(def) as unknown as { ping: PingPackage }).ping;
}
