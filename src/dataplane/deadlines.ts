// A revision's three request deadlines with Knative's meaning (knative/serving pkg/http/handler/timeout.go,
// run by both the activator and the queue-proxy, so timed from the request's arrival, held time included):
//
//   timeoutSeconds               the whole request: arrival to the response's last byte
//   responseStartTimeoutSeconds  arrival to the response's first byte (headers); nothing once it started
//   idleTimeoutSeconds           no response byte for this long (the first counts from arrival)
//
// Whichever runs out first ends the request: before any response byte with 504 Gateway Timeout and
// Knative's body, after it by cutting the response (the client must not take a truncated body for a whole one).
//
// The whole-request timer is the gateway's own (one per request); this module only adds the two optional
// ones, and only for revisions that set them, so the common request pays nothing for them.

import type { Readable } from 'node:stream';

/** Knative's 504 bodies: the activator's (the request was still held) and the queue-proxy's (it was sent). */
export const HELD_TIMEOUT_BODY = 'activator request timeout';
export const SENT_TIMEOUT_BODY = 'request timeout';

export type DeadlineKind = 'timeout' | 'response-start' | 'idle';

export interface DeadlineLimits {
  /** 0 = not set. */
  responseStartMs: number;
  idleMs: number;
}

/**
 * What an idle check at `now` decides: time out, or look again after `recheckMs` (Knative re-arms
 * its idle timer for what is left since the last write).
 */
export function idleVerdict(now: number, lastWrite: number, idleMs: number): { timedOut: true } | { timedOut: false; recheckMs: number } {
  const since = now - lastWrite;
  return since >= idleMs ? { timedOut: true } : { timedOut: false, recheckMs: Math.max(1, idleMs - since) };
}

/** How a deadline that ran out is answered: with a 504 (nothing sent yet) or by cutting the response. */
export function timeoutOutcome(responseStarted: boolean, held: boolean): { cut: true } | { cut: false; status: 504; body: string } {
  if (responseStarted) return { cut: true };
  return { cut: false, status: 504, body: held ? HELD_TIMEOUT_BODY : SENT_TIMEOUT_BODY };
}

/** The optional timers of one request. `fire` is called at most once. */
export class Deadlines {
  private startTimer: NodeJS.Timeout | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  private lastWrite: number;
  private fired = false;

  constructor(
    private readonly limits: DeadlineLimits,
    private readonly clock: () => number,
    private readonly fire: (kind: DeadlineKind) => void,
  ) {
    this.lastWrite = clock();
    if (limits.responseStartMs > 0) this.startTimer = setTimeout(() => this.ring('response-start'), limits.responseStartMs);
    if (limits.idleMs > 0) this.idleTimer = setTimeout(() => this.checkIdle(), limits.idleMs);
  }

  /** The response's headers went out: the response-start deadline is met. */
  responseStarted(): void {
    if (this.startTimer !== null) {
      clearTimeout(this.startTimer);
      this.startTimer = null;
    }
    this.lastWrite = this.clock();
  }

  /** Counts every chunk of `body` as a write (only when an idle deadline is set). */
  track(body: Readable): void {
    if (this.idleTimer === null) return;
    body.on('data', () => {
      this.lastWrite = this.clock();
    });
  }

  stop(): void {
    if (this.startTimer !== null) clearTimeout(this.startTimer);
    if (this.idleTimer !== null) clearTimeout(this.idleTimer);
    this.startTimer = this.idleTimer = null;
  }

  private checkIdle(): void {
    this.idleTimer = null;
    const v = idleVerdict(this.clock(), this.lastWrite, this.limits.idleMs);
    if (v.timedOut) this.ring('idle');
    else this.idleTimer = setTimeout(() => this.checkIdle(), v.recheckMs);
  }

  private ring(kind: DeadlineKind): void {
    if (kind === 'response-start') this.startTimer = null;
    if (this.fired) return;
    this.fired = true;
    this.stop();
    this.fire(kind);
  }
}
