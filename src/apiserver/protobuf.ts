// Decoding of Kubernetes' protobuf request bodies for the built-in kinds Sluice serves. kubectl's
// typed clients (`kubectl create namespace`, `kubectl create configmap`) send
// application/vnd.kubernetes.protobuf: the magic "k8s\0", then a runtime.Unknown envelope
// {typeMeta, raw} whose raw bytes are the object's message. Field numbers follow k8s.io/api's
// generated.proto. Responses are always JSON (clients accept it and decode by Content-Type).

import { badRequest } from '../api/errors.js';

type FieldType = 'string' | 'int64' | 'bool' | 'bytes' | 'time' | 'map<string,string>' | 'map<string,bytes>' | Message;
interface Field {
  name: string;
  type: FieldType;
  repeated?: boolean;
}
type Message = { [num: number]: Field };

const fieldsV1: Message = { 1: { name: 'Raw', type: 'bytes' } };
const managedFieldsEntry: Message = {
  1: { name: 'manager', type: 'string' },
  2: { name: 'operation', type: 'string' },
  3: { name: 'apiVersion', type: 'string' },
  4: { name: 'time', type: 'time' },
  6: { name: 'fieldsType', type: 'string' },
  7: { name: 'fieldsV1', type: fieldsV1 },
  8: { name: 'subresource', type: 'string' },
};
const ownerReference: Message = {
  1: { name: 'kind', type: 'string' },
  3: { name: 'name', type: 'string' },
  4: { name: 'uid', type: 'string' },
  5: { name: 'apiVersion', type: 'string' },
  6: { name: 'controller', type: 'bool' },
  7: { name: 'blockOwnerDeletion', type: 'bool' },
};
const objectMeta: Message = {
  1: { name: 'name', type: 'string' },
  2: { name: 'generateName', type: 'string' },
  3: { name: 'namespace', type: 'string' },
  4: { name: 'selfLink', type: 'string' },
  5: { name: 'uid', type: 'string' },
  6: { name: 'resourceVersion', type: 'string' },
  7: { name: 'generation', type: 'int64' },
  8: { name: 'creationTimestamp', type: 'time' },
  9: { name: 'deletionTimestamp', type: 'time' },
  10: { name: 'deletionGracePeriodSeconds', type: 'int64' },
  11: { name: 'labels', type: 'map<string,string>' },
  12: { name: 'annotations', type: 'map<string,string>' },
  13: { name: 'ownerReferences', type: ownerReference, repeated: true },
  14: { name: 'finalizers', type: 'string', repeated: true },
  17: { name: 'managedFields', type: managedFieldsEntry, repeated: true },
};
const namespaceCondition: Message = {
  1: { name: 'type', type: 'string' },
  2: { name: 'status', type: 'string' },
  4: { name: 'lastTransitionTime', type: 'time' },
  5: { name: 'reason', type: 'string' },
  6: { name: 'message', type: 'string' },
};
const MESSAGES: Record<string, Message> = {
  Namespace: {
    1: { name: 'metadata', type: objectMeta },
    2: { name: 'spec', type: { 1: { name: 'finalizers', type: 'string', repeated: true } } },
    3: {
      name: 'status',
      type: { 1: { name: 'phase', type: 'string' }, 2: { name: 'conditions', type: namespaceCondition, repeated: true } },
    },
  },
  ConfigMap: {
    1: { name: 'metadata', type: objectMeta },
    2: { name: 'data', type: 'map<string,string>' },
    3: { name: 'binaryData', type: 'map<string,bytes>' },
    4: { name: 'immutable', type: 'bool' },
  },
  Secret: {
    1: { name: 'metadata', type: objectMeta },
    2: { name: 'data', type: 'map<string,bytes>' },
    3: { name: 'type', type: 'string' },
    4: { name: 'stringData', type: 'map<string,string>' },
    5: { name: 'immutable', type: 'bool' },
  },
  // kubectl auth can-i / whoami send these through typed clients.
  SelfSubjectAccessReview: {
    1: { name: 'metadata', type: objectMeta },
    2: {
      name: 'spec',
      type: {
        1: {
          name: 'resourceAttributes',
          type: {
            1: { name: 'namespace', type: 'string' },
            2: { name: 'verb', type: 'string' },
            3: { name: 'group', type: 'string' },
            4: { name: 'version', type: 'string' },
            5: { name: 'resource', type: 'string' },
            6: { name: 'subresource', type: 'string' },
            7: { name: 'name', type: 'string' },
          },
        },
        2: { name: 'nonResourceAttributes', type: { 1: { name: 'path', type: 'string' }, 2: { name: 'verb', type: 'string' } } },
      },
    },
  },
  SelfSubjectRulesReview: {
    1: { name: 'metadata', type: objectMeta },
    2: { name: 'spec', type: { 1: { name: 'namespace', type: 'string' } } },
  },
  SelfSubjectReview: { 1: { name: 'metadata', type: objectMeta } },
  DeleteOptions: {
    1: { name: 'gracePeriodSeconds', type: 'int64' },
    2: { name: 'preconditions', type: { 1: { name: 'uid', type: 'string' }, 2: { name: 'resourceVersion', type: 'string' } } },
    3: { name: 'orphanDependents', type: 'bool' },
    4: { name: 'propagationPolicy', type: 'string' },
    5: { name: 'dryRun', type: 'string', repeated: true },
  },
};

export const PROTOBUF_MEDIA_TYPE = 'application/vnd.kubernetes.protobuf';

export function supportsProtobuf(kind: string): boolean {
  return kind in MESSAGES;
}

class Reader {
  pos = 0;
  constructor(readonly buf: Buffer) {}
  get done() {
    return this.pos >= this.buf.length;
  }
  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.buf.length) throw new Error('truncated varint');
      const b = this.buf[this.pos++];
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 70n) throw new Error('varint too long');
    }
  }
  bytes(): Buffer {
    const n = Number(this.varint());
    if (this.pos + n > this.buf.length) throw new Error('truncated field');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.pos += 4;
    else throw new Error(`unsupported wire type ${wire}`);
    if (this.pos > this.buf.length) throw new Error('truncated field');
  }
}

const toInt = (v: bigint) => Number(BigInt.asIntN(64, v));

function decodeMessage(buf: Buffer, msg: Message): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const r = new Reader(buf);
  while (!r.done) {
    const key = r.varint();
    const num = Number(key >> 3n);
    const wire = Number(key & 7n);
    const f = msg[num];
    if (!f) {
      r.skip(wire);
      continue;
    }
    let value: unknown;
    if (typeof f.type === 'object') value = decodeMessage(r.bytes(), f.type);
    else if (f.type === 'string') value = r.bytes().toString('utf8');
    else if (f.type === 'bytes') value = r.bytes().toString('base64');
    else if (f.type === 'int64') value = toInt(r.varint());
    else if (f.type === 'bool') value = r.varint() !== 0n;
    else if (f.type === 'time') {
      const t = decodeMessage(r.bytes(), { 1: { name: 's', type: 'int64' } });
      // Go's zero time (seconds unset or at year 1) means "no timestamp".
      const secs = Number(t.s ?? 0);
      value = secs <= 0 ? null : new Date(secs * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
    } else {
      // Map entries are messages {1: key, 2: value}.
      const entry = decodeMessage(r.bytes(), {
        1: { name: 'k', type: 'string' },
        2: { name: 'v', type: f.type === 'map<string,bytes>' ? 'bytes' : 'string' },
      });
      const map = (out[f.name] as Record<string, unknown>) ?? {};
      Object.defineProperty(map, String(entry.k ?? ''), { value: entry.v ?? '', enumerable: true, writable: true, configurable: true });
      out[f.name] = map;
      continue;
    }
    if (f.repeated) ((out[f.name] as unknown[]) ??= []).push(value);
    // Go writes every proto2 scalar, even empty; its JSON form omits them, so do we.
    else if (value !== '' && value !== 0 && value !== false && value !== null) out[f.name] = value;
  }
  return out;
}

/** Decodes a protobuf body of the given kind into the JSON form of the object. */
export function decodeProtobuf(buf: Buffer, kind: string): Record<string, unknown> {
  const msg = MESSAGES[kind];
  if (!msg) throw badRequest(`protobuf bodies are not supported for ${kind}; send application/json`);
  if (buf.length < 4 || buf.subarray(0, 4).toString('latin1') !== 'k8s\u0000') {
    throw badRequest('the protobuf body does not start with the Kubernetes envelope prefix "k8s\\0"');
  }
  try {
    const envelope = decodeMessage(buf.subarray(4), {
      1: { name: 'typeMeta', type: { 1: { name: 'apiVersion', type: 'string' }, 2: { name: 'kind', type: 'string' } } },
      2: { name: 'raw', type: 'bytes' },
      3: { name: 'contentEncoding', type: 'string' },
    });
    if (envelope.contentEncoding) throw new Error(`unsupported content encoding ${String(envelope.contentEncoding)}`);
    const tm = (envelope.typeMeta ?? {}) as { apiVersion?: string; kind?: string };
    const obj = decodeMessage(Buffer.from(String(envelope.raw ?? ''), 'base64'), msg);
    return { ...(tm.apiVersion ? { apiVersion: tm.apiVersion } : {}), ...(tm.kind ? { kind: tm.kind } : {}), ...obj };
  } catch (e) {
    if (e instanceof Error && !(e as any).code) throw badRequest(`the protobuf body could not be decoded: ${e.message}`);
    throw e;
  }
}
