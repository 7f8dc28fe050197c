// The example app started directly (no Sluice), in the same clean environment Sluice gives
// instances (this matters: NODE_EXTRA_CA_CERTS alone adds ~30 ms to Node's start on some
// machines): what cold-start benchmarks compare Sluice against.

import { PASSTHROUGH_ENV } from '../../src/runtime/local/env.js';
import type { Proc, ProcessGroup } from './procs.js';

/** Spawns the app and resolves once it prints that it listens, with its port. */
export async function startAppDirect(
  procs: ProcessGroup,
  appScript: string,
  cwd: string,
  label = 'rest-api',
): Promise<{ proc: Proc; port: number }> {
  const env: NodeJS.ProcessEnv = { PORT: '0', HOST: '127.0.0.1', RESOURCE: 'direct' };
  for (const k of PASSTHROUGH_ENV) if (process.env[k] !== undefined) env[k] = process.env[k];
  const proc = procs.start(label, process.execPath, [appScript], { env, cwd });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    proc.child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = out.match(/listening on http:\/\/127\.0\.0\.1:(\d+)/);
      if (m) resolve(Number(m[1]));
    });
    void proc.exited.then(() => reject(new Error(`${label} exited: ${proc.output()}`)));
  });
  return { proc, port };
}
