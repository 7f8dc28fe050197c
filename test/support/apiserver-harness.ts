// Starts a real Sluice API server (SQLite store, TLS, bearer token) on 127.0.0.1 with an
// ephemeral port, writes a kubeconfig for it, and runs the stock kubectl against it. Everything
// lives in one temp dir that stop() removes.

import { after, before } from 'node:test';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadOrCreateServingCert } from '../../src/apiserver/certs.js';
import { writeKubeconfig } from '../../src/apiserver/kubeconfig.js';
import { createApiServer, type ApiServerOptions } from '../../src/apiserver/server.js';
import type { Store } from '../../src/store/store.js';
import { openSqliteStore } from '../../src/store/index.js';

export const KUBECTL = process.env.KUBECTL ?? '/usr/bin/kubectl';

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json(): any;
}

export interface Harness {
  dir: string;
  port: number;
  token: string;
  ca: string;
  kubeconfig: string;
  store: Store;
  kubectl(args: string[], opts?: { input?: string; kubeconfig?: string }): Promise<KubectlResult>;
  http(
    method: string,
    path: string,
    opts?: { body?: string | Buffer; contentType?: string; accept?: string; token?: string | null; headers?: Record<string, string> },
  ): Promise<HttpResult>;
  stop(): Promise<void>;
}

export async function startHarness(
  extra: Partial<Omit<ApiServerOptions, 'store' | 'token' | 'tls'>> & { wrapStore?: (s: Store) => Store } = {},
): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-apiserver-'));
  const store = openSqliteStore(join(dir, 'data'));
  const token = 'test-token-0123456789';
  const tls = await loadOrCreateServingCert(join(dir, 'data'));
  const { wrapStore, ...serverOpts } = extra;
  const server = createApiServer({ store: wrapStore ? wrapStore(store) : store, token, tls, log: () => {}, ...serverOpts });
  let port: number;
  try {
    port = await server.listen(0, '127.0.0.1');
  } catch (e) {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const kubeconfig = join(dir, 'kubeconfig');
  writeKubeconfig(kubeconfig, { server: `https://127.0.0.1:${port}`, token, certificateAuthority: tls.cert });

  const kubectl: Harness['kubectl'] = (args, opts = {}) =>
    new Promise((resolve) => {
      const child = execFile(
        KUBECTL,
        args,
        {
          env: {
            PATH: process.env.PATH ?? '/usr/bin:/bin',
            HOME: dir,
            KUBECONFIG: opts.kubeconfig ?? kubeconfig,
            KUBECACHEDIR: join(dir, 'kube-cache'),
          },
          timeout: 20000,
          maxBuffer: 16 * 1024 * 1024,
        },
        (err, stdout, stderr) => {
          const code = err ? (typeof (err as any).code === 'number' ? (err as any).code : 1) : 0;
          resolve({ code, stdout: String(stdout), stderr: String(stderr) });
        },
      );
      if (opts.input !== undefined) child.stdin?.end(opts.input);
      else child.stdin?.end();
    });

  const http: Harness['http'] = (method, path, opts = {}) =>
    new Promise((resolve, reject) => {
      const headers: Record<string, string> = { ...(opts.headers ?? {}) };
      if (opts.token !== null) headers.Authorization = `Bearer ${opts.token ?? token}`;
      if (opts.contentType) headers['Content-Type'] = opts.contentType;
      if (opts.accept) headers.Accept = opts.accept;
      // Node sends a DELETE body without framing unless told its length.
      if (opts.body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(opts.body));
      const req = httpsRequest({ host: '127.0.0.1', port, method, path, headers, ca: tls.cert }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body) });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(opts.body);
    });

  return {
    dir,
    port,
    token,
    ca: tls.cert,
    kubeconfig,
    store,
    kubectl,
    http,
    async stop() {
      await server.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The article's first revision (apiVersion v1alpha1), optionally renamed. */
export function articleServiceYaml(opts: { revision?: string; resource?: string; traffic?: boolean; name?: string } = {}): string {
  const traffic = opts.traffic
    ? `  traffic:
    - tag: v1
      revisionName: stock-service-example-v1
      percent: 50
    - tag: v2
      revisionName: stock-service-example-v2
      percent: 50
    - tag: latest
      latestRevision: true
      percent: 0
`
    : '';
  return `apiVersion: serving.knative.dev/v1alpha1
kind: Service
metadata:
  name: ${opts.name ?? 'stock-service-example'}
  namespace: default
spec:
  template:
    metadata:
      name: ${opts.name ?? 'stock-service-example'}-${opts.revision ?? 'v1'}
    spec:
      containers:
        - image: registry.cn-hangzhou.aliyuncs.com/knative-sample/rest-api-go:v1
          env:
            - name: RESOURCE
              value: ${opts.resource ?? 'v1'}
          readinessProbe:
            httpGet:
              path: /
            initialDelaySeconds: 0
            periodSeconds: 3
${traffic}`;
}

/** Runs kubectl and returns its output, failing the test (with kubectl's stderr) when it fails. */
export function kubectlOk(h: Pick<Harness, 'kubectl'>) {
  return async (args: string[], input?: string): Promise<string> => {
    const r = await h.kubectl(args, { input });
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
    return r.stdout;
  };
}

/** Starts one harness for a test file (before/after hooks) and gives access to it and to kubectlOk. */
export function useHarness(extra?: Parameters<typeof startHarness>[0]): {
  readonly h: Harness;
  ok: (args: string[], input?: string) => Promise<string>;
} {
  let current: Harness | undefined;
  before(async () => {
    current = await startHarness(extra);
  });
  after(async () => {
    await current?.stop();
  });
  const get = () => {
    if (!current) throw new Error('the harness is not started yet (use it inside a test)');
    return current;
  };
  return {
    get h() {
      return get();
    },
    ok: (args, input) => kubectlOk(get())(args, input),
  };
}
