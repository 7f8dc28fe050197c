// A small Kubernetes-REST client for the Sluice API: JSON in and out, bearer token, and every
// failure turned into a CliError carrying the server's own Status message.

import http from 'node:http';
import https from 'node:https';
import { apiVersionOf, type ResourceKind } from '../api/registry.js';
import type { KObject } from '../api/types.js';
import { CliError } from './errors.js';

export const TABLE_ACCEPT = 'application/json;as=Table;v=v1;g=meta.k8s.io, application/json';

export interface TableColumn {
  name: string;
  type?: string;
  priority?: number;
}

export interface Table {
  kind: 'Table';
  columnDefinitions?: TableColumn[];
  rows: { cells: unknown[]; object?: any }[];
}

export interface KList<T = KObject> {
  apiVersion: string;
  kind: string;
  metadata?: { resourceVersion?: string };
  items: T[];
}

interface RequestOptions {
  query?: Record<string, string | undefined>;
  body?: unknown;
  contentType?: string;
  accept?: string;
}

export interface Response {
  status: number;
  body: any;
}

/** Ends a request that gets no answer, so a wedged server cannot hang the CLI. */
const REQUEST_TIMEOUT_MS = 60_000;

export class SluiceClient {
  constructor(
    readonly server: string,
    private readonly token?: string,
    private readonly tls: { ca?: string; insecureSkipTlsVerify?: boolean } = {},
    /** Where the server's warnings go (client-go's default: "Warning: ..." on stderr). */
    private readonly warn: (message: string) => void = (m) => process.stderr.write(`Warning: ${m}\n`),
  ) {}

  /** /apis/{group}/{version}/namespaces/{ns}/{plural}[/{name}[/{sub}]] (or /api/v1/... for core kinds). */
  path(kind: ResourceKind, opts: { namespace?: string; name?: string; sub?: string; version?: string }): string {
    const version = opts.version ?? kind.storageVersion;
    let p = kind.group ? `/apis/${kind.group}/${version}` : `/api/${version}`;
    if (kind.namespaced && opts.namespace) p += `/namespaces/${encodeURIComponent(opts.namespace)}`;
    p += `/${kind.plural}`;
    if (opts.name !== undefined) p += `/${encodeURIComponent(opts.name)}`;
    if (opts.sub) p += `/${opts.sub}`;
    return p;
  }

  async get<T = KObject>(kind: ResourceKind, namespace: string, name: string, version?: string): Promise<T> {
    return (await this.request('GET', this.path(kind, { namespace, name, version }))).body as T;
  }

  /** GET that answers undefined for 404 instead of throwing. */
  async tryGet<T = KObject>(kind: ResourceKind, namespace: string, name: string, version?: string): Promise<T | undefined> {
    try {
      return await this.get<T>(kind, namespace, name, version);
    } catch (e) {
      if (e instanceof CliError && e.code === 404) return undefined;
      throw e;
    }
  }

  async list<T = KObject>(kind: ResourceKind, namespace: string | undefined, opts: { labelSelector?: string } = {}): Promise<KList<T>> {
    const res = await this.request('GET', this.path(kind, { namespace }), { query: { labelSelector: opts.labelSelector } });
    return res.body as KList<T>;
  }

  /** Server-side printing: the kind's printer columns as a meta.k8s.io Table. */
  async table(kind: ResourceKind, namespace: string | undefined, opts: { name?: string; labelSelector?: string } = {}): Promise<Table> {
    const res = await this.request('GET', this.path(kind, { namespace, name: opts.name }), {
      query: { labelSelector: opts.labelSelector },
      accept: TABLE_ACCEPT,
    });
    return res.body as Table;
  }

  async create<T = KObject>(kind: ResourceKind, namespace: string, obj: KObject, version?: string): Promise<T> {
    const v = version ?? versionOf(obj, kind);
    return (await this.request('POST', this.path(kind, { namespace, version: v }), { body: obj })).body as T;
  }

  async update<T = KObject>(kind: ResourceKind, namespace: string, obj: KObject, version?: string): Promise<T> {
    const v = version ?? versionOf(obj, kind);
    const name = obj.metadata?.name ?? '';
    return (await this.request('PUT', this.path(kind, { namespace, name, version: v }), { body: obj })).body as T;
  }

  async patch<T = KObject>(kind: ResourceKind, namespace: string, name: string, patch: unknown, version?: string): Promise<T> {
    const res = await this.request('PATCH', this.path(kind, { namespace, name, version }), {
      body: patch,
      contentType: 'application/merge-patch+json',
    });
    return res.body as T;
  }

  async delete(kind: ResourceKind, namespace: string, name: string): Promise<void> {
    await this.request('DELETE', this.path(kind, { namespace, name }));
  }

  request(method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
    return new Promise((resolve, reject) => {
      const req = this.send(method, path, opts, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (e) => reject(this.networkError(e)));
        res.on('end', () => {
          for (const w of parseWarnings(res.headersDistinct.warning ?? [])) this.warn(w);
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          if (status >= 400) return reject(statusError(status, text));
          try {
            resolve({ status, body: text ? JSON.parse(text) : undefined });
          } catch {
            reject(new CliError(`the server answered ${method} ${path} with something that is not JSON`, status));
          }
        });
      });
      req.setTimeout(REQUEST_TIMEOUT_MS, () =>
        req.destroy(new CliError(`the Sluice API at ${this.server} did not answer within ${REQUEST_TIMEOUT_MS / 1000}s`)),
      );
      req.on('error', (e) => reject(this.networkError(e)));
      req.end(opts.body === undefined ? undefined : JSON.stringify(opts.body));
    });
  }

  /**
   * Streams a response body (logs) to `write` until the server ends it or `signal` aborts.
   * Errors before the first byte come back as CliErrors like any other request.
   */
  stream(path: string, query: Record<string, string | undefined>, write: (chunk: Buffer) => void, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const req = this.send('GET', path, { query, accept: '*/*' }, (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 400) {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => reject(statusError(status, Buffer.concat(chunks).toString('utf8'))));
          return;
        }
        res.on('data', write);
        res.on('end', () => resolve());
        // A stream cut by the server (or by our own abort) is a normal end for logs.
        res.on('error', () => resolve());
        res.on('aborted', () => resolve());
      });
      const abort = () => {
        req.destroy();
        resolve();
      };
      if (signal) {
        if (signal.aborted) return abort();
        signal.addEventListener('abort', abort, { once: true });
      }
      req.on('error', (e) => (signal?.aborted ? resolve() : reject(this.networkError(e))));
      req.end();
    });
  }

  private send(method: string, path: string, opts: RequestOptions, onResponse: (res: http.IncomingMessage) => void): http.ClientRequest {
    const url = new URL(this.server + path);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined && v !== '') url.searchParams.set(k, v);
    const headers: Record<string, string> = { Accept: opts.accept ?? 'application/json', 'User-Agent': 'sluice-cli' };
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    if (opts.body !== undefined) headers['Content-Type'] = opts.contentType ?? 'application/json';
    // agent: false -> one connection per request, closed afterwards, so nothing keeps the CLI alive.
    if (url.protocol === 'https:') {
      const tls = { ca: this.tls.ca, rejectUnauthorized: !this.tls.insecureSkipTlsVerify };
      return https.request(url, { method, headers, agent: false, ...tls }, onResponse);
    }
    return http.request(url, { method, headers, agent: false }, onResponse);
  }

  private networkError(e: unknown): CliError {
    if (e instanceof CliError) return e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ECONNREFUSED') return new CliError(`cannot reach the Sluice API at ${this.server} (is "sluice server" running?)`);
    return new CliError(`cannot reach the Sluice API at ${this.server}: ${(e as Error).message || code}`);
  }
}

/**
 * The texts of RFC 7234 Warning headers with code 299 (what the Kubernetes API sends, e.g. Knative's
 * admission warnings): `299 - "text"`, several per header separated by commas, `\"` and `\\` escaped.
 */
export function parseWarnings(values: readonly string[]): string[] {
  const out: string[] = [];
  const one = /\s*299\s+\S+\s+"((?:[^"\\]|\\.)*)"(?:\s+"[^"]*")?\s*(?:,|$)/y;
  for (const v of values) {
    one.lastIndex = 0;
    let m: RegExpExecArray | null;
    while (one.lastIndex < v.length && (m = one.exec(v)) !== null) out.push(m[1].replace(/\\(.)/g, '$1'));
  }
  return out;
}

function versionOf(obj: KObject, kind: ResourceKind): string {
  const av = typeof obj.apiVersion === 'string' ? obj.apiVersion : apiVersionOf(kind);
  const slash = av.lastIndexOf('/');
  return slash >= 0 ? av.slice(slash + 1) : av;
}

/** metav1.Status -> its message; anything else -> a short description of the answer. */
export function statusError(status: number, text: string): CliError {
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (body && typeof body === 'object' && typeof body.message === 'string' && body.message !== '') {
    return new CliError(body.message, status, body.reason);
  }
  const snippet = text.trim().split('\n')[0].slice(0, 200);
  return new CliError(`the server answered ${status}${snippet ? `: ${snippet}` : ''}`, status);
}
