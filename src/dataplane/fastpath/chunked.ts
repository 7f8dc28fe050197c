// Incremental reader of a chunked body (RFC 9112 §7.1) as a backend sends it: hands out the data
// bytes (as views of the input, no copies) and says where the message ends. Chunk extensions and
// trailer fields are read and dropped, as the node:http path drops them when it relays a body.
// Malformed framing is an error with the code node:http's parser would report.

import { ResponseError } from './heads.js';

const enum S {
  Size,
  SizeLws,
  Ext,
  SizeLf,
  Data,
  DataCr,
  DataLf,
  TrailerStart,
  TrailerLine,
  TrailerLf,
  EndLf,
  Done,
}

/** 2^52: more hex digits than this can hold is refused (llhttp refuses sizes past 2^64). */
const MAX_SIZE = 2 ** 52;

export type DataSink = (buf: Buffer, start: number, end: number) => void;

export class ChunkedReader {
  private s = S.Size;
  private size = 0;
  private digits = 0;
  private left = 0;

  get done(): boolean {
    return this.s === S.Done;
  }

  /**
   * Reads buf[start..end): data bytes go to `sink`. Returns the offset just past the message's end,
   * or -1 if all of it was consumed and more is needed. Throws ResponseError on bad framing.
   */
  read(buf: Buffer, start: number, end: number, sink: DataSink): number {
    let p = start;
    while (p < end) {
      switch (this.s) {
        case S.Size: {
          const c = buf[p];
          const v = hexValue(c);
          if (v >= 0) {
            this.size = this.size * 16 + v;
            if (++this.digits > 13 || this.size > MAX_SIZE) throw new ResponseError('HPE_INVALID_CHUNK_SIZE', 'Chunk size overflow');
            p++;
            break;
          }
          if (this.digits === 0) throw new ResponseError('HPE_INVALID_CHUNK_SIZE', 'Invalid character in chunk size');
          if (c === 13) this.s = S.SizeLf;
          else if (c === 59 /* ; */) this.s = S.Ext;
          else if (c === 32 || c === 9) this.s = S.SizeLws;
          else throw new ResponseError('HPE_INVALID_CHUNK_SIZE', 'Invalid character in chunk size');
          p++;
          break;
        }
        case S.SizeLws: {
          const c = buf[p++];
          if (c === 59) this.s = S.Ext;
          else if (c === 13) this.s = S.SizeLf;
          else if (c !== 32 && c !== 9) throw new ResponseError('HPE_INVALID_CHUNK_SIZE', 'Invalid character in chunk size');
          break;
        }
        case S.Ext: {
          const c = buf[p++];
          if (c === 13) this.s = S.SizeLf;
          else if ((c < 32 && c !== 9) || c === 127)
            throw new ResponseError('HPE_INVALID_EXTENSION', 'Invalid character in chunk extensions');
          break;
        }
        case S.SizeLf:
          if (buf[p++] !== 10) throw new ResponseError('HPE_LF_EXPECTED', 'Expected LF after chunk size');
          this.digits = 0;
          if (this.size === 0) this.s = S.TrailerStart;
          else {
            this.left = this.size;
            this.s = S.Data;
          }
          this.size = 0;
          break;
        case S.Data: {
          const take = Math.min(this.left, end - p);
          sink(buf, p, p + take);
          p += take;
          this.left -= take;
          if (this.left === 0) this.s = S.DataCr;
          break;
        }
        case S.DataCr:
          if (buf[p++] !== 13) throw new ResponseError('HPE_STRICT', 'Expected CRLF after chunk data');
          this.s = S.DataLf;
          break;
        case S.DataLf:
          if (buf[p++] !== 10) throw new ResponseError('HPE_STRICT', 'Expected CRLF after chunk data');
          this.s = S.Size;
          break;
        case S.TrailerStart:
          this.s = buf[p++] === 13 ? S.EndLf : S.TrailerLine;
          break;
        case S.TrailerLine: {
          const c = buf[p++];
          if (c === 13) this.s = S.TrailerLf;
          else if (c === 10 || c === 0) throw new ResponseError('HPE_INVALID_HEADER_TOKEN', 'Invalid trailer');
          break;
        }
        case S.TrailerLf:
          if (buf[p++] !== 10) throw new ResponseError('HPE_LF_EXPECTED', 'Expected LF after trailer');
          this.s = S.TrailerStart;
          break;
        case S.EndLf:
          if (buf[p++] !== 10) throw new ResponseError('HPE_LF_EXPECTED', 'Expected LF at the end of a chunked body');
          this.s = S.Done;
          return p;
        case S.Done:
          return p;
      }
    }
    return this.s === S.Done ? p : -1;
  }
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}
