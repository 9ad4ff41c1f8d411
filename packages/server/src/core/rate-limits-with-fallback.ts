import type { RateDecision, RateLimits } from './ports/rate-limits.ts';
import { StoreUnavailableError } from './ports/store-unavailable.ts';

/**
 * RateLimits that keep limiting when the shared store is unreachable: a limit key lives on one
 * shard (a user's on the user's), so without this a dead shard would fail every publish of every
 * room whose publisher's key lives there. While the shared store is down, each process limits on
 * its own (`local`), so the budget is per process instead of per cluster until it is back.
 */
export class RateLimitsWithFallback implements RateLimits {
  constructor(
    private readonly shared: RateLimits,
    private readonly local: RateLimits,
    private readonly onFallback?: (err: StoreUnavailableError) => void,
  ) {}

  async consume(key: string, perSecond: number, points?: number): Promise<RateDecision> {
    try {
      return await this.shared.consume(key, perSecond, points);
    } catch (err) {
      if (!(err instanceof StoreUnavailableError)) throw err;
      this.onFallback?.(err);
      return this.local.consume(key, perSecond, points);
    }
  }
}
