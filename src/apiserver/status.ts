// Every failure leaves the server as a metav1.Status, the shape kubectl and client-go decode into
// typed errors (IsNotFound, IsConflict, ...). Unknown exceptions become a short 500 Status; their
// stack goes to the log, never to the client.

import type { ServerResponse } from 'node:http';
import { ApiError, type StatusReason } from '../api/errors.js';

export interface StatusBody {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message?: string;
  reason?: StatusReason | string;
  details?: ApiError['details'];
  code: number;
}

export function statusOf(err: ApiError): StatusBody {
  const body: StatusBody = {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: err.message,
    reason: err.reason,
    code: err.code,
  };
  if (err.details && Object.keys(err.details).length > 0) body.details = err.details;
  return body;
}

export function successStatus(details?: ApiError['details']): StatusBody {
  const body: StatusBody = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 200 };
  if (details) body.details = details;
  return body;
}

/** Turns anything thrown into an ApiError; non-API errors are logged and reported as a bare 500. */
export function toApiError(err: unknown, log: (msg: string) => void): ApiError {
  if (err instanceof ApiError) return err;
  const e = err as Error;
  log(`apiserver: internal error: ${e?.stack ?? String(err)}`);
  return new ApiError(500, 'InternalError', `Internal error occurred: ${e?.message ?? String(err)}`);
}

export function sendJson(res: ServerResponse, code: number, body: unknown, contentType = 'application/json'): void {
  const text = JSON.stringify(body);
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(code, {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-cache, private',
  });
  res.end(text);
}

export function sendStatus(res: ServerResponse, err: ApiError): void {
  sendJson(res, err.code, statusOf(err));
}

// Constructors for the reasons the server itself produces (errors.ts has the store's ones).
export const unauthorized = () => new ApiError(401, 'Unauthorized', 'Unauthorized');
export const pathNotFound = (path: string) =>
  new ApiError(404, 'NotFound', `the server could not find the requested resource (path ${path})`);
export const methodNotAllowed = (method: string) =>
  new ApiError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource (${method})`);
export const notAcceptable = (accept: string) =>
  new ApiError(406, 'NotAcceptable', `only the following media types are accepted: application/json, application/yaml (Accept: ${accept})`);
export const unsupportedMediaType = (message: string) => new ApiError(415, 'UnsupportedMediaType', message);
export const tooLarge = (limit: number) => new ApiError(413, 'RequestEntityTooLarge', `Request entity too large: limit is ${limit}`);
export const invalid = (message: string, details?: ApiError['details']) => new ApiError(422, 'Invalid', message, details);
