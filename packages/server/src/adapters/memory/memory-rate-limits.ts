import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { RateDecision, RateLimits } from '../../core/ports/rate-limits.ts';

const ALLOWED: RateDecision = Object.freeze({ allowed: true, retryAfterMs: 0 });

/**
 * MemoryRateLimits: RateLimits for one process, on rate-limiter-flexible's RateLimiterMemory.
 *
 * Each key gets a one-second window starting at its first consume; within it at most `perSecond`
 * points are allowed. A refused request still counts its points for the rest of the window (the
 * library's counter only grows), which errs on the strict side and never allows more than the port
 * promises. Counters of one key under different `perSecond` values are independent, since each
 * value has its own limiter.
 */
export class MemoryRateLimits implements RateLimits {
  /** One limiter per distinct perSecond value; the set of values in use is small and fixed by config. */
  readonly #limiters = new Map<number, RateLimiterMemory>();

  async consume(key: string, perSecond: number, points = 1): Promise<RateDecision> {
    try {
      await this.#limiter(perSecond).consume(key, points);
      return ALLOWED;
    } catch (refusal) {
      // The library rejects with a RateLimiterRes when over the limit, and with an Error otherwise.
      if (!(refusal instanceof RateLimiterRes)) throw refusal;
      // At least 1 ms: a hint of 0 would invite an immediate retry that is refused again.
      return { allowed: false, retryAfterMs: Math.max(1, Math.ceil(refusal.msBeforeNext)) };
    }
  }

  #limiter(perSecond: number): RateLimiterMemory {
    let limiter = this.#limiters.get(perSecond);
    if (limiter === undefined) {
      limiter = new RateLimiterMemory({ points: perSecond, duration: 1 });
      this.#limiters.set(perSecond, limiter);
    }
    return limiter;
  }
}
