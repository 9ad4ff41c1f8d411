/** How long the supervisor waits before restarting a process that died. */
export interface BackoffPolicy {
  /** The first delay (default 500 ms); each further restart doubles it… */
  initialMs: number;
  /** …up to this (default 10 s). */
  maxMs: number;
  /** A process that stayed ready this long (default 30 s) starts again from `initialMs`. */
  stableMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 500, maxMs: 10_000, stableMs: 30_000 };

/**
 * The delays of one process's restarts: `initialMs`, doubling up to `maxMs`, back to `initialMs`
 * after `reset` (the supervisor calls it once the process stayed ready for `stableMs`).
 */
export class RestartBackoff {
  private attempt = 0;

  constructor(private readonly policy: BackoffPolicy) {}

  /** The delay before the next restart; each call doubles the one after it. */
  next(): number {
    const delay = Math.min(this.policy.maxMs, this.policy.initialMs * 2 ** this.attempt);
    if (delay < this.policy.maxMs) this.attempt++;
    return delay;
  }

  reset(): void {
    this.attempt = 0;
  }
}
