// A minimal REST client the demo uses to play the article's steps against a Sluice API server,
// and a load loop that counts which revision answered through the gateway.

import http from 'node:http';
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import type { KObject } from '../api/types.js';

export class ApiClient {
  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
  ) {}

  async request(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json', accept: 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : undefined };
  }

  /** Create or replace, as `kubectl apply` would for these objects. */
  async apply(obj: KObject): Promise<KObject> {
    const [group, version] = obj.apiVersion.split('/');
    const plural = `${obj.kind.toLowerCase()}s`;
    const ns = obj.metadata.namespace ?? 'default';
    const path = `/apis/${group}/${version}/namespaces/${ns}/${plural}`;
    const current = await this.request('GET', `${path}/${obj.metadata.name}`);
    const res =
      current.status === 404
        ? await this.request('POST', path, obj)
        : await this.request('PUT', `${path}/${obj.metadata.name}`, {
            ...obj,
            metadata: { ...obj.metadata, resourceVersion: current.json.metadata.resourceVersion },
          });
    if (res.status >= 300) throw new Error(res.json?.message ?? `HTTP ${res.status}`);
    return res.json as KObject;
  }

  async get(group: string, plural: string, ns: string, name: string): Promise<KObject | undefined> {
    const res = await this.request('GET', `/apis/${group}/v1/namespaces/${ns}/${plural}/${name}`);
    return res.status === 200 ? (res.json as KObject) : undefined;
  }
}

export function readYaml(file: string): KObject[] {
  return parseAllDocuments(readFileSync(file, 'utf8'))
    .map((d) => d.toJS() as KObject)
    .filter(Boolean);
}

/**
 * Sends `count` GET / requests through the gateway with the given Host, `concurrency` at a time,
 * and counts the bodies. Non-200 answers are counted under "HTTP <code>".
 */
export async function countAnswers(gatewayPort: number, host: string, count: number, concurrency = 8): Promise<Map<string, number>> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const counts = new Map<string, number>();
  let sent = 0;
  const one = () =>
    new Promise<string>((resolve) => {
      const req = http.request({ host: '127.0.0.1', port: gatewayPort, path: '/', headers: { host }, agent }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve(res.statusCode === 200 ? body.trim() : `HTTP ${res.statusCode}`));
      });
      req.on('error', (e) => resolve(`error ${e.message}`));
      req.end();
    });
  const worker = async () => {
    while (sent < count) {
      sent++;
      const answer = await one();
      counts.set(answer, (counts.get(answer) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  agent.destroy();
  return counts;
}
