// Restart back-off and crash reporting, as pure functions so the rules are easy to test.
// Like Kubernetes: each crash in a row doubles the wait up to a cap, and an instance that stayed
// ready long enough starts over from the initial delay (Kubernetes: 10 s doubling to 5 min,
// reset after 10 min; our defaults are shorter because local apps start in milliseconds).

import os from 'node:os';
import type { WorkloadFailure } from '../runtime.js';

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  /** Being ready this long before a crash resets the streak. */
  resetAfterMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 1000, maxMs: 60_000, resetAfterMs: 60_000 };

/** Delay before restart number `streak` of a crash streak (1 = first crash). */
export function backoffDelay(streak: number, opts: BackoffOptions): number {
  const n = Math.max(1, Math.floor(streak));
  // Cap the exponent so the arithmetic stays finite for very long streaks.
  return Math.min(opts.maxMs, opts.initialMs * 2 ** Math.min(n - 1, 40));
}

/** The streak after a crash at `now`, given when the instance last became ready (if it did). */
export function nextStreak(prevStreak: number, readySince: number | undefined, now: number, opts: BackoffOptions): number {
  if (readySince !== undefined && now - readySince >= opts.resetAfterMs) return 1;
  return prevStreak + 1;
}

/** Kubernetes reports death by signal N as exit code 128+N; we do the same. */
export function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  const n = signal ? (os.constants.signals as Record<string, number>)[signal] : undefined;
  return n ? 128 + n : 255;
}

export function formatMs(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const s = ms / 1000;
  return Number.isInteger(s) ? `${s}s` : `${s.toFixed(1)}s`;
}

export interface CrashInfo {
  /** What happened, e.g. "container exited with code 1". */
  cause: string;
  /** Reason used when this is the first crash of a streak, e.g. "ExitCode1", "StartError", "ProbeFailed". */
  firstReason: string;
  streak: number;
  delayMs: number;
  lastLines: string[];
}

export function crashFailure(c: CrashInfo): WorkloadFailure {
  const reason = c.streak >= 2 ? 'CrashLoopBackOff' : c.firstReason;
  const lead =
    c.streak >= 2
      ? `back-off ${formatMs(c.delayMs)} restarting failed container (${c.streak} failures in a row); last failure: ${c.cause}`
      : `${c.cause}; restarting in ${formatMs(c.delayMs)}`;
  const tail = c.lastLines.length ? `\nlast log lines:\n${c.lastLines.join('\n')}` : '\n(no log output)';
  return { reason, message: lead + tail, ...(c.streak >= 2 ? { terminationReason: c.firstReason } : {}) };
}

export function describeExit(code: number | null, signal: NodeJS.Signals | null): { exitCode: number; cause: string } {
  const exitCode = exitCodeOf(code, signal);
  const cause = signal ? `container was killed by ${signal} (exit code ${exitCode})` : `container exited with code ${exitCode}`;
  return { exitCode, cause };
}
