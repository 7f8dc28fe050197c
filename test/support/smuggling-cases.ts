// Request-smuggling and malformed-framing cases for the gateway's fast path: each is a whole
// request as a client would send it, with what Node's own parser (llhttp, through node:http) does
// with it. The unit table (test/unit/dataplane-fastpath.test.ts) checks that the fast path's parser
// never takes one of the refused ones; the differential test (test/integration/
// dataplane-fastpath-fuzz.test.ts) sends each to node:http and to the fast path and checks both
// give the same verdict.

export interface FramingCase {
  name: string;
  raw: string;
  /** What node:http does: 'refuses' = answers 400 (or 431) and closes. */
  node: 'refuses' | 'accepts';
  /** Whether the fast path relays it itself (otherwise it hands the connection to node:http). */
  fast: boolean;
}

const H = 'Host: x.default.example.com\r\n';

export const FRAMING_CASES: FramingCase[] = [
  { name: 'plain GET', raw: `GET / HTTP/1.1\r\n${H}\r\n`, node: 'accepts', fast: true },
  {
    name: 'plain POST with Content-Length',
    raw: `POST /a?b=c HTTP/1.1\r\n${H}Content-Length: 5\r\n\r\nhello`,
    node: 'accepts',
    fast: true,
  },
  { name: 'header value with inner spaces and tabs', raw: `GET / HTTP/1.1\r\n${H}X-A:\ta b\tc\r\n\r\n`, node: 'accepts', fast: true },
  { name: 'empty header value', raw: `GET / HTTP/1.1\r\n${H}X-Empty:\r\n\r\n`, node: 'accepts', fast: true },
  {
    name: 'Content-Length and Transfer-Encoding together',
    raw: `POST / HTTP/1.1\r\n${H}Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
    node: 'refuses',
    fast: false,
  },
  {
    name: 'two different Content-Length headers',
    raw: `POST / HTTP/1.1\r\n${H}Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd`,
    node: 'refuses',
    fast: false,
  },
  { name: 'Content-Length list', raw: `POST / HTTP/1.1\r\n${H}Content-Length: 3, 3\r\n\r\nabc`, node: 'refuses', fast: false },
  { name: 'Content-Length with a sign', raw: `POST / HTTP/1.1\r\n${H}Content-Length: +3\r\n\r\nabc`, node: 'refuses', fast: false },
  { name: 'Content-Length in hex', raw: `POST / HTTP/1.1\r\n${H}Content-Length: 0x3\r\n\r\nabc`, node: 'refuses', fast: false },
  {
    name: 'Content-Length with a tab after it',
    raw: `POST / HTTP/1.1\r\n${H}Content-Length: 3\t\r\n\r\nabc`,
    node: 'refuses',
    fast: false,
  },
  { name: 'Content-Length with inner space', raw: `POST / HTTP/1.1\r\n${H}Content-Length: 1 2\r\n\r\nabc`, node: 'refuses', fast: false },
  {
    name: 'Transfer-Encoding other than final chunked',
    raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n`,
    node: 'refuses',
    fast: false,
  },
  {
    name: 'Transfer-Encoding identity',
    raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: identity\r\n\r\n`,
    node: 'refuses',
    fast: false,
  },
  {
    name: 'bad chunk size',
    raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n`,
    node: 'refuses',
    fast: false,
  },
  {
    name: 'chunk size overflow',
    raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFF\r\nabc\r\n0\r\n\r\n`,
    node: 'refuses',
    fast: false,
  },
  {
    name: 'chunk extension with a control byte',
    raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3;a=\x01\r\nabc\r\n0\r\n\r\n`,
    node: 'refuses',
    fast: false,
  },
  {
    name: 'chunk data not followed by CRLF',
    raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n`,
    node: 'refuses',
    fast: false,
  },
  { name: 'obs-fold continuation line', raw: `GET / HTTP/1.1\r\n${H}X-A: a\r\n b\r\n\r\n`, node: 'refuses', fast: false },
  { name: 'bare LF ending a header line', raw: `GET / HTTP/1.1\r\n${H}X-A: a\n\r\n`, node: 'refuses', fast: false },
  { name: 'bare CR inside a header value', raw: `GET / HTTP/1.1\r\n${H}X-A: a\rb\r\n\r\n`, node: 'refuses', fast: false },
  { name: 'bare LF ending the request line', raw: `GET / HTTP/1.1\n${H}\r\n`, node: 'refuses', fast: false },
  { name: 'NUL in a header value', raw: `GET / HTTP/1.1\r\n${H}X-A: a\x00b\r\n\r\n`, node: 'refuses', fast: false },
  { name: 'control byte in a header value', raw: `GET / HTTP/1.1\r\n${H}X-A: a\x07b\r\n\r\n`, node: 'refuses', fast: false },
  { name: 'space before the colon', raw: `GET / HTTP/1.1\r\n${H}X-A : a\r\n\r\n`, node: 'refuses', fast: false },
  { name: 'NUL in a header name', raw: `GET / HTTP/1.1\r\n${H}X\x00A: a\r\n\r\n`, node: 'refuses', fast: false },
  { name: 'header line without a colon', raw: `GET / HTTP/1.1\r\n${H}NoColon\r\n\r\n`, node: 'refuses', fast: false },
  { name: 'invalid method token', raw: `G(T / HTTP/1.1\r\n${H}\r\n`, node: 'refuses', fast: false },
  { name: 'unknown method', raw: `FOO / HTTP/1.1\r\n${H}\r\n`, node: 'refuses', fast: false },
  { name: 'lower-case method', raw: `get / HTTP/1.1\r\n${H}\r\n`, node: 'refuses', fast: false },
  { name: 'space inside the target', raw: `GET /a b HTTP/1.1\r\n${H}\r\n`, node: 'refuses', fast: false },
  { name: 'control byte in the target', raw: `GET /a\x01 HTTP/1.1\r\n${H}\r\n`, node: 'refuses', fast: false },
  { name: 'invalid version', raw: `GET / HTTP/1.x\r\n${H}\r\n`, node: 'refuses', fast: false },
  // llhttp takes these two; the fast path does not (and hands them over).
  { name: 'version 2.0 over HTTP/1 framing', raw: `GET / HTTP/2.0\r\n${H}\r\n`, node: 'accepts', fast: false },
  { name: 'two spaces after the method', raw: `GET  / HTTP/1.1\r\n${H}\r\n`, node: 'accepts', fast: false },
  { name: 'no Host in HTTP/1.1', raw: `GET / HTTP/1.1\r\nX-A: a\r\n\r\n`, node: 'refuses', fast: false },
  {
    name: 'oversized head (over 16 KiB)',
    raw: `GET / HTTP/1.1\r\n${H}X-Big: ${'a'.repeat(17 * 1024)}\r\n\r\n`,
    node: 'refuses',
    fast: false,
  },
  // Taken by node:http, but not plain: the fast path hands them over (and node:http answers).
  { name: 'HTTP/1.0', raw: `GET / HTTP/1.0\r\n${H}\r\n`, node: 'accepts', fast: false },
  {
    name: 'chunked request body',
    raw: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n`,
    node: 'accepts',
    fast: false,
  },
  {
    name: 'Expect: 100-continue',
    raw: `POST / HTTP/1.1\r\n${H}Expect: 100-continue\r\nContent-Length: 2\r\n\r\nhi`,
    node: 'accepts',
    fast: false,
  },
  { name: 'repeated header', raw: `GET / HTTP/1.1\r\n${H}X-A: 1\r\nX-A: 2\r\n\r\n`, node: 'accepts', fast: false },
  {
    name: 'two identical Content-Length headers',
    raw: `POST / HTTP/1.1\r\n${H}Content-Length: 2\r\nContent-Length: 2\r\n\r\nhi`,
    node: 'refuses',
    fast: false,
  },
  { name: 'Content-Length with leading zeros', raw: `POST / HTTP/1.1\r\n${H}Content-Length: 002\r\n\r\nhi`, node: 'accepts', fast: false },
  { name: 'non-ASCII header value', raw: `GET / HTTP/1.1\r\n${H}X-A: caf\xe9\r\n\r\n`, node: 'accepts', fast: false },
  { name: 'absolute-form target', raw: `GET http://x.default.example.com/ HTTP/1.1\r\n${H}\r\n`, node: 'accepts', fast: false },
  {
    name: 'many headers (over the fast path limit)',
    raw: `GET / HTTP/1.1\r\n${H}${Array.from({ length: 70 }, (_, i) => `X-${i}: v\r\n`).join('')}\r\n`,
    node: 'accepts',
    fast: false,
  },
];
