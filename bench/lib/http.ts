// Small HTTP client helpers for benchmark setup and checks (not for load: wrk does that).

import http from 'node:http';

export interface Reply {
  status: number;
  body: string;
}

export function request(
  port: number,
  method: string,
  path: string,
  opts: { host?: string; agent?: http.Agent | false; timeoutMs?: number } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method, path, agent: opts.agent ?? false, headers: opts.host ? { host: opts.host } : {} },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.setTimeout(opts.timeoutMs ?? 30_000, () => req.destroy(new Error(`${method} 127.0.0.1:${port}${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** Sends n sequential GETs over one keep-alive connection and counts answers by a regex capture. */
export async function countBodies(port: number, host: string, n: number, re: RegExp): Promise<Map<string, number>> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const counts = new Map<string, number>();
  try {
    for (let i = 0; i < n; i++) {
      const r = await request(port, 'GET', '/', { host, agent });
      const m = r.status === 200 ? r.body.match(re) : null;
      const k = m ? m[1] : `status ${r.status}`;
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
  } finally {
    agent.destroy();
  }
  return counts;
}
