// Runs wrk (Debian's, 4.1) and reads its results as JSON printed by a Lua done() hook, which is
// exact where the human-readable report rounds.
//
// Rate limiting without wrk2 (not packaged by Debian): wrk calls a Lua delay() before each request
// on a connection once the previous response is complete, so each connection runs a closed loop of
// "request, wait d ms". With C connections and mean latency L the rate is C / (d + L). wrk takes
// whole milliseconds, so a fractional d is drawn as floor(d) or floor(d)+1 with the right odds.
// The latency wrk records starts when the request is written, i.e. after the delay.

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ProcessGroup } from './procs.js';

export interface WrkOptions {
  url: string;
  /** Host header sent with every request. */
  host?: string;
  /** Further headers sent with every request (e.g. a cookie). */
  headers?: Record<string, string>;
  /** Every request on a connection gets its own target (`/?n=1`, `/?n=2`, …), so no two heads repeat. */
  varyTarget?: boolean;
  threads: number;
  connections: number;
  /** Whole seconds. */
  durationS: number;
  /** Mean per-connection pause between a response and the next request, ms (0 = as fast as possible). */
  delayMs?: number;
  /** Where to write the Lua script. */
  scriptDir: string;
  /** Called right after wrk has been spawned (to take CPU snapshots of other processes). */
  onStart?: () => void;
}

export interface WrkResult {
  requests: number;
  durationS: number;
  rps: number;
  /** Latency percentiles and mean, milliseconds. */
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
  /** Socket errors (connect/read/write/timeout) plus non-2xx/3xx responses. */
  errors: number;
  non2xx: number;
  /** The command line, for the doc. */
  command: string;
}

let scriptSeq = 0;

function luaScript(host: string | undefined, delayMs: number, headers: Record<string, string> = {}, varyTarget = false): string {
  const lines: string[] = [];
  if (host) lines.push(`wrk.headers["Host"] = ${JSON.stringify(host)}`);
  for (const [k, v] of Object.entries(headers)) lines.push(`wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`);
  if (varyTarget) lines.push('local n = 0', 'function request()', '  n = n + 1', '  return wrk.format(nil, "/?n=" .. n)', 'end');
  if (delayMs > 0) {
    const base = Math.floor(delayMs);
    const frac = delayMs - base;
    lines.push(
      `local base, frac = ${base}, ${frac.toFixed(4)}`,
      'function delay()',
      '  if frac > 0 and math.random() < frac then return base + 1 end',
      '  return base',
      'end',
    );
  }
  lines.push(
    'function done(summary, latency, requests)',
    '  local e = summary.errors',
    '  io.write(string.format(\'WRK_JSON {"requests":%.0f,"duration_us":%.0f,"connect":%.0f,"read":%.0f,"write":%.0f,"status":%.0f,"timeout":%.0f,"p50":%.0f,"p90":%.0f,"p99":%.0f,"max":%.0f,"mean":%.1f}\\n\',',
    '    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,',
    '    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))',
    'end',
  );
  return lines.join('\n') + '\n';
}

export async function runWrk(procs: ProcessGroup, o: WrkOptions): Promise<WrkResult> {
  const delayMs = o.delayMs ?? 0;
  // wrk reads -d as a whole number with a unit.
  if (!Number.isInteger(o.durationS) || o.durationS < 1)
    throw new Error(`wrk duration must be a whole number of seconds, got ${o.durationS}`);
  const script = path.join(o.scriptDir, `wrk-${++scriptSeq}.lua`);
  writeFileSync(script, luaScript(o.host, delayMs, o.headers, o.varyTarget));
  const args = ['-t', String(o.threads), '-c', String(o.connections), '-d', `${o.durationS}s`, '--latency', '-s', script, o.url];
  const p = procs.start('wrk', 'wrk', args);
  o.onStart?.();
  const code = await p.exited;
  const out = p.output();
  const m = out.match(/^WRK_JSON (\{.*\})$/m);
  if (code !== 0 || !m) throw new Error(`wrk ${args.join(' ')} failed (exit ${code}):\n${out.slice(-2000)}`);
  const j = JSON.parse(m[1]) as Record<string, number>;
  const durationS = j.duration_us / 1e6;
  const shownArgs = ['-t', String(o.threads), '-c', String(o.connections), '-d', `${o.durationS}s`, '--latency'];
  if (o.host) shownArgs.push('-H', `'Host: ${o.host}'`);
  for (const [k, v] of Object.entries(o.headers ?? {})) shownArgs.push('-H', `'${k}: ${v}'`);
  const shownUrl = o.varyTarget ? 'URL/?n=1, URL/?n=2, …' : 'URL';
  return {
    requests: j.requests,
    durationS,
    rps: j.requests / durationS,
    p50Ms: j.p50 / 1000,
    p90Ms: j.p90 / 1000,
    p99Ms: j.p99 / 1000,
    maxMs: j.max / 1000,
    meanMs: j.mean / 1000,
    errors: j.connect + j.read + j.write + j.timeout + j.status,
    non2xx: j.status,
    command: `wrk ${shownArgs.join(' ')} ${shownUrl}`,
  };
}
