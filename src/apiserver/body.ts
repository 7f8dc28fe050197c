// Reading and decoding request bodies: a hard size cap (Kubernetes' 3 MiB default) enforced while
// streaming, so a huge upload costs neither memory nor a hang; a nesting-depth cap checked on the
// text before any parser runs (nesting.ts); and JSON or YAML decoding with the parser's own
// message in the 400.

import type { IncomingMessage } from 'node:http';
import { parse as parseYaml } from 'yaml';
import { badRequest } from '../api/errors.js';
import { jsonNestingDepth, valueDepth, yamlNestingDepth } from './nesting.js';
import { decodeProtobuf, PROTOBUF_MEDIA_TYPE, supportsProtobuf } from './protobuf.js';
import { tooLarge, unsupportedMediaType } from './status.js';

export const DEFAULT_MAX_BODY_BYTES = 3 * 1024 * 1024;
/** Kubernetes objects are shallow; a deeper document is an attack or a mistake, not a resource. */
export const MAX_DEPTH = 100;
/** What the YAML parser is allowed to see: well within its recursion budget (it fails near 1,000). */
const YAML_PARSER_DEPTH = 2 * MAX_DEPTH;
/**
 * After a 413 the rest of the upload is read and thrown away, so the client is still writing into
 * an open socket when the answer arrives and reads it (closing with unread data would reset the
 * connection and lose the 413). Past this many bytes the client is cut off instead.
 */
export const maxDrainBytes = (limit: number) => Math.max(16 * 1024 * 1024, 4 * limit);

/** Content-Length as a number, or undefined when absent or malformed (chunked bodies). */
export function declaredLength(req: IncomingMessage): number | undefined {
  const v = req.headers['content-length'];
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
}

export function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0].trim().toLowerCase();
}

export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    const refuse = () => {
      over = true;
      chunks.length = 0;
      reject(tooLarge(limit));
    };
    const declared = declaredLength(req);
    if (declared !== undefined && declared > limit) refuse();
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (over) {
        if (size > maxDrainBytes(limit)) req.socket.destroy();
        return;
      }
      if (size > limit) {
        refuse();
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

const tooDeep = () => badRequest(`the request body is nested deeper than ${MAX_DEPTH} levels (the limit for any object or patch)`);

function decodeText(buf: Buffer, type: string): unknown {
  const text = buf.toString('utf8');
  if (text.trim() === '') throw badRequest('the request body is empty');
  if (JSON_TYPES.has(type)) {
    if (jsonNestingDepth(text, MAX_DEPTH) > MAX_DEPTH) throw tooDeep();
    try {
      return JSON.parse(text);
    } catch (e) {
      throw badRequest(`the request body is not valid JSON: ${(e as Error).message}`);
    }
  }
  if (YAML_TYPES.has(type)) {
    // The estimate may count a level twice (e.g. "- [x]"), so it only guards the parser; the
    // parsed value is measured exactly afterwards.
    if (yamlNestingDepth(text, YAML_PARSER_DEPTH) > YAML_PARSER_DEPTH) throw tooDeep();
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

/** Refuses a value (a parsed body, or the result of applying a patch) nested deeper than MAX_DEPTH. */
export function checkDepth(root: unknown): void {
  if (valueDepth(root, MAX_DEPTH) > MAX_DEPTH) throw tooDeep();
}
