// The bytes of one socket write, assembled in place: a request head (and the body bytes already
// read), or a response head with its body. The fast path builds each message straight into one
// shared scratch buffer and writes it with one call, instead of building strings and header
// objects, concatenating them and encoding them again: per request that was most of the gateway's
// own CPU time.
//
// One module-level Wire serves every connection: a message is assembled and sent within one
// synchronous run of code, so two never interleave. A write the kernel does not take at once keeps
// a view of the scratch buffer; the Wire then starts a fresh one, so bytes still to be sent are
// never overwritten.

import type { Socket } from 'node:net';

/** Scratch size; larger messages are sent in pieces with one writev. */
const SCRATCH_BYTES = 32 * 1024;
/** Body pieces larger than this are written as they are (no copy), next to the assembled bytes. */
const COPY_LIMIT = 8 * 1024;
/** Strings up to this length are copied by a loop in JS (cheaper than a call into native code: Buffer#write's checks cost as much as ~100 characters). */
const LOOP_LIMIT = 128;

export class Wire {
  private buf = Buffer.allocUnsafeSlow(SCRATCH_BYTES);
  /** Start of the bytes not yet handed to `pieces` (0 unless the message has large pieces). */
  private from = 0;
  private at = 0;
  /** Pieces of a message that is not one contiguous run of `buf`, in order. */
  private pieces: Buffer[] | null = null;
  /** Counts runs ended (cut) and buffers taken (renew), so `since` can tell its mark still holds. */
  private runs = 0;
  private markRuns = -1;

  /** Where assembly is now, for `since`. */
  mark(): number {
    this.markRuns = this.runs;
    return this.at;
  }

  /** A copy of the bytes assembled since `mark`, or null if they are not one run of the scratch buffer. */
  since(mark: number): Buffer | null {
    if (this.markRuns !== this.runs || this.at < mark) return null;
    return Buffer.from(this.buf.subarray(mark, this.at));
  }

  /** Latin-1 text (the headers' charset on the wire). */
  text(s: string): void {
    const n = s.length;
    if (this.at + n > this.buf.length) this.renew(n);
    const b = this.buf;
    let at = this.at;
    if (n <= LOOP_LIMIT) for (let i = 0; i < n; i++) b[at++] = s.charCodeAt(i);
    else at += b.write(s, at, 'latin1');
    this.at = at;
  }

  /** One byte. */
  byte(c: number): void {
    if (this.at === this.buf.length) this.renew(1);
    this.buf[this.at++] = c;
  }

  /** CR LF. */
  crlf(): void {
    if (this.at + 2 > this.buf.length) this.renew(2);
    this.buf[this.at++] = 13;
    this.buf[this.at++] = 10;
  }

  /** A non-negative integer in decimal or hex. */
  number(v: number, radix: 10 | 16): void {
    this.text(v.toString(radix));
  }

  /**
   * src[start..end), always copied: for bytes of a buffer that is reused once this call returns
   * (the upstream pool's read buffer), which a view would let the next read overwrite.
   */
  copy(src: Buffer, start: number, end: number): void {
    const n = end - start;
    if (n <= 0) return;
    if (this.at + n > this.buf.length) this.renew(n);
    const b = this.buf;
    if (n <= LOOP_LIMIT) {
      let at = this.at;
      for (let i = start; i < end; i++) b[at++] = src[i];
      this.at = at;
    } else this.at += src.copy(b, this.at, start, end);
  }

  /** src[start..end): copied when small, written as a view of `src` when large. */
  bytes(src: Buffer, start: number, end: number): void {
    const n = end - start;
    if (n <= 0) return;
    if (n > COPY_LIMIT) {
      this.cut();
      (this.pieces ??= []).push(start === 0 && end === src.length ? src : src.subarray(start, end));
      return;
    }
    this.copy(src, start, end);
  }

  /**
   * Writes what was assembled to `socket` (one write, or one writev for a message in pieces) and
   * starts the next message. Returns what socket.write returned (false: the socket buffers).
   */
  send(socket: Socket): boolean {
    let ok = true;
    if (this.pieces === null) {
      if (this.at === this.from) return true;
      ok = socket.write(this.buf.subarray(this.from, this.at));
    } else {
      this.cut();
      const pieces = this.pieces;
      this.pieces = null;
      socket.cork();
      for (const p of pieces) ok = socket.write(p);
      socket.uncork();
    }
    // Bytes the kernel did not take yet stay referenced by the socket: never write over them.
    if (socket.writableLength > 0) this.buf = Buffer.allocUnsafeSlow(SCRATCH_BYTES);
    this.from = 0;
    this.at = 0;
    this.runs++;
    return ok;
  }

  /** Drops what was assembled (the message will not be sent). */
  discard(): void {
    this.pieces = null;
    this.runs++;
    this.from = this.at;
    if (this.from > this.buf.length / 2) this.from = this.at = 0;
  }

  /** Ends the current contiguous run: it becomes a piece of its own. */
  private cut(): void {
    this.runs++;
    if (this.at > this.from) (this.pieces ??= []).push(this.buf.subarray(this.from, this.at));
    this.from = this.at;
  }

  /** No room for n more bytes: the run so far becomes a piece, and a new scratch buffer takes over. */
  private renew(n: number): void {
    this.cut();
    this.runs++;
    this.buf = Buffer.allocUnsafeSlow(Math.max(SCRATCH_BYTES, n));
    this.from = 0;
    this.at = 0;
  }
}

/** The one Wire every fast-path connection assembles its messages in (see the header). */
export const wire = new Wire();
