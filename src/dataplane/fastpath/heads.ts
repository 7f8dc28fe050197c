// Strict parsers for HTTP/1.1 message heads: the client's request head (fast path) and the
// backend's response head.
//
// The request parser accepts only a narrow, unambiguous subset of HTTP/1.1 and answers "not
// plain" for everything else, which the gateway then hands to node:http (whose llhttp gives the
// verdict, 400 or otherwise). So it never has to decide what to refuse: its only job is never to
// accept a request llhttp would refuse or read differently. Anything unusual is "not plain":
// Transfer-Encoding, Expect, Upgrade, Trailer, HTTP/1.0, a repeated header, a bare CR or LF,
// obs-fold, a control or non-ASCII byte, an unusual method or target, an oversized head.

/** Methods the fast path takes; any other (valid or not) goes to node:http. */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']);
/** Methods for which node:http's client sends `Content-Length: 0` when there is no body. */
export const EMPTY_BODY_LENGTH_METHODS = new Set(['POST', 'PUT', 'PATCH']);

/** Well below node:http's 16 KiB (--max-http-header-size), so the limit is never ours to enforce. */
export const MAX_HEAD_BYTES = 8192;
/** Far below node:http's 2000 (maxHeadersCount), past which node:http silently drops headers. */
export const MAX_HEADERS = 64;
/** Content-Length digits: 15 digits stay exact in a double. */
const MAX_LENGTH_DIGITS = 15;

const CR = 13;
const LF = 10;
const SP = 32;
const HT = 9;
const COLON = 58;

/** RFC 9110 tchar: the bytes of a header name or method. */
const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 48; c <= 57; c++) TCHAR[c] = 1;
for (let c = 65; c <= 90; c++) TCHAR[c] = 1;
for (let c = 97; c <= 122; c++) TCHAR[c] = 1;

/** Bytes of an origin-form target the fast path takes (RFC 3986 pchar, '/', '?'); no '#', no space. */
const TARGET = new Uint8Array(256);
for (const c of "-._~!$&'()*+,;=:@/?%") TARGET[c.charCodeAt(0)] = 1;
for (let c = 48; c <= 57; c++) TARGET[c] = 1;
for (let c = 65; c <= 90; c++) TARGET[c] = 1;
for (let c = 97; c <= 122; c++) TARGET[c] = 1;

export interface RequestHead {
  method: string;
  /** The request-target as sent (origin-form). */
  target: string;
  /** Lower-case name -> value (no name repeats), the shape of node:http's `req.headers`. */
  headers: Record<string, string>;
  /** Declared body length; 0 when there is no Content-Length. */
  contentLength: number;
  /** The client asked to close the connection after this exchange. */
  close: boolean;
  /** Offset just past the blank line ending the head. */
  end: number;
}

/** Why a request was not taken (for tests and debugging); 'incomplete' = no whole head in the bytes. */
export type NotPlain = { reason: string };

function notPlain(reason: string): NotPlain {
  return { reason };
}

/**
 * Parses the request head at buf[0..]. Returns the head if it is plain HTTP/1.1 the fast path can
 * relay, or why not. The whole head must be in `buf`.
 */
export function parseRequestHead(buf: Buffer): RequestHead | NotPlain {
  const n = buf.length;
  const limit = n < MAX_HEAD_BYTES ? n : MAX_HEAD_BYTES;
  // Method.
  let p = 0;
  while (p < limit && TCHAR[buf[p]] === 1) p++;
  if (p === limit) return notPlain(n >= MAX_HEAD_BYTES ? 'head too large' : 'incomplete');
  if (buf[p] !== SP || p === 0) return notPlain('bad method');
  const method = knownMethod(buf, p);
  if (method === null) return notPlain('method');
  // Target.
  const t0 = ++p;
  if (buf[p] !== 47 /* / */) return notPlain('target form');
  while (p < limit && TARGET[buf[p]] === 1) p++;
  if (p === limit) return notPlain(n >= MAX_HEAD_BYTES ? 'head too large' : 'incomplete');
  if (buf[p] !== SP) return notPlain('target byte');
  const target = p - t0 === 1 ? '/' : buf.toString('latin1', t0, p);
  // Version: exactly "HTTP/1.1" CRLF.
  p++;
  if (p + 10 > limit) return notPlain(n >= MAX_HEAD_BYTES ? 'head too large' : 'incomplete');
  if (
    buf[p] !== 72 ||
    buf[p + 1] !== 84 ||
    buf[p + 2] !== 84 ||
    buf[p + 3] !== 80 ||
    buf[p + 4] !== 47 ||
    buf[p + 5] !== 49 ||
    buf[p + 6] !== 46 ||
    buf[p + 7] !== 49 ||
    buf[p + 8] !== CR ||
    buf[p + 9] !== LF
  )
    return notPlain('version');
  p += 10;

  // A plain object (fast properties); a name Object.prototype has (constructor, __proto__, ...)
  // reads as already present, so such a request counts as repeating a header and is not plain.
  const headers: Record<string, string> = {};
  let count = 0;
  let contentLength = 0;
  let close = false;
  let host = false;
  for (;;) {
    if (p >= limit) return notPlain(n >= MAX_HEAD_BYTES ? 'head too large' : 'incomplete');
    if (buf[p] === CR) {
      if (p + 1 >= limit) return notPlain(n >= MAX_HEAD_BYTES ? 'head too large' : 'incomplete');
      if (buf[p + 1] !== LF) return notPlain('bare CR');
      p += 2;
      break;
    }
    // Name: tchar+ then ':' with nothing between (a space before the colon is refused by llhttp).
    const n0 = p;
    while (p < limit && TCHAR[buf[p]] === 1) p++;
    if (p === limit) return notPlain(n >= MAX_HEAD_BYTES ? 'head too large' : 'incomplete');
    if (p === n0 || buf[p] !== COLON) return notPlain('header name');
    const name = requestHeaderName(buf, n0, p);
    p++;
    while (p < limit && (buf[p] === SP || buf[p] === HT)) p++;
    // Value: visible ASCII with inner spaces/tabs.
    const v0 = p;
    let v1 = p;
    for (;;) {
      if (p >= limit) return notPlain(n >= MAX_HEAD_BYTES ? 'head too large' : 'incomplete');
      const c = buf[p];
      if (c > 32 && c < 127) v1 = ++p;
      else if (c === SP || c === HT) p++;
      else break;
    }
    if (buf[p] !== CR) return notPlain('header value byte');
    // llhttp treats trailing whitespace differently by header (a tab after a Content-Length is
    // refused, a space is not): leave every such value to it.
    if (p !== v1) return notPlain('trailing whitespace');
    if (p + 1 >= limit) return notPlain(n >= MAX_HEAD_BYTES ? 'head too large' : 'incomplete');
    if (buf[p + 1] !== LF) return notPlain('bare CR');
    p += 2;
    if (++count > MAX_HEADERS) return notPlain('too many headers');
    // A repeated name is joined, dropped or kept as a list by node:http depending on the name.
    if (headers[name] !== undefined) return notPlain('repeated header');
    let value: string;
    if (name === 'host') {
      // Mostly the same host request after request: the same string (its hash already computed for
      // the route lookup), and none made.
      if (!bytesAre(buf, v0, v1, lastHost)) lastHost = buf.toString('latin1', v0, v1);
      value = lastHost;
    } else value = buf.toString('latin1', v0, v1);
    headers[name] = value;
    switch (name) {
      case 'host':
        host = true;
        break;
      case 'content-length': {
        const len = value.length;
        if (len === 0 || len > MAX_LENGTH_DIGITS || (len > 1 && value.charCodeAt(0) === 48)) return notPlain('content-length');
        for (let i = 0; i < len; i++) {
          const d = value.charCodeAt(i);
          if (d < 48 || d > 57) return notPlain('content-length');
        }
        contentLength = Number(value);
        break;
      }
      case 'connection': {
        const c = connectionTokens(value);
        if (c < 0) return notPlain('connection: upgrade');
        close = c === 1;
        break;
      }
      case 'transfer-encoding':
      case 'expect':
      case 'upgrade':
      case 'trailer':
      case 'http2-settings':
        return notPlain(name);
    }
  }
  // node:http (requireHostHeader) refuses HTTP/1.1 without Host.
  if (!host) return notPlain('no host');
  return { method, target, headers, contentLength, close, end: p };
}

/** METHODS by length, to find a method by its bytes without making a string. */
const METHODS_BY_LENGTH: string[][] = [];
for (const m of METHODS) (METHODS_BY_LENGTH[m.length] ??= []).push(m);

/** The method at buf[0..end) if it is one of METHODS (exact case), else null. */
function knownMethod(buf: Buffer, end: number): string | null {
  const ms = METHODS_BY_LENGTH[end];
  if (ms !== undefined) for (const m of ms) if (bytesAre(buf, 0, end, m)) return m;
  return null;
}

/** Whether buf[start..end) is exactly the Latin-1 string s. */
function bytesAre(buf: Buffer, start: number, end: number, s: string): boolean {
  if (end - start !== s.length) return false;
  for (let i = 0; i < s.length; i++) if (buf[start + i] !== s.charCodeAt(i)) return false;
  return true;
}

/** The Host value of the last request parsed. */
let lastHost = '';

/** Names clients send most, by length: found by their bytes, no string made for them. */
const COMMON_NAMES: string[][] = [];
for (const n of [
  'host',
  'accept',
  'accept-encoding',
  'accept-language',
  'authorization',
  'cache-control',
  'connection',
  'content-length',
  'content-type',
  'cookie',
  'forwarded',
  'origin',
  'pragma',
  'referer',
  'user-agent',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-request-id',
])
  (COMMON_NAMES[n.length] ??= []).push(n);

/** The lower-case name at buf[start..end) (tchar bytes). */
function requestHeaderName(buf: Buffer, start: number, end: number): string {
  const common = COMMON_NAMES[end - start];
  if (common !== undefined) for (const n of common) if (nameIs(buf, start, end, n)) return n;
  return buf.toString('latin1', start, end).toLowerCase();
}

/** Connection header tokens: -1 names Upgrade, 1 names close, 0 otherwise. */
function connectionTokens(value: string): number {
  const v = value.toLowerCase();
  if (v === 'keep-alive') return 0;
  if (v === 'close') return 1;
  let close = 0;
  for (const part of v.split(',')) {
    const t = part.trim();
    if (t === 'upgrade') return -1;
    if (t === 'close') close = 1;
  }
  return close;
}

export function isNotPlain(r: RequestHead | NotPlain): r is NotPlain {
  return (r as NotPlain).reason !== undefined;
}

// ---- the backend's response head ----

/** Lower-case names the response scanner tells apart by their bytes, without making a string. */
export const enum Name {
  Other = 0,
  ContentLength,
  TransferEncoding,
  Connection,
  Date,
}

/** Whether buf[start..end) is `lower` in any letter case (header names are tchar, where c|0x20 is exact for letters). */
export function nameIs(buf: Buffer, start: number, end: number, lower: string): boolean {
  if (end - start !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) if ((buf[start + i] | 0x20) !== lower.charCodeAt(i)) return false;
  return true;
}

function knownName(buf: Buffer, start: number, end: number): Name {
  switch (end - start) {
    case 4:
      return nameIs(buf, start, end, 'date') ? Name.Date : Name.Other;
    case 10:
      return nameIs(buf, start, end, 'connection') ? Name.Connection : Name.Other;
    case 14:
      return nameIs(buf, start, end, 'content-length') ? Name.ContentLength : Name.Other;
    case 17:
      return nameIs(buf, start, end, 'transfer-encoding') ? Name.TransferEncoding : Name.Other;
  }
  return Name.Other;
}

/** No whole head in the bytes yet: wait for more, unless there are already too many. */
function incomplete(n: number, maxBytes: number): null {
  if (n > maxBytes) throw new ResponseError('HPE_HEADER_OVERFLOW', 'Header overflow');
  return null;
}

/** Fields per header line in ResponseHead.lines. */
export const LINE_FIELDS = 5;

/**
 * A response head as scanned: the framing facts, and where each header line is in `raw` (strings
 * are made only on demand, by `reason` and `headers`).
 */
export class ResponseHead {
  constructor(
    /** The bytes the head was read from (the head is raw[0..end)). */
    readonly raw: Buffer,
    readonly status: number,
    /** Where the reason phrase is in raw (empty: start === end). */
    readonly reasonStart: number,
    readonly reasonEnd: number,
    /** HTTP/1.0 response: the connection cannot be reused. */
    readonly http10: boolean,
    /**
     * Per header line, LINE_FIELDS numbers: name start, name end, value start, value end (trailing
     * whitespace excluded), and the Name it is (Name.Other for any other).
     */
    readonly lines: number[],
    /** -1: none given. */
    readonly contentLength: number,
    readonly chunked: boolean,
    /** Transfer-Encoding given without chunked last: the body runs to the connection's end. */
    readonly untilClose: boolean,
    readonly close: boolean,
    /** The Connection header's values, joined with ", " (null: none). */
    readonly connection: string | null,
    readonly hasDate: boolean,
    readonly end: number,
  ) {}

  get reason(): string {
    return this.raw.toString('latin1', this.reasonStart, this.reasonEnd);
  }

  /** Lower-case name -> value; repeated names joined with ", " (set-cookie kept as a list), as node:http does. */
  get headers(): Record<string, string | string[]> {
    const headers = Object.create(null) as Record<string, string | string[]>;
    const raw = this.raw;
    const l = this.lines;
    for (let i = 0; i < l.length; i += LINE_FIELDS) {
      const name = raw.toString('latin1', l[i], l[i + 1]).toLowerCase();
      const value = raw.toString('latin1', l[i + 2], l[i + 3]);
      const have = headers[name];
      if (have === undefined) headers[name] = name === 'set-cookie' ? [value] : value;
      else if (Array.isArray(have)) have.push(value);
      else headers[name] = `${have}, ${value}`;
    }
    return headers;
  }
}

/** A malformed response; the code is the one node:http's client would report. */
export class ResponseError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** A Content-Length value: 1 to 15 digits, else -1. */
function lengthValue(buf: Buffer, start: number, end: number): number {
  const n = end - start;
  if (n < 1 || n > MAX_LENGTH_DIGITS) return -1;
  let v = 0;
  for (let i = start; i < end; i++) {
    const d = buf[i] - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

/**
 * Parses a response head at buf[0..]; null if incomplete. Throws ResponseError for a malformed one.
 * More lenient than the request parser (obs-text in values, any reason phrase), since backends are
 * trusted to the same degree node:http's client trusts them, but framing ambiguity is refused.
 */
export function parseResponseHead(buf: Buffer, maxBytes: number): ResponseHead | null {
  const n = buf.length;
  // "HTTP/1.x SP 3DIGIT SP reason CRLF"
  if (n < 14) return incomplete(n, maxBytes);
  if (
    buf[0] !== 72 ||
    buf[1] !== 84 ||
    buf[2] !== 84 ||
    buf[3] !== 80 ||
    buf[4] !== 47 ||
    buf[5] !== 49 ||
    buf[6] !== 46 ||
    (buf[7] !== 49 && buf[7] !== 48) ||
    buf[8] !== SP
  )
    throw new ResponseError('HPE_INVALID_CONSTANT', 'Expected HTTP/');
  const d0 = buf[9] - 48;
  const d1 = buf[10] - 48;
  const d2 = buf[11] - 48;
  if (d0 < 1 || d0 > 5 || d1 < 0 || d1 > 9 || d2 < 0 || d2 > 9) throw new ResponseError('HPE_INVALID_STATUS', 'Invalid status code');
  const status = d0 * 100 + d1 * 10 + d2;
  let p = 12;
  let r0 = p;
  if (buf[p] === SP) {
    r0 = ++p;
    for (;;) {
      if (p >= n) return incomplete(n, maxBytes);
      const c = buf[p];
      if (c === CR) break;
      if ((c < 32 && c !== HT) || c === 127) throw new ResponseError('HPE_INVALID_STATUS', 'Invalid status line');
      p++;
    }
  }
  const r1 = p;
  if (p + 1 >= n) return incomplete(n, maxBytes);
  if (buf[p] !== CR || buf[p + 1] !== LF) throw new ResponseError('HPE_INVALID_STATUS', 'Invalid status line');
  p += 2;

  const lines: number[] = [];
  let contentLength = -1;
  let te: string | null = null;
  let close = false;
  let connection: string | null = null;
  let hasDate = false;
  // Header lines up to the empty line; running out of bytes anywhere means the head is incomplete.
  for (;;) {
    if (p + 1 >= n) return incomplete(n, maxBytes);
    if (buf[p] === CR && buf[p + 1] === LF) {
      p += 2;
      break;
    }
    const n0 = p;
    while (p < n && TCHAR[buf[p]] === 1) p++;
    if (p >= n) return incomplete(n, maxBytes);
    if (p === n0 || buf[p] !== COLON) throw new ResponseError('HPE_INVALID_HEADER_TOKEN', 'Invalid header token');
    const n1 = p;
    p++;
    while (p < n && (buf[p] === SP || buf[p] === HT)) p++;
    const v0 = p;
    let v1 = p;
    for (;;) {
      if (p >= n) return incomplete(n, maxBytes);
      const c = buf[p];
      if (c === CR) break;
      if ((c < 32 && c !== HT) || c === 127) throw new ResponseError('HPE_INVALID_HEADER_TOKEN', 'Invalid header value char');
      p++;
      if (c !== SP && c !== HT) v1 = p;
    }
    if (p + 1 >= n) return incomplete(n, maxBytes);
    if (buf[p + 1] !== LF) throw new ResponseError('HPE_LF_EXPECTED', 'Missing expected LF after header value');
    p += 2;
    const name = knownName(buf, n0, n1);
    switch (name) {
      case Name.ContentLength: {
        const v = lengthValue(buf, v0, v1);
        if (v < 0 || (contentLength >= 0 && v !== contentLength))
          throw new ResponseError('HPE_UNEXPECTED_CONTENT_LENGTH', 'Invalid or duplicate Content-Length');
        contentLength = v;
        break;
      }
      case Name.TransferEncoding: {
        const value = buf.toString('latin1', v0, v1);
        te = te === null ? value : `${te}, ${value}`;
        break;
      }
      case Name.Connection: {
        const value = buf.toString('latin1', v0, v1);
        if (connectionTokens(value) === 1) close = true;
        connection = connection === null ? value : `${connection}, ${value}`;
        break;
      }
      case Name.Date:
        hasDate = true;
        break;
      case Name.Other:
        break;
    }
    lines.push(n0, n1, v0, v1, name);
  }
  let chunked = false;
  let untilClose = false;
  if (te !== null) {
    if (contentLength >= 0)
      throw new ResponseError('HPE_UNEXPECTED_CONTENT_LENGTH', "Content-Length can't be present with Transfer-Encoding");
    chunked = lastCodingIsChunked(te);
    untilClose = !chunked;
  }
  return new ResponseHead(buf, status, r0, r1, buf[7] === 48, lines, contentLength, chunked, untilClose, close, connection, hasDate, p);
}

/** Whether a Transfer-Encoding value's last coding is chunked. */
function lastCodingIsChunked(te: string): boolean {
  if (te === 'chunked') return true;
  const codings = te.toLowerCase().split(',');
  return codings[codings.length - 1].trim() === 'chunked';
}
