// Reading and decoding request bodies: a hard size cap (Kubernetes' 3 MiB default) enforced while
// streaming, so a huge upload costs neither memory nor a hang, and JSON or YAML decoding with the
// parser's own message in the 400.

import type { IncomingMessage } from 'node:http';
import { parse as parseYaml } from 'yaml';
import { badRequest } from '../api/errors.js';
import { decodeProtobuf, PROTOBUF_MEDIA_TYPE, supportsProtobuf } from './protobuf.js';
import { tooLarge, unsupportedMediaType } from './status.js';

export const DEFAULT_MAX_BODY_BYTES = 3 * 1024 * 1024;

export function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0].trim().toLowerCase();
}

export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    // Discard the upload instead of reading it; the response is sent with Connection: close.
    req.resume();
    return Promise.reject(tooLarge(limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      if (over) return;
      size += c.length;
      if (size > limit) {
        over = true;
        chunks.length = 0;
        reject(tooLarge(limit));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (!over) resolve(Buffer.concat(chunks));
    });
    req.on('error', (e) => {
      if (!over) reject(badRequest(`error reading request body: ${e.message}`));
    });
  });
}

const JSON_TYPES = new Set([
  'application/json',
  'application/merge-patch+json',
  'application/json-patch+json',
  'application/strategic-merge-patch+json',
  '',
]);
const YAML_TYPES = new Set(['application/yaml', 'application/x-yaml', 'text/yaml', 'application/apply-patch+yaml']);

/**
 * Decodes a body as JSON or YAML according to its media type; protobuf only for the built-in
 * kinds protobuf.ts knows (`protoKind`, e.g. "Namespace").
 */
export function decodeBody(buf: Buffer, contentType: string | undefined, protoKind?: string): unknown {
  const type = mediaType(contentType);
  if (type === PROTOBUF_MEDIA_TYPE && protoKind && supportsProtobuf(protoKind)) return decodeProtobuf(buf, protoKind);
  const value = decodeText(buf, type);
  checkDepth(value);
  return value;
}

function decodeText(buf: Buffer, type: string): unknown {
  const text = buf.toString('utf8');
  if (text.trim() === '') throw badRequest('the request body is empty');
  if (JSON_TYPES.has(type)) {
    try {
      return JSON.parse(text);
    } catch (e) {
      throw badRequest(`the request body is not valid JSON: ${(e as Error).message}`);
    }
  }
  if (YAML_TYPES.has(type)) {
    try {
      return parseYaml(text, { uniqueKeys: true, maxAliasCount: 100 });
    } catch (e) {
      throw badRequest(`the request body is not valid YAML: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  throw unsupportedMediaType(
    `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml`,
  );
}

export const isPlainObject = (v: unknown): v is Record<string, any> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Sets an own property even for keys like "__proto__", which plain assignment would misread. */
export function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

export const hasOwn = (obj: object | undefined, key: string): boolean =>
  obj !== undefined && Object.prototype.hasOwnProperty.call(obj, key);

/** Kubernetes objects are shallow; a deeper document is an attack or a mistake, not a resource. */
export const MAX_DEPTH = 100;

function checkDepth(root: unknown): void {
  const stack: [unknown, number][] = [[root, 1]];
  while (stack.length) {
    const [v, d] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (d > MAX_DEPTH) throw badRequest(`the request body is nested deeper than ${MAX_DEPTH} levels`);
    for (const child of Object.values(v)) if (typeof child === 'object' && child !== null) stack.push([child, d + 1]);
  }
}
