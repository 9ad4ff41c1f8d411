/**
 * The key layout of the Redis collections (docs/redis.md). Every key of a room carries the room ID
 * as a hash tag (`{room}`), every key of a user the user ID (`{user}`), so Twemproxy and Redis
 * Cluster put them on one shard and each Lua script touches one shard only.
 */
export class RedisKeys {
  readonly #prefix: string;

  /** `prefix` starts every key (e.g. `rc:`); it must not contain braces, or it would be the hash tag. */
  constructor(prefix: string) {
    if (/[{}]/.test(prefix)) throw new RangeError(`Redis key prefix must not contain braces: ${prefix}`);
    this.#prefix = prefix;
  }

  historyMeta(room: string): string {
    return `${this.#prefix}history:{${room}}:meta`;
  }

  historyEvents(room: string): string {
    return `${this.#prefix}history:{${room}}:events`;
  }

  /** One idempotent publish's record; `key` is the publisher's user ID and key, joined. */
  historyIdempotency(room: string, key: string): string {
    return `${this.#prefix}history:{${room}}:key:${key}`;
  }

  state(room: string): string {
    return `${this.#prefix}state:{${room}}`;
  }

  inboxMeta(user: string): string {
    return `${this.#prefix}inbox:{${user}}:meta`;
  }

  inboxMessages(user: string): string {
    return `${this.#prefix}inbox:{${user}}:messages`;
  }

  registry(user: string): string {
    return `${this.#prefix}registry:{${user}}`;
  }

  presenceCounts(room: string): string {
    return `${this.#prefix}presence:{${room}}:counts`;
  }

  presenceExpiry(room: string): string {
    return `${this.#prefix}presence:{${room}}:expiry`;
  }

  /** One bucket of the live-room index; the bucket number is its own hash tag. */
  liveRooms(bucket: number): string {
    return `${this.#prefix}live-rooms:{bucket-${bucket}}`;
  }

  members(room: string): string {
    return `${this.#prefix}members:{${room}}`;
  }

  restrictions(room: string, user: string): string {
    return `${this.#prefix}moderation:{${room}}:${user}`;
  }

  /** A rate-limit window; the limited key (a room, a user) is the hash tag. */
  rateWindow(key: string, perSecond: number): string {
    return `${this.#prefix}rate:{${key}}:${perSecond}`;
  }

  /**
   * A rate window of a guarded append (`key` as RateLimits names it), kept with the room's hash
   * tag so the append script checks it on the room's shard.
   */
  roomRateWindow(room: string, key: string, perSecond: number): string {
    return `${this.#prefix}rate:{${room}}:${key}:${perSecond}`;
  }

  /** The gateway directory: one small hash, its own hash tag. */
  gatewayDirectory(): string {
    return `${this.#prefix}gateways:{directory}`;
  }

  /** A key nobody writes, read by `ping` (PING itself does not go through Twemproxy). */
  ping(): string {
    return `${this.#prefix}ping`;
  }
}
