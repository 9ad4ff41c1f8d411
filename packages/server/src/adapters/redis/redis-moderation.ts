import type { ModerationStore, Restriction, RestrictionStatus } from '../../core/ports/moderation.ts';
import { LuaScript, type RedisClient } from './lua-script.ts';
import type { RedisKeys } from './redis-keys.ts';

export interface RedisModerationOptions {
  redis: RedisClient;
  keys: RedisKeys;
  /** Clock in ms since the epoch for lapse checks on read. Defaults to Date.now. */
  now?: () => number;
}

const SET = new LuaScript('set-restriction');

/**
 * RedisModerationStore: ModerationStore in one hash per (room, user), `moderation:{room}:<user>`,
 * fields `mute` and `ban` holding until when (ms since the epoch) each restriction holds.
 *
 * Guarantees the port's contract across processes: restrict and lift are one Lua script each, which
 * also sets the key to expire when its latest restriction ends, so lapsed restrictions free
 * themselves. A read compares each time with the clock as well, since key expiry only covers the
 * latest of the two.
 */
export class RedisModerationStore implements ModerationStore {
  readonly #redis: RedisClient;
  readonly #keys: RedisKeys;
  readonly #now: () => number;

  constructor(options: RedisModerationOptions) {
    this.#redis = options.redis;
    this.#keys = options.keys;
    this.#now = options.now ?? Date.now;
  }

  async restrict(room: string, user: string, restriction: Restriction, untilMs: number): Promise<void> {
    // At least 1: 0 means "lift" to the script, and any time that early has long passed anyway.
    const until = Math.max(1, Math.floor(untilMs));
    await SET.run(this.#redis, [this.#keys.restrictions(room, user)], [restriction, until]);
  }

  async lift(room: string, user: string, restriction: Restriction): Promise<void> {
    await SET.run(this.#redis, [this.#keys.restrictions(room, user)], [restriction, 0]);
  }

  async status(room: string, user: string): Promise<RestrictionStatus> {
    const [mute, ban] = await this.#redis.hmget(this.#keys.restrictions(room, user), 'mute', 'ban');
    const now = this.#now();
    const holding = (raw: string | null | undefined): number | null => {
      const until = raw === null || raw === undefined ? null : Number(raw);
      return until !== null && until > now ? until : null;
    };
    return { mutedUntil: holding(mute), bannedUntil: holding(ban) };
  }
}
