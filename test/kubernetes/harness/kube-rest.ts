// A small JSON client for the kube-apiserver REST API (client certificates over HTTPS), used by the
// harness and its test node: GET/POST/PUT/PATCH/DELETE and a watch stream. Deliberately not Sluice's
// own Kubernetes client: the test machinery must not share code, and so bugs, with what it tests.

import https from 'node:https';

export interface KubeRestOptions {
  server: string;
  ca: string;
  cert: string;
  key: string;
}

export interface KubeResponse<T = any> {
  status: number;
  body: T;
}

export class KubeError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    what: string,
  ) {
    const message = (body as { message?: string } | undefined)?.message ?? JSON.stringify(body);
    super(`${what}: ${status} ${message}`);
  }
}

export interface WatchEvent<T = any> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

export class KubeRest {
  private readonly agent: https.Agent;
  private readonly url: URL;

  constructor(opts: KubeRestOptions) {
    this.url = new URL(opts.server);
    this.agent = new https.Agent({ ca: opts.ca, cert: opts.cert, key: opts.key, keepAlive: true });
  }

  request<T = any>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<KubeResponse<T>> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = https.request(
        {
          host: this.url.hostname,
          port: this.url.port || 443,
          path,
          method,
          agent: this.agent,
          headers: {
            accept: 'application/json',
            ...(payload ? { 'content-type': contentType, 'content-length': payload.length } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = text;
            try {
              parsed = text ? JSON.parse(text) : undefined;
            } catch {
              // not JSON (e.g. /readyz); keep the text
            }
            resolve({ status: res.statusCode ?? 0, body: parsed as T });
          });
          res.on('error', reject);
        },
      );
      req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${path} timed out`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** Like request(), but a status outside 2xx throws a KubeError (404 may be allowed). */
  async must<T = any>(method: string, path: string, body?: unknown, contentType?: string): Promise<T> {
    const r = await this.request<T>(method, path, body, contentType);
    if (r.status < 200 || r.status >= 300) throw new KubeError(r.status, r.body, `${method} ${path}`);
    return r.body;
  }

  /**
   * One watch request: calls onEvent for each event until the server ends the stream, the signal
   * aborts, or an error occurs. The caller relists and watches again (from resourceVersion).
   */
  watch(path: string, onEvent: (e: WatchEvent) => void, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const req = https.request(
        { host: this.url.hostname, port: this.url.port || 443, path, method: 'GET', agent: this.agent, signal },
        (res) => {
          if (res.statusCode !== 200) {
            res.resume();
            reject(new KubeError(res.statusCode ?? 0, undefined, `watch ${path}`));
            return;
          }
          let buf = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            buf += chunk;
            let nl: number;
            while ((nl = buf.indexOf('\n')) !== -1) {
              const line = buf.slice(0, nl).trim();
              buf = buf.slice(nl + 1);
              if (line) onEvent(JSON.parse(line) as WatchEvent);
            }
          });
          res.on('end', () => resolve());
          res.on('error', (e) => (signal.aborted ? resolve() : reject(e)));
        },
      );
      req.on('error', (e) => (signal.aborted ? resolve() : reject(e)));
      req.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
