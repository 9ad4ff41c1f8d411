export interface RateDecision {
  allowed: boolean;
  /** When refused: milliseconds until a point is available again. */
  retryAfterMs: number;
}

/**
 * RateLimits: fixed-window-or-better counters shared by every process that writes to a room.
 *
 * Guarantees (rate limit contract suite):
 * - `consume(key, points, perSecond)` allows at most `perSecond` points per key per second
 *   (burst included) and refuses the rest with a retry hint; keys are independent.
 */
export interface RateLimits {
  consume(key: string, perSecond: number, points?: number): Promise<RateDecision>;
}
