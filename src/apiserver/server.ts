// Sluice's Kubernetes-style API server: the HTTP front door that stock kubectl talks to. It
// authenticates, routes (discovery, OpenAPI, resources), and guarantees every answer is either
// the requested representation or a metav1.Status — never a stack trace, never a hang.
// For kubectl, serve TLS (`tls`, see certs.ts): client-go drops a kubeconfig's bearer token when
// the server URL is http://, so over plain HTTP every kubectl request arrives unauthenticated.

import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { admit as knativeAdmit } from '../api/admission.js';
import { convert as knativeConvert } from '../api/conversion.js';
import { ApiError } from '../api/errors.js';
import type { KObject } from '../api/types.js';
import type { Store } from '../store/store.js';
import { isPublicPath, makeAuthenticator } from './auth.js';
import { declaredLength, DEFAULT_MAX_BODY_BYTES, maxDrainBytes } from './body.js';
import { listenerOptions, type ListenerTimeouts } from '../net/listener.js';
import { withCoreAdmission } from './core.js';
import {
  AGGREGATED_CONTENT_TYPE,
  aggregatedDiscovery,
  apiGroupDoc,
  apiGroupList,
  apiResourceList,
  apiVersions,
  groups,
} from './discovery.js';
import { withEventConversion } from './events.js';
import type { LogsHook } from './logs.js';
import { negotiate } from './negotiate.js';
import type { AdmitFn, ConvertFn, WarnFn } from './objects.js';
import { admissionWarnings } from '../api/warnings.js';
import { DEFAULT_FEATURES } from '../api/features.js';
import { openApiV2, openApiV2Form, openApiV3Doc, openApiV3Root } from './openapi.js';
import { OPENAPI_V2_PROTOBUF_RESPONSE } from './openapi-v2-proto.js';
import { REVIEW_PATHS, serveReview } from './reviews.js';
import { matchPath, rawPathOf, splitPath } from './paths.js';
import { handleResource, type ResourceContext } from './resources.js';
import {
  methodNotAllowed,
  notAcceptable,
  pathNotFound,
  sendJson,
  sendStatus,
  statusOf,
  toApiError,
  tooLarge,
  unauthorized,
} from './status.js';

export type { AdmitFn, ConvertFn, WarnFn } from './objects.js';
export type { LogsHook, LogOptions } from './logs.js';

export interface ApiServerOptions {
  store: Store;
  /** The bearer token every request must carry (kubeconfig `users[].user.token`). */
  token: string;
  /** Defaulting + validation for creates and updates (default: Knative's, src/api/admission.ts). */
  admit?: AdmitFn;
  /** Warnings for an admitted create or update (default: Knative's with the default config-features). */
  warn?: WarnFn;
  /** Conversion between served versions (default: src/api/conversion.ts). */
  convert?: ConvertFn;
  /** Largest accepted request body (default 3 MiB, as Kubernetes). */
  maxBodyBytes?: number;
  /** Source of revision logs for GET .../revisions/{name}/log; without it that path is a 404. */
  logs?: LogsHook;
  /** Delete owned objects (ownerReferences) when their owner is deleted (default true). */
  garbageCollect?: boolean;
  /** Namespaces created at startup when missing (default: default, knative-serving). */
  initialNamespaces?: string[];
  /**
   * Serve HTTPS with this certificate (see certs.ts). kubectl sends bearer tokens only over TLS,
   * so without it only token-aware clients other than kubectl can authenticate.
   */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Header and keep-alive timeouts of the listener (default nginx's, see src/net/listener.ts). */
  timeouts?: Partial<ListenerTimeouts>;
  /** Where internal errors are reported (default console.error). */
  log?: (message: string) => void;
}

export interface ApiServer {
  /** Starts listening; resolves to the actual port (pass 0 for an ephemeral one). */
  listen(port: number, host?: string): Promise<number>;
  /** Ends every watch and connection and stops listening. The store is left open. */
  close(): Promise<void>;
}

const VERSION_INFO = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0-sluice',
  gitCommit: 'sluice',
  gitTreeState: 'clean',
  buildDate: '2025-01-01T00:00:00Z',
  goVersion: 'n/a',
  compiler: 'n/a',
  platform: `${process.platform}/${process.arch === 'x64' ? 'amd64' : process.arch}`,
};

export function createApiServer(opts: ApiServerOptions): ApiServer {
  const log = opts.log ?? ((m: string) => console.error(m));
  const authenticate = makeAuthenticator(opts.token);
  const streams = new Set<() => void>();
  const ctx: ResourceContext = {
    store: opts.store,
    admit: withCoreAdmission(opts.admit ?? knativeAdmit),
    warn: opts.warn ?? ((kind, obj) => (kind.group === 'serving.knative.dev' ? admissionWarnings(kind.kind, obj, DEFAULT_FEATURES) : [])),
    convert: withEventConversion(opts.convert ?? knativeConvert),
    maxBodyBytes: opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    garbageCollect: opts.garbageCollect ?? true,
    logs: opts.logs,
    trackWatch: (stop) => {
      streams.add(stop);
      return () => streams.delete(stop);
    },
  };
  let address = '127.0.0.1';

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sluice.invalid');
    // URL's pathname resolves "..", "%2e%2e" included; the raw path keeps what the client sent.
    const path = rawPathOf(req.url ?? '/').replace(/\/+$/, '') || '/';
    const method = req.method ?? 'GET';
    if (isPublicPath(path)) {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' }).end('ok');
      return;
    }
    if (!authenticate(req)) throw unauthorized();

    const get = (body: () => unknown, contentType?: string) => {
      if (method !== 'GET' && method !== 'HEAD') throw methodNotAllowed(method);
      sendJson(res, 200, body(), contentType);
    };
    const discovery = (legacy: boolean, plain: () => unknown) => {
      if (negotiate(req.headers.accept, { discovery: true }) === 'discovery-v2') {
        get(() => aggregatedDiscovery(legacy), AGGREGATED_CONTENT_TYPE);
      } else get(plain);
    };

    if (path === '/version') return get(() => VERSION_INFO);
    if (REVIEW_PATHS[path]) return serveReview(req, res, REVIEW_PATHS[path], ctx.maxBodyBytes);
    if (path === '/openapi/v2') {
      if (method !== 'GET' && method !== 'HEAD') throw methodNotAllowed(method);
      const form = openApiV2Form(req.headers.accept);
      if (!form) throw notAcceptable(String(req.headers.accept));
      const doc = openApiV2();
      const body = form === 'protobuf' ? doc.protobuf : doc.text;
      res.writeHead(200, {
        'Content-Type': form === 'protobuf' ? OPENAPI_V2_PROTOBUF_RESPONSE : 'application/json',
        'Content-Length': Buffer.byteLength(body),
        Etag: `"${doc.hash}"`,
      });
      res.end(body);
      return;
    }
    if (path === '/api') return discovery(true, () => apiVersions(address));
    if (path === '/apis') return discovery(false, apiGroupList);
    if (path === '/openapi/v3') return get(openApiV3Root);
    if (path.startsWith('/openapi/v3/')) {
      const doc = openApiV3Doc(path.slice('/openapi/v3/'.length));
      if (!doc) throw pathNotFound(path);
      if (method !== 'GET' && method !== 'HEAD') throw methodNotAllowed(method);
      res.writeHead(200, {
        'Content-Type': 'application/json',
        'Content-Length': Buffer.byteLength(doc.text),
        // The hash in the URL names this exact content, so clients may cache it for good.
        'Cache-Control': url.searchParams.get('hash') === doc.hash ? 'public, immutable, max-age=31536000' : 'no-cache, private',
        Etag: `"${doc.hash}"`,
      });
      res.end(doc.text);
      return;
    }
    const segs = splitPath(path) ?? [];
    if (segs.length === 2 && segs[0] === 'apis' && groups().includes(segs[1])) return get(() => apiGroupDoc(segs[1]));

    const match = matchPath(path);
    if (match.type === 'groupVersion') return get(() => apiResourceList(match.group, match.version));
    if (match.type === 'resource') {
      return handleResource({ req, res, path: match.path, query: url.searchParams, ctx });
    }
    throw pathNotFound(path);
  }

  const fail = (req: IncomingMessage, res: ServerResponse, e: unknown) => {
    try {
      const err = toApiError(e, log);
      if (res.headersSent) {
        // A stream (watch, logs) already started: all that's left is to end it.
        res.end();
        return;
      }
      if (err.code === 413) closeAfterDrain(req, res, maxDrainBytes(ctx.maxBodyBytes));
      if (err.code === 401) res.setHeader('WWW-Authenticate', 'Bearer realm="sluice"');
      res.removeHeader('Warning');
      sendStatus(res, err);
    } catch (again) {
      // Even reporting failed (e.g. the socket is gone): this request is over, the server is not.
      log(`apiserver: could not answer a failed request: ${String(again)}`);
      res.destroy();
    }
  };
  const handler: RequestListener = (req, res) => {
    try {
      route(req, res).catch((e) => fail(req, res, e));
    } catch (e) {
      fail(req, res, e);
    }
  };
  const server: Server = opts.tls
    ? createTlsServer({ cert: opts.tls.cert, key: opts.tls.key, ...listenerOptions(opts.timeouts) }, handler)
    : createServer(listenerOptions(opts.timeouts), handler);
  // Expect: 100-continue: a body that will be refused is refused before the client sends it.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    const declared = declaredLength(req);
    if (declared !== undefined && declared > ctx.maxBodyBytes) {
      fail(req, res, tooLarge(ctx.maxBodyBytes));
      return;
    }
    res.writeContinue();
    handler(req, res);
  });
  // Requests Node cannot even parse (bad framing, oversized headers) still get a Status body.
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    const code = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    const body = JSON.stringify(statusOf(new ApiError(code, 'BadRequest', `malformed HTTP request: ${err.code ?? err.message}`)));
    socket.end(
      `HTTP/1.1 ${code} ${code === 431 ? 'Request Header Fields Too Large' : code === 408 ? 'Request Timeout' : 'Bad Request'}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });

  async function ensureNamespaces(): Promise<void> {
    for (const name of opts.initialNamespaces ?? ['default', 'knative-serving']) {
      if (await opts.store.get('namespaces', undefined, name)) continue;
      const ns: KObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name }, spec: {}, status: { phase: 'Active' } };
      try {
        await opts.store.create('namespaces', ns);
      } catch (e) {
        if (!(e instanceof ApiError && e.reason === 'AlreadyExists')) throw e;
      }
    }
  }

  return {
    async listen(port: number, host = '127.0.0.1'): Promise<number> {
      await ensureNamespaces();
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      const actual = (server.address() as AddressInfo).port;
      address = `${host.includes(':') ? `[${host}]` : host}:${actual}`;
      return actual;
    },
    async close(): Promise<void> {
      for (const stop of [...streams]) stop();
      if (!server.listening) return;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** How long a refused upload may keep its connection open while the rest of it is thrown away. */
const DRAIN_MS = 30_000;

/**
 * Answers with Connection: close but lets the client finish sending first. Node would destroy
 * the socket as soon as the answer is written, and closing a socket with unread data resets the
 * connection: the client then sees "broken pipe" instead of the 413. So the socket is only
 * half-closed, the rest of the body is read and dropped (readBody keeps reading, up to
 * `maxBytes`), and the socket closes when the client closes its side, or after DRAIN_MS.
 */
function closeAfterDrain(req: IncomingMessage, res: ServerResponse, maxBytes: number): void {
  res.setHeader('Connection', 'close');
  const socket = req.socket;
  if (req.complete) return; // nothing left to read: a plain close is safe
  const timer = setTimeout(() => socket.destroy(), DRAIN_MS);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
  // Node ends a Connection: close response with socket.destroySoon(); end only our side instead.
  socket.destroySoon = function halfClose(this: typeof socket) {
    this.end();
  };
  if (!req.listenerCount('data')) {
    let drained = 0;
    req.on('data', (c: Buffer) => {
      drained += c.length;
      if (drained > maxBytes) socket.destroy();
    });
  }
}
