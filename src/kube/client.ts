// KubeClient: the small part of the Kubernetes API Sluice uses, over @kubernetes/client-node's
// KubeConfig (kubeconfig file or in-cluster service account, all its auth methods). Requests and
// watch streams are plain node:http(s) so a failed call keeps the server's metav1.Status, which
// becomes Sluice's ApiError (NotFound, Conflict, AlreadyExists, Gone/Expired, Invalid...).

import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createInterface } from 'node:readline';
import { KubeConfig } from '@kubernetes/client-node';
import { ApiError, type StatusReason } from '../api/errors.js';
import type { KObject } from '../api/types.js';
import { apiVersionOfType, resourcePath, type ResourceType } from './resources.js';

/** The field manager of every server-side apply Sluice makes. */
export const FIELD_MANAGER = 'sluice';

export interface ListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
}

export interface ListPage {
  items: KObject[];
  resourceVersion: string;
  continue?: string;
}

export interface WatchOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  allowWatchBookmarks?: boolean;
  timeoutSeconds?: number;
}

export type RawWatchType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface RawWatchEvent {
  type: RawWatchType;
  object: KObject;
}

export interface WatchHandle {
  stop(): void;
  /** Resolves when the server has answered 200 (the watch is open); rejects as `done` does before that. */
  established: Promise<void>;
  /** Resolves when the stream ends (server timeout, stop()); rejects with ApiError or a network error. */
  done: Promise<void>;
}

export type PatchType = 'merge' | 'json' | 'strategic';

export interface DeleteOptions {
  propagationPolicy?: 'Foreground' | 'Background' | 'Orphan';
  preconditions?: { uid?: string; resourceVersion?: string };
}

export interface KubeClient {
  /** undefined when not found. */
  get(t: ResourceType, namespace: string | undefined, name: string): Promise<KObject | undefined>;
  list(t: ResourceType, opts?: ListOptions): Promise<ListPage>;
  create(t: ResourceType, obj: KObject): Promise<KObject>;
  update(t: ResourceType, obj: KObject): Promise<KObject>;
  updateStatus(t: ResourceType, obj: KObject): Promise<KObject>;
  /** Server-side apply under field manager `sluice`; `force` takes fields over from other managers. */
  apply(t: ResourceType, obj: KObject, opts?: { force?: boolean; subresource?: 'status' }): Promise<KObject>;
  patch(
    t: ResourceType,
    namespace: string | undefined,
    name: string,
    patch: unknown,
    type: PatchType,
    subresource?: string,
  ): Promise<KObject>;
  /** undefined when it was already gone. */
  delete(t: ResourceType, namespace: string | undefined, name: string, opts?: DeleteOptions): Promise<KObject | undefined>;
  /** Sets replicas through the /scale subresource (the only way Sluice changes a replica count). */
  scale(t: ResourceType, namespace: string, name: string, replicas: number): Promise<void>;
  watch(t: ResourceType, opts: WatchOptions, onEvent: (e: RawWatchEvent) => void): WatchHandle;
  /** Streams a pod's log lines; without follow, resolves after the last one. Returns a stopper. */
  podLog(
    namespace: string,
    pod: string,
    container: string | undefined,
    opts: { follow?: boolean; tailLines?: number },
    write: (line: string) => void,
  ): Promise<() => void>;
  /** Default namespace of the kubeconfig context (or of the service account in-cluster). */
  readonly namespace: string;
  readonly server: string;
}

const CONTENT_TYPE: Record<PatchType | 'apply', string> = {
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
};

const REASONS = new Set<string>([
  'BadRequest',
  'Unauthorized',
  'Forbidden',
  'NotFound',
  'AlreadyExists',
  'Conflict',
  'Invalid',
  'MethodNotAllowed',
  'NotAcceptable',
  'UnsupportedMediaType',
  'RequestEntityTooLarge',
  'Expired',
  'Gone',
  'InternalError',
]);

/** A metav1.Status (or any failed response body) → ApiError, keeping the server's message. */
export function statusToError(code: number, body: unknown): ApiError {
  const s = (typeof body === 'object' && body !== null ? body : {}) as Record<string, any>;
  const message = typeof s.message === 'string' && s.message ? s.message : `the server responded with HTTP ${code}`;
  const statusCode = typeof s.code === 'number' && s.code > 0 ? s.code : code;
  const reason: StatusReason = REASONS.has(s.reason)
    ? s.reason
    : statusCode === 410
      ? 'Gone'
      : statusCode === 404
        ? 'NotFound'
        : statusCode === 409
          ? 'Conflict'
          : statusCode === 422
            ? 'Invalid'
            : statusCode === 403
              ? 'Forbidden'
              : statusCode === 401
                ? 'Unauthorized'
                : statusCode < 500
                  ? 'BadRequest'
                  : 'InternalError';
  return new ApiError(statusCode, reason, message, s.details);
}

export const isNotFound = (e: unknown) => e instanceof ApiError && e.code === 404;
export const isConflict = (e: unknown) => e instanceof ApiError && e.reason === 'Conflict';
export const isAlreadyExists = (e: unknown) => e instanceof ApiError && e.reason === 'AlreadyExists';
/** 410: the resourceVersion is older than what the server keeps (client-go relists). */
export const isGone = (e: unknown) => e instanceof ApiError && (e.code === 410 || e.reason === 'Expired' || e.reason === 'Gone');

export interface KubeClientOptions {
  /** A kubeconfig file; without one, the in-cluster service account. */
  kubeconfig?: string;
  /** Context inside the kubeconfig (default: its current-context). */
  context?: string;
  /** Per-request timeout for non-watch calls (default 30 s). */
  requestTimeoutMs?: number;
}

export function loadKubeConfig(o: KubeClientOptions): KubeConfig {
  const kc = new KubeConfig();
  if (o.kubeconfig) {
    try {
      kc.loadFromFile(o.kubeconfig);
    } catch (e) {
      throw new Error(`cannot read kubeconfig ${o.kubeconfig}: ${(e as Error).message}`);
    }
  } else if (!process.env.KUBERNETES_SERVICE_HOST) {
    throw new Error('not running in a Kubernetes cluster (no KUBERNETES_SERVICE_HOST): give --kubeconfig FILE');
  } else kc.loadFromCluster();
  if (o.context) kc.setCurrentContext(o.context);
  if (!kc.getCurrentCluster()) throw new Error(`no cluster in ${o.kubeconfig ?? 'the in-cluster configuration'}`);
  return kc;
}

const query = (params: Record<string, string | number | boolean | undefined>): string => {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
};

export class HttpKubeClient implements KubeClient {
  readonly namespace: string;
  readonly server: string;
  private readonly url: URL;
  private readonly timeoutMs: number;

  constructor(
    private readonly kc: KubeConfig,
    opts: { requestTimeoutMs?: number } = {},
  ) {
    const cluster = kc.getCurrentCluster()!;
    this.server = cluster.server;
    this.url = new URL(cluster.server);
    this.timeoutMs = opts.requestTimeoutMs ?? 30_000;
    const ctx = kc.getContextObject(kc.getCurrentContext());
    this.namespace = ctx?.namespace ?? 'default';
  }

  static fromOptions(o: KubeClientOptions): HttpKubeClient {
    return new HttpKubeClient(loadKubeConfig(o), o);
  }

  private async options(method: string, path: string, headers: Record<string, string>): Promise<RequestOptions> {
    const base = this.url.pathname.replace(/\/$/, '');
    const opts: RequestOptions & { headers: Record<string, string> } = {
      method,
      protocol: this.url.protocol,
      hostname: this.url.hostname.replace(/^\[|\]$/g, ''),
      port: this.url.port || (this.url.protocol === 'https:' ? 443 : 80),
      path: base + path,
      // The user agent names the field manager of writes that do not give one.
      headers: { Accept: 'application/json', 'User-Agent': FIELD_MANAGER, ...headers },
    };
    await this.kc.applyToHTTPSOptions(opts);
    return opts;
  }

  private send(opts: RequestOptions, body?: string): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const req = (this.url.protocol === 'https:' ? httpsRequest : httpRequest)(opts, resolve);
      req.on('error', reject);
      if (body !== undefined) req.end(body);
      else req.end();
      if (opts.timeout) req.setTimeout(opts.timeout, () => req.destroy(new Error(`request to ${this.server} timed out`)));
    });
  }

  /** One JSON request; a non-2xx answer throws the server's Status as ApiError. */
  async request(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<any> {
    const text = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const headers: Record<string, string> = {};
    if (text !== undefined) {
      headers['Content-Type'] = contentType;
      headers['Content-Length'] = String(Buffer.byteLength(text));
    }
    const opts = await this.options(method, path, headers);
    opts.timeout = this.timeoutMs;
    const res = await this.send(opts, text);
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    let parsed: unknown;
    try {
      parsed = raw ? JSON.parse(raw) : undefined;
    } catch {
      parsed = { message: raw.trim().slice(0, 500) };
    }
    const code = res.statusCode ?? 0;
    if (code < 200 || code >= 300) throw statusToError(code, parsed);
    return parsed;
  }

  async get(t: ResourceType, namespace: string | undefined, name: string): Promise<KObject | undefined> {
    try {
      return await this.request('GET', resourcePath(t, namespace, name));
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  async list(t: ResourceType, o: ListOptions = {}): Promise<ListPage> {
    const path =
      resourcePath(t, o.namespace) +
      query({
        labelSelector: o.labelSelector,
        fieldSelector: o.fieldSelector,
        limit: o.limit,
        continue: o.continue,
        resourceVersion: o.resourceVersion,
      });
    const body = await this.request('GET', path);
    const apiVersion = apiVersionOfType(t);
    // List items come without apiVersion/kind; Sluice's code always reads them.
    const items = ((body?.items ?? []) as KObject[]).map((i) => ({ ...i, apiVersion: i.apiVersion ?? apiVersion, kind: i.kind ?? t.kind }));
    return { items, resourceVersion: String(body?.metadata?.resourceVersion ?? ''), continue: body?.metadata?.continue || undefined };
  }

  create(t: ResourceType, obj: KObject): Promise<KObject> {
    return this.request('POST', resourcePath(t, obj.metadata.namespace), withType(t, obj));
  }

  update(t: ResourceType, obj: KObject): Promise<KObject> {
    return this.request('PUT', resourcePath(t, obj.metadata.namespace, obj.metadata.name), withType(t, obj));
  }

  updateStatus(t: ResourceType, obj: KObject): Promise<KObject> {
    return this.request('PUT', resourcePath(t, obj.metadata.namespace, obj.metadata.name, 'status'), withType(t, obj));
  }

  apply(t: ResourceType, obj: KObject, opts: { force?: boolean; subresource?: 'status' } = {}): Promise<KObject> {
    const path =
      resourcePath(t, obj.metadata.namespace, obj.metadata.name, opts.subresource) +
      query({ fieldManager: FIELD_MANAGER, force: opts.force ? true : undefined });
    // JSON is YAML, and the apply content type accepts either.
    return this.request('PATCH', path, withType(t, obj), CONTENT_TYPE.apply);
  }

  patch(
    t: ResourceType,
    namespace: string | undefined,
    name: string,
    patch: unknown,
    type: PatchType,
    subresource?: string,
  ): Promise<KObject> {
    return this.request('PATCH', resourcePath(t, namespace, name, subresource), patch, CONTENT_TYPE[type]);
  }

  async delete(t: ResourceType, namespace: string | undefined, name: string, opts: DeleteOptions = {}): Promise<KObject | undefined> {
    try {
      return await this.request('DELETE', resourcePath(t, namespace, name), {
        apiVersion: 'v1',
        kind: 'DeleteOptions',
        ...(opts.propagationPolicy ? { propagationPolicy: opts.propagationPolicy } : {}),
        ...(opts.preconditions ? { preconditions: opts.preconditions } : {}),
      });
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  async scale(t: ResourceType, namespace: string, name: string, replicas: number): Promise<void> {
    // As Knative's KPA does: one JSON patch on the scale subresource, so no other field is touched.
    await this.patch(t, namespace, name, [{ op: 'replace', path: '/spec/replicas', value: replicas }], 'json', 'scale');
  }

  watch(t: ResourceType, o: WatchOptions, onEvent: (e: RawWatchEvent) => void): WatchHandle {
    const path =
      resourcePath(t, o.namespace) +
      query({
        watch: true,
        labelSelector: o.labelSelector,
        fieldSelector: o.fieldSelector,
        resourceVersion: o.resourceVersion,
        allowWatchBookmarks: o.allowWatchBookmarks ? true : undefined,
        timeoutSeconds: o.timeoutSeconds,
      });
    return this.lines(path, (line) => {
      const ev = JSON.parse(line) as RawWatchEvent;
      // An ERROR event is the server's Status ending the watch (410 Expired, most often).
      if (ev.type === 'ERROR') throw statusToError(Number((ev.object as any)?.code) || 500, ev.object);
      onEvent(ev);
    });
  }

  async podLog(
    namespace: string,
    pod: string,
    container: string | undefined,
    opts: { follow?: boolean; tailLines?: number },
    write: (line: string) => void,
  ): Promise<() => void> {
    const path =
      resourcePath(T_PODS, namespace, pod, 'log') + query({ container, follow: opts.follow ? true : undefined, tailLines: opts.tailLines });
    const h = this.lines(path, write);
    if (!opts.follow) await h.done.catch(() => {});
    else void h.done.catch(() => {});
    return h.stop;
  }

  /** A streaming GET: each line of the body goes to onLine (a throw there ends the stream with it). */
  private lines(path: string, onLine: (line: string) => void): WatchHandle {
    let req: ReturnType<typeof httpRequest> | undefined;
    let stopped = false;
    let opened: () => void = () => {};
    const established = new Promise<void>((r) => (opened = r));
    const done = (async () => {
      const opts = await this.options('GET', path, {});
      if (stopped) return;
      const res = await new Promise<IncomingMessage>((resolve, reject) => {
        req = (this.url.protocol === 'https:' ? httpsRequest : httpRequest)(opts, resolve);
        req.on('error', reject);
        req.end();
      });
      if (res.statusCode !== 200) {
        const chunks: Buffer[] = [];
        for await (const c of res) chunks.push(c as Buffer);
        let body: unknown;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          body = undefined;
        }
        throw statusToError(res.statusCode ?? 0, body);
      }
      opened();
      res.socket?.setKeepAlive(true, 30_000);
      const lines = createInterface({ input: res, crlfDelay: Infinity });
      let failure: unknown;
      try {
        for await (const line of lines) {
          if (!line.trim()) continue;
          onLine(line);
        }
      } catch (e) {
        if (!stopped) failure = e;
      } finally {
        res.destroy();
      }
      if (failure) throw failure;
    })();
    const settled = done.catch((e) => {
      if (!stopped) throw e;
    });
    return {
      stop: () => {
        stopped = true;
        req?.destroy();
        opened();
      },
      established: Promise.race([established, settled]),
      done: settled,
    };
  }
}

const T_PODS: ResourceType = { group: '', version: 'v1', plural: 'pods', kind: 'Pod', namespaced: true };

function withType(t: ResourceType, obj: KObject): KObject {
  return { ...obj, apiVersion: obj.apiVersion ?? apiVersionOfType(t), kind: obj.kind ?? t.kind };
}
