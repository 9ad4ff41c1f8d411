import type { RateDecision, RateLimits } from '../../core/ports/rate-limits.ts';
import { LuaScript, type RedisClient, replyArray, replyNumber } from './lua-script.ts';
import type { RedisKeys } from './redis-keys.ts';

export interface RedisRateLimitsOptions {
  redis: RedisClient;
  keys: RedisKeys;
}

const CONSUME = new LuaScript('consume-rate-window');
const WINDOW_MS = 1_000;
const ALLOWED: RateDecision = Object.freeze({ allowed: true, retryAfterMs: 0 });

/**
 * RedisRateLimits: RateLimits as one fixed one-second window per key and `perSecond` value,
 * `rate:{key}:<perSecond>`, starting at the key's first consume (as MemoryRateLimits does).
 *
 * Each consume is one Lua script (GET, INCRBY, PEXPIRE), so concurrent consumes from any number of
 * processes never allow more than `perSecond` points in a window. Refused points are not counted.
 * rate-limiter-flexible's RateLimiterRedis is not used: its default mode sends MULTI, which
 * Twemproxy does not proxy, and a dozen lines of Lua are simpler than proving its other modes are
 * proxy-safe.
 */
export class RedisRateLimits implements RateLimits {
  readonly #redis: RedisClient;
  readonly #keys: RedisKeys;

  constructor(options: RedisRateLimitsOptions) {
    this.#redis = options.redis;
    this.#keys = options.keys;
  }

  async consume(key: string, perSecond: number, points = 1): Promise<RateDecision> {
    const reply = replyArray(
      await CONSUME.run(this.#redis, [this.#keys.rateWindow(key, perSecond)], [points, perSecond, WINDOW_MS]),
      CONSUME.name,
    );
    if (replyNumber(reply[0], CONSUME.name) === 1) return ALLOWED;
    // At least 1 ms: a hint of 0 would invite an immediate retry that is refused again.
    return { allowed: false, retryAfterMs: Math.max(1, replyNumber(reply[1], CONSUME.name)) };
  }
}
