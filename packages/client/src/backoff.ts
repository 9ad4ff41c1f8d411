/** Reconnect delays: exponential growth from `minDelayMs`, capped at `maxDelayMs`. */
export interface BackoffOptions {
  /** The ceiling of the first delay (default 500 ms). */
  minDelayMs: number;
  /** The largest ceiling any delay may reach (default 30 s). */
  maxDelayMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { minDelayMs: 500, maxDelayMs: 30_000 };

/**
 * Exponential backoff with full jitter: attempt `n` (0-based) waits a uniformly random time in
 * `[0, min(maxDelayMs, minDelayMs * 2^n)]`, so that clients dropped together do not come back
 * together (https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/).
 */
export class Backoff {
  #attempt = 0;
  readonly #min: number;
  readonly #max: number;

  constructor(
    options: Partial<BackoffOptions> = {},
    /** A source of uniform numbers in [0, 1); injectable for tests. */
    private readonly random: () => number = Math.random,
  ) {
    this.#min = Math.max(0, options.minDelayMs ?? DEFAULT_BACKOFF.minDelayMs);
    this.#max = Math.max(this.#min, options.maxDelayMs ?? DEFAULT_BACKOFF.maxDelayMs);
  }

  /** How many delays were handed out since the last reset. */
  get attempt(): number {
    return this.#attempt;
  }

  /** The upper bound of the delay of attempt `n` (0-based). */
  ceiling(n: number): number {
    // 2^n overflows to Infinity for large n; min() keeps the result finite.
    return Math.min(this.#max, this.#min * 2 ** Math.min(n, 1024));
  }

  /** The next delay in milliseconds; each call moves to the next attempt. */
  next(): number {
    const delay = Math.floor(this.random() * (this.ceiling(this.#attempt) + 1));
    this.#attempt++;
    return Math.min(delay, this.ceiling(this.#attempt - 1));
  }

  /** Starts again from the first attempt (after a connection proved healthy). */
  reset(): void {
    this.#attempt = 0;
  }
}

/**
 * Spreads a server-requested delay (`{"op":"reconnect","delayMs":N}`): a uniform time in
 * `[N/2, 3N/2)`, so that the clients of a draining gateway do not all return at the same instant
 * while the mean wait stays N.
 */
export function jitterDelay(delayMs: number, random: () => number = Math.random): number {
  const base = Math.max(0, delayMs);
  return Math.floor(base / 2 + random() * base);
}
