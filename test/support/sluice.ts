// Starts a real embedded Sluice (SQLite in a temp dir, API and gateway on run-time ports) for a
// test, and runs the stock kubectl against it. Everything is stopped and removed after the test.

import { execFile } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunningSluice, type SluiceOptions, startSluice } from '../../src/server.js';

export async function startTestSluice(
  t: { after: (fn: () => unknown) => void },
  opts: Partial<SluiceOptions> = {},
): Promise<RunningSluice> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'sluice-test-'));
  const sluice = await startSluice({ apiPort: 0, gatewayPort: 0, quiet: true, gracePeriodMs: 2000, ...opts, dataDir });
  t.after(async () => {
    await sluice.stop();
    if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
  });
  return sluice;
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function kubectl(kubeconfig: string, args: string[], stdin?: string): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = execFile('kubectl', args, { env: { ...process.env, KUBECONFIG: kubeconfig }, timeout: 30000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
    if (stdin !== undefined) child.stdin!.end(stdin);
  });
}

/** One GET through the gateway with the given Host; resolves status and body. */
export function gatewayGet(port: number, host: string, path = '/', agent?: http.Agent): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, headers: { host }, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}
