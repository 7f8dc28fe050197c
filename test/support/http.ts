// One GET on loopback, resolving status and body (tests use it against apps and the gateway).

import http from 'node:http';

export function httpGet(
  port: number,
  path = '/',
  opts: { host?: string; agent?: http.Agent | false; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path,
        headers: { ...(opts.host ? { host: opts.host } : {}), ...opts.headers },
        agent: opts.agent ?? false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** The part of a response most assertions compare: status and body, without the headers. */
export function statusAndBody(r: { status: number; body: string }): { status: number; body: string } {
  return { status: r.status, body: r.body };
}
