// Helpers the demo uses to play the article's steps against a Sluice API server, and a load loop that counts which revision answered through the gateway.

import http from 'node:http';
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { kindByKind } from '../api/registry.js';
import type { KObject } from '../api/types.js';
import type { SluiceClient } from '../cli/client.js';
import { mergeForUpdate } from '../cli/manifests.js';

/** Create or replace an object, as `kubectl apply` would for these files. */
export async function applyObject(client: SluiceClient, obj: KObject): Promise<KObject> {
  const kind = kindByKind(obj.kind, obj.apiVersion.split('/')[0]);
  if (!kind) throw new Error(`unknown kind ${obj.kind}`);
  const ns = obj.metadata.namespace ?? 'default';
  const version = obj.apiVersion.split('/')[1];
  const current = await client.tryGet(kind, ns, obj.metadata.name!, version);
  if (!current) return client.create(kind, ns, obj, version);
  // As `kubectl apply` does: the server's own metadata (creator, lastModifier, …) is kept, not replaced.
  return client.update(kind, ns, mergeForUpdate(current, obj), version);
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
