// /openapi/v2 in the protobuf form client-go asks for (gnostic's openapi_v2.Document, media type
// application/com.github.proto-openapi.spec.v2@v1.0+protobuf): the definitions of openApiV2()
// with their x-kubernetes-* extensions, which is what kubectl reads from it (explain with
// --output plaintext-openapiv2, validation when v3 is missing). Paths are left out. Field
// numbers follow gnostic's OpenAPIv2.proto.

import { stringify } from 'yaml';

export const OPENAPI_V2_PROTOBUF = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf';
/** What the answer says it is: Go's media-type parser refuses the "@" of the requested name. */
export const OPENAPI_V2_PROTOBUF_RESPONSE = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';

type Json = Record<string, unknown>;

function varint(n: number): Buffer {
  const out: number[] = [];
  let v = n >>> 0;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return Buffer.from(out);
}

/** A length-delimited field (strings, bytes, messages). */
const field = (num: number, payload: Buffer | string): Buffer => {
  const bytes = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  return Buffer.concat([varint((num << 3) | 2), varint(bytes.length), bytes]);
};
const boolField = (num: number, v: boolean): Buffer => Buffer.concat([varint(num << 3), varint(v ? 1 : 0)]);

/** NamedAny {name, value: Any {yaml}} — how gnostic keeps vendor extensions. */
const vendorExtension = (num: number, name: string, value: unknown) =>
  field(num, Buffer.concat([field(1, name), field(2, field(2, stringify(value)))]));

function schema(s: Json): Buffer {
  const parts: Buffer[] = [];
  if (typeof s.$ref === 'string') parts.push(field(1, s.$ref));
  if (typeof s.format === 'string') parts.push(field(2, s.format));
  if (typeof s.description === 'string') parts.push(field(4, s.description));
  if (Array.isArray(s.required)) for (const r of s.required) parts.push(field(19, String(r)));
  if (s.additionalProperties !== undefined) {
    const ap = s.additionalProperties;
    parts.push(field(21, typeof ap === 'boolean' ? boolField(2, ap) : field(1, schema(ap as Json))));
  }
  if (typeof s.type === 'string') parts.push(field(22, field(1, s.type)));
  if (s.items && typeof s.items === 'object') parts.push(field(23, field(1, schema(s.items as Json))));
  if (Array.isArray(s.allOf)) for (const a of s.allOf) parts.push(field(24, schema(a as Json)));
  if (s.properties && typeof s.properties === 'object') {
    const props = Object.entries(s.properties as Record<string, Json>).map(([name, v]) =>
      field(1, Buffer.concat([field(1, name), field(2, schema(v))])),
    );
    parts.push(field(25, Buffer.concat(props)));
  }
  for (const [k, v] of Object.entries(s)) if (k.startsWith('x-')) parts.push(vendorExtension(31, k, v));
  return Buffer.concat(parts);
}

/** Encodes a Swagger 2.0 document's info and definitions as gnostic's protobuf Document. */
export function encodeOpenApiV2(doc: {
  swagger: string;
  info: { title: string; version: string };
  definitions: Record<string, Json>;
}): Buffer {
  const definitions = Object.entries(doc.definitions).map(([name, s]) => field(1, Buffer.concat([field(1, name), field(2, schema(s))])));
  return Buffer.concat([
    field(1, doc.swagger),
    field(2, Buffer.concat([field(1, doc.info.title), field(2, doc.info.version)])),
    field(8, Buffer.alloc(0)),
    field(9, Buffer.concat(definitions)),
  ]);
}
