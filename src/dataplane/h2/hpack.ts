// The few HTTP/2 frames the gateway writes itself: the request of an HTTP/1.1 `Upgrade: h2c`, which
// RFC 7540 §3.2 makes stream 1 of the new connection. Node's http2 cannot be told about a stream it
// did not read, so the gateway hands it the request as if the client had sent it on stream 1.
// HPACK here is only "literal header field without indexing" (RFC 7541 §6.2.2): valid for every
// decoder, no table state to share.

/** Default SETTINGS_MAX_FRAME_SIZE (RFC 9113 §6.5.2): every peer accepts frames this large. */
export const MAX_FRAME = 16_384;

const FRAME_DATA = 0x0;
const FRAME_HEADERS = 0x1;
const FLAG_END_STREAM = 0x1;
const FLAG_END_HEADERS = 0x4;

/** RFC 7541 §5.1 integer with an N-bit prefix (the prefix's other bits are 0). */
export function hpackInt(value: number, prefixBits: number, out: number[]): void {
  const max = (1 << prefixBits) - 1;
  if (value < max) {
    out.push(value);
    return;
  }
  out.push(max);
  let v = value - max;
  while (v >= 128) {
    out.push((v % 128) + 128);
    v = Math.floor(v / 128);
  }
  out.push(v);
}

/** A header block of literal fields without indexing, names lower-case, in the given order. */
export function hpackLiterals(fields: ReadonlyArray<readonly [string, string]>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of fields) {
    const n = Buffer.from(name, 'latin1');
    const v = Buffer.from(value, 'latin1');
    const head: number[] = [0x00];
    hpackInt(n.length, 7, head);
    const mid: number[] = [];
    hpackInt(v.length, 7, mid);
    parts.push(Buffer.from(head), n, Buffer.from(mid), v);
  }
  return Buffer.concat(parts);
}

export function frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([h, payload]);
}

/**
 * Frames for stream 1 carrying this request: one HEADERS frame (the block must fit in one frame),
 * then the body in DATA frames. Returns null if the header block is too large for one frame.
 */
export function requestFrames(fields: ReadonlyArray<readonly [string, string]>, body: Buffer): Buffer | null {
  const block = hpackLiterals(fields);
  if (block.length > MAX_FRAME) return null;
  const out = [frame(FRAME_HEADERS, FLAG_END_HEADERS | (body.length === 0 ? FLAG_END_STREAM : 0), 1, block)];
  for (let off = 0; off < body.length; off += MAX_FRAME) {
    const end = Math.min(body.length, off + MAX_FRAME);
    out.push(frame(FRAME_DATA, end === body.length ? FLAG_END_STREAM : 0, 1, body.subarray(off, end)));
  }
  return Buffer.concat(out);
}
