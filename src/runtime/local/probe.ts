// Readiness and liveness probes: httpGet, tcpSocket and exec, with Kubernetes' thresholds.
// Until an instance has been ready once, readiness is probed every STARTUP_PROBE_INTERVAL_MS
// (Knative's queue-proxy probes aggressively at start so a ready app takes traffic at once; we go
// much faster than its 50 ms, since a cold start waits on this). After that periodSeconds applies.

import { execFile } from 'node:child_process';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { ContainerPort, Probe } from '../../api/types.js';
import { clampDelay } from '../../timers.js';

export const STARTUP_PROBE_INTERVAL_MS = 10;
/** The first seconds of a start are probed every 2 ms: a refused connect costs microseconds. */
export const FIRST_PROBE_INTERVAL_MS = 2;
export const FIRST_PROBING_MS = 2_000;
/** How long the 10 ms probing lasts before it backs off (local apps start well within this). */
export const FAST_PROBING_MS = 10_000;

/**
 * Interval between readiness probes before the first success. 2 ms for the first 2 s (most apps
 * are up by then, and a cold start's held request waits on this), 10 ms until 10 s, then a tenth
 * of the time waited so far, capped at 1 s (and at the probe's period), so an app that never gets
 * ready is not probed a hundred times a second forever, yet a slow starter is still found within a
 * second of listening.
 */
export function startupProbeInterval(elapsedMs: number, periodMs: number): number {
  if (elapsedMs < FIRST_PROBING_MS) return FIRST_PROBE_INTERVAL_MS;
  if (elapsedMs < FAST_PROBING_MS) return STARTUP_PROBE_INTERVAL_MS;
  return Math.max(STARTUP_PROBE_INTERVAL_MS, Math.min(Math.floor(elapsedMs / 10), 1000, periodMs));
}

export type ProbeAction =
  | { kind: 'http'; scheme: 'HTTP' | 'HTTPS'; host?: string; port: number | 'instance'; path: string; headers: Record<string, string> }
  | { kind: 'tcp'; host?: string; port: number | 'instance' }
  | { kind: 'exec'; command: string[] };

export interface ProbeConfig {
  action: ProbeAction;
  initialDelayMs: number;
  periodMs: number;
  timeoutMs: number;
  successThreshold: number;
  failureThreshold: number;
}

function posInt(v: unknown, dflt: number): number {
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? Math.floor(v) : dflt;
}

/**
 * Which port a probe means. Unset, 0, the container's port, or a name of one of its ports all mean
 * "the instance's port" (instances do not get the declared port locally; they get PORT).
 */
function probePort(
  raw: number | string | undefined,
  ports: ContainerPort[] | undefined,
  sidecar = false,
): number | 'instance' | { error: string } {
  // A sidecar has no instance port: its probes name the port it listens on.
  if (sidecar) {
    const n = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : raw;
    return typeof n === 'number' && Number.isInteger(n) && n > 0 && n <= 65535
      ? n
      : { error: `a sidecar's probe needs a port number, got ${JSON.stringify(raw ?? null)}` };
  }
  if (raw === undefined || raw === 0 || raw === '') return 'instance';
  if (typeof raw === 'string') {
    if (/^\d+$/.test(raw)) return probePort(Number(raw), ports);
    if (ports?.some((p) => p.name === raw)) return 'instance';
    return { error: `probe port "${raw}" does not name a container port` };
  }
  if (!Number.isInteger(raw) || raw < 0 || raw > 65535) return { error: `probe port ${raw} is not a valid port` };
  if (!ports || ports.length === 0 ? raw === 8080 : ports.some((p) => p.containerPort === raw)) return 'instance';
  return raw;
}

/**
 * Normalizes a Kubernetes probe. `undefined` (no probe) gives Knative's default readiness check:
 * a TCP connect to the instance's port. Knative's "periodSeconds: 0" means "probe aggressively";
 * after the first success we fall back to Kubernetes' 10 s default then.
 */
export function normalizeProbe(
  p: Probe | undefined,
  ports: ContainerPort[] | undefined,
  which: string,
  sidecar = false,
): ProbeConfig | { error: string } {
  // Valid periods (int32 seconds) reach far past setTimeout's range: clamped, not overflowed into 1 ms.
  const timing = {
    initialDelayMs: clampDelay(Math.max(0, Number(p?.initialDelaySeconds) || 0) * 1000),
    periodMs: clampDelay(posInt(p?.periodSeconds, 10) * 1000),
    timeoutMs: clampDelay(posInt(p?.timeoutSeconds, 1) * 1000),
    successThreshold: posInt(p?.successThreshold, 1),
    failureThreshold: posInt(p?.failureThreshold, 3),
  };
  if (!p || (!p.httpGet && !p.tcpSocket && !p.exec)) return { action: { kind: 'tcp', port: 'instance' }, ...timing };
  if (p.httpGet) {
    const port = probePort(p.httpGet.port, ports, sidecar);
    if (typeof port === 'object') return { error: `${which}: ${port.error}` };
    const scheme = String(p.httpGet.scheme ?? 'HTTP').toUpperCase();
    if (scheme !== 'HTTP' && scheme !== 'HTTPS')
      return { error: `${which}: httpGet.scheme must be HTTP or HTTPS, got "${p.httpGet.scheme}"` };
    let path = p.httpGet.path || '/';
    if (!path.startsWith('/')) path = `/${path}`;
    const headers: Record<string, string> = { 'User-Agent': 'sluice-probe/1' };
    for (const h of p.httpGet.httpHeaders ?? []) if (h && h.name) headers[h.name] = String(h.value ?? '');
    return { action: { kind: 'http', scheme, host: p.httpGet.host || undefined, port, path, headers }, ...timing };
  }
  if (p.tcpSocket) {
    const port = probePort(p.tcpSocket.port, ports, sidecar);
    if (typeof port === 'object') return { error: `${which}: ${port.error}` };
    return { action: { kind: 'tcp', host: p.tcpSocket.host || undefined, port }, ...timing };
  }
  const command = p.exec?.command;
  if (!Array.isArray(command) || command.length === 0 || !command.every((s) => typeof s === 'string')) {
    return { error: `${which}: exec.command must be a non-empty list of strings` };
  }
  return { action: { kind: 'exec', command }, ...timing };
}

export interface ProbeTarget {
  host: string;
  port: number;
  cwd: string;
  env: Record<string, string>;
}

export interface ProbeResult {
  ok: boolean;
  /** Why it failed, in words a user can act on. */
  message: string;
}

function httpProbe(a: Extract<ProbeAction, { kind: 'http' }>, t: ProbeTarget, timeoutMs: number): Promise<ProbeResult> {
  const host = a.host ?? t.host;
  const port = a.port === 'instance' ? t.port : a.port;
  const where = `${a.scheme.toLowerCase()}://${host}:${port}${a.path}`;
  return new Promise((resolve) => {
    let done = false;
    const finish = (r: ProbeResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      resolve(r);
    };
    const mod = a.scheme === 'HTTPS' ? https : http;
    // A fresh connection each time: a probe must not be satisfied by a pooled socket.
    const req = mod.request(
      { host, port, path: a.path, method: 'GET', headers: { ...a.headers, Connection: 'close' }, agent: false, rejectUnauthorized: false },
      (res) => {
        res.resume();
        const code = res.statusCode ?? 0;
        finish(
          code >= 200 && code < 400 ? { ok: true, message: '' } : { ok: false, message: `HTTP probe ${where} failed with status ${code}` },
        );
      },
    );
    const timer = setTimeout(() => finish({ ok: false, message: `HTTP probe ${where} timed out after ${timeoutMs}ms` }), timeoutMs);
    req.on('error', (err: NodeJS.ErrnoException) =>
      finish({ ok: false, message: `HTTP probe ${where} failed: ${err.code ?? err.message}` }),
    );
    req.end();
  });
}

function tcpProbe(a: Extract<ProbeAction, { kind: 'tcp' }>, t: ProbeTarget, timeoutMs: number): Promise<ProbeResult> {
  const host = a.host ?? t.host;
  const port = a.port === 'instance' ? t.port : a.port;
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    const finish = (r: ProbeResult) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => finish({ ok: false, message: `TCP probe ${host}:${port} timed out after ${timeoutMs}ms` }), timeoutMs);
    sock.once('connect', () => finish({ ok: true, message: '' }));
    sock.once('error', (err: NodeJS.ErrnoException) =>
      finish({ ok: false, message: `TCP probe ${host}:${port} failed: ${err.code ?? err.message}` }),
    );
  });
}

function execProbe(a: Extract<ProbeAction, { kind: 'exec' }>, t: ProbeTarget, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    execFile(
      a.command[0],
      a.command.slice(1),
      { cwd: t.cwd, env: t.env, timeout: timeoutMs, maxBuffer: 64 * 1024 },
      (err, stdout, stderr) => {
        if (!err) return resolve({ ok: true, message: '' });
        const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: number | string };
        const output = `${stdout}${stderr}`.trim().split('\n').slice(-3).join(' | ');
        const why =
          e.code === 'ENOENT'
            ? `command not found on this machine (exec probes run locally)`
            : e.killed
              ? `timed out after ${timeoutMs}ms`
              : `exited with code ${e.code}`;
        resolve({ ok: false, message: `exec probe ${JSON.stringify(a.command)} ${why}${output ? `: ${output}` : ''}` });
      },
    );
  });
}

export function runProbe(a: ProbeAction, t: ProbeTarget, timeoutMs: number): Promise<ProbeResult> {
  switch (a.kind) {
    case 'http':
      return httpProbe(a, t, timeoutMs);
    case 'tcp':
      return tcpProbe(a, t, timeoutMs);
    case 'exec':
      return execProbe(a, t, timeoutMs);
  }
}

/** Consecutive-result bookkeeping shared by readiness and liveness (pure). */
export interface ThresholdState {
  successes: number;
  failures: number;
  passing: boolean;
}

export function stepThreshold(s: ThresholdState, ok: boolean, successThreshold: number, failureThreshold: number): ThresholdState {
  if (ok) {
    const successes = s.successes + 1;
    return { successes, failures: 0, passing: s.passing || successes >= successThreshold };
  }
  const failures = s.failures + 1;
  return { successes: 0, failures, passing: s.passing && failures < failureThreshold };
}

/**
 * Runs one probe on a timer until stopped, reporting when it starts or stops passing. Probes never
 * overlap: the next one is scheduled when the previous one has finished.
 */
export class ProbeLoop {
  private state: ThresholdState;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private everPassed = false;
  lastFailure = '';

  constructor(
    private readonly cfg: ProbeConfig,
    private readonly target: ProbeTarget,
    private readonly opts: { initiallyPassing: boolean; fastUntilFirstPass: boolean },
    private readonly onChange: (passing: boolean) => void,
  ) {
    this.state = { successes: 0, failures: 0, passing: opts.initiallyPassing };
  }

  private startedAt = 0;

  start(): void {
    this.startedAt = performance.now();
    this.schedule(this.cfg.initialDelayMs);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), clampDelay(ms));
  }

  private async tick(): Promise<void> {
    const r = await runProbe(this.cfg.action, this.target, this.cfg.timeoutMs);
    if (this.stopped) return;
    if (!r.ok) this.lastFailure = r.message;
    const before = this.state.passing;
    this.state = stepThreshold(this.state, r.ok, this.cfg.successThreshold, this.cfg.failureThreshold);
    if (this.state.passing) this.everPassed = true;
    if (this.state.passing !== before) this.onChange(this.state.passing);
    const fast = this.opts.fastUntilFirstPass && !this.everPassed;
    this.schedule(fast ? startupProbeInterval(performance.now() - this.startedAt, this.cfg.periodMs) : this.cfg.periodMs);
  }
}
