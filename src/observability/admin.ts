// The admin listener: a second HTTP port, apart from the traffic the gateway carries, for
// operators and their tools.
//
//   GET /metrics   Prometheus text of the process' one registry
//   GET /healthz   200 while the process serves
//   GET /readyz    200 once the controllers have started, 503 before and while stopping
//   + routes added by other components (the web console and its API, see src/console/)
//
// Default 127.0.0.1:9090. On loopback, reads need no credentials (as for a local Prometheus); bound
// to any other address every path except /healthz and /readyz needs the API's bearer token. Routes
// marked `auth: 'always'` (console actions) need the token everywhere.

import http, { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isIP } from 'node:net';
import { makeAuthenticator } from '../apiserver/auth.js';
import { PROMETHEUS_CONTENT_TYPE, type Registry } from './registry.js';

export const DEFAULT_ADMIN_PORT = 9090;
export const DEFAULT_ADMIN_HOST = '127.0.0.1';

export interface AdminRequest {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  /** The request carried the API's bearer token. */
  authenticated: boolean;
}

export interface AdminRoute {
  method: 'GET' | 'POST';
  /** Exact path, or a prefix ending in '/' that matches everything below it. */
  path: string;
  /**
   * 'always': the token is needed even on loopback (changes); 'never': static files that carry
   * no data (the console's page, which then asks for the token); default: as reads are.
   */
  auth?: 'always' | 'never';
  handle(r: AdminRequest): void | Promise<void>;
}

export interface AdminOptions {
  registry: Registry;
  token: string;
  /** Readiness: the reason it is not ready, or undefined when ready. */
  notReady: () => string | undefined;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
  /** Whether reads need the token; default: when the listen address is not loopback. */
  readsNeedToken?: boolean;
}

export function isLoopback(host: string): boolean {
  const h = host.startsWith('[') ? host.slice(1, -1) : host;
  if (h === 'localhost' || h === '::1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}

export function sendText(res: ServerResponse, status: number, text: string, type = 'text/plain; charset=utf-8', head = false): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(head ? undefined : text);
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  sendText(res, status, JSON.stringify(body), 'application/json');
}

export class AdminServer {
  private server: Server | null = null;
  private readonly routes: AdminRoute[] = [];
  private readonly authenticate: (req: IncomingMessage) => boolean;
  private loopback = true;
  /** Long-lived responses (event streams) to end on close. */
  private readonly open = new Set<ServerResponse>();

  constructor(private readonly o: AdminOptions) {
    this.authenticate = makeAuthenticator(o.token);
  }

  route(r: AdminRoute): void {
    this.routes.push(r);
  }

  /** Keeps a streaming response to end when the server closes. */
  track(res: ServerResponse): void {
    this.open.add(res);
    res.on('close', () => this.open.delete(res));
  }

  /** Whether reads need the token (bound beyond loopback). */
  get readsNeedToken(): boolean {
    return !this.loopback;
  }

  async listen(port: number, host: string): Promise<number> {
    if (this.server) throw new Error('admin listener is already listening');
    this.loopback = this.o.readsNeedToken === undefined ? isLoopback(host) : !this.o.readsNeedToken;
    const server = http.createServer((req, res) => {
      void this.handle(req, res).catch((err) => {
        this.o.log?.('admin request failed', { path: req.url, error: String((err as Error)?.message ?? err) });
        if (!res.headersSent) sendText(res, 500, 'internal error\n');
        else res.destroy();
      });
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => {
        this.server = null;
        reject(
          err.code === 'EADDRINUSE'
            ? new Error(
                `admin listener: ${host}:${port} is already in use (another Sluice, or a Prometheus on its default port?); choose another with --admin-port`,
              )
            : err,
        );
      });
      server.listen(port, host, () => {
        server.removeAllListeners('error');
        resolve();
      });
    });
    return (server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const res of this.open) res.end();
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://admin');
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    const path = url.pathname;
    if (method === 'GET' && (path === '/healthz' || path === '/livez')) return sendText(res, 200, 'ok\n');
    if (method === 'GET' && path === '/readyz') {
      const why = this.o.notReady();
      return why ? sendText(res, 503, `not ready: ${why}\n`) : sendText(res, 200, 'ok\n');
    }
    const authenticated = this.authenticate(req);
    const route = this.find(method ?? '', path);
    const needsToken = route?.auth === 'always' || (route?.auth !== 'never' && !this.loopback);
    if (needsToken && !authenticated) {
      res.setHeader('www-authenticate', 'Bearer realm="sluice"');
      return sendJson(res, 401, {
        kind: 'Status',
        apiVersion: 'v1',
        status: 'Failure',
        message: 'Unauthorized: this needs the bearer token from the kubeconfig (Authorization: Bearer <token>)',
        reason: 'Unauthorized',
        code: 401,
      });
    }
    if (method === 'GET' && path === '/metrics') {
      const reg = this.o.registry;
      void reg.refresh().then(() => sendText(res, 200, reg.render(), PROMETHEUS_CONTENT_TYPE, req.method === 'HEAD'));
      return;
    }
    if (route) return route.handle({ req, res, url, authenticated });
    const allowed = this.routes.filter((r) => matches(r.path, path)).map((r) => r.method);
    if (allowed.length > 0) {
      res.setHeader('allow', [...new Set(allowed)].join(', '));
      return sendText(res, 405, `method ${req.method} is not allowed on ${path}\n`);
    }
    sendText(res, 404, `not found: ${path} (this is the admin listener: /metrics, /healthz, /readyz, /console/)\n`);
  }

  private find(method: string, path: string): AdminRoute | undefined {
    let best: AdminRoute | undefined;
    for (const r of this.routes) {
      if (r.method !== method || !matches(r.path, path)) continue;
      if (!best || r.path.length > best.path.length) best = r;
    }
    return best;
  }
}

function matches(pattern: string, path: string): boolean {
  // '/' itself is exact: it must not swallow every unknown path.
  return pattern !== '/' && pattern.endsWith('/') ? path.startsWith(pattern) || path === pattern.slice(0, -1) : path === pattern;
}
