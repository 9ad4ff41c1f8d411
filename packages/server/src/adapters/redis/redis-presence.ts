import { createHash } from 'node:crypto';
import type { ConnectionRegistry, RoomPresence } from '../../core/ports/presence.ts';
import { LuaScript, type RedisClient, replyArray, replyNumber } from './lua-script.ts';
import type { RedisKeys } from './redis-keys.ts';

export interface RedisPresenceOptions {
  redis: RedisClient;
  keys: RedisKeys;
  /** Clock in ms since the epoch for expiry scores. Defaults to Date.now. */
  now?: () => number;
}

const REGISTER = new LuaScript('register-gateway');
const REPORT = new LuaScript('report-room-count');
const COUNT = new LuaScript('count-room-connections');
const INDEX = new LuaScript('index-live-rooms');
const ADD_MEMBERS = new LuaScript('add-room-members');
const CHECK_MEMBERS = new LuaScript('check-room-members');

/**
 * How many keys the live-room index is split into: each is small and single-shard, and `rooms()`
 * reads all of them (a fixed, small number of reads whatever the number of rooms).
 */
export const LIVE_ROOM_BUCKETS = 16;

/** The index bucket of a room: stable across processes and versions (not the shard hash). */
export function liveRoomBucket(room: string): number {
  return createHash('sha1').update(room).digest().readUInt32BE(0) % LIVE_ROOM_BUCKETS;
}

/**
 * RedisConnectionRegistry: ConnectionRegistry in one sorted set per user, `registry:{user}`,
 * gateway → expiry (ms since the epoch).
 *
 * `register` is one Lua script per user (add, drop lapsed entries, expire the key with its latest
 * entry); `locate` reads the unexpired range of each user's set, so it never returns a lapsed
 * gateway even before the cleanup. Users are on different shards, so several users are several
 * single-key calls, sent concurrently. Expiry scores come from this process's clock: gateways and
 * API nodes should run NTP, a skew shortens or lengthens entries by as much.
 */
export class RedisConnectionRegistry implements ConnectionRegistry {
  readonly #redis: RedisClient;
  readonly #keys: RedisKeys;
  readonly #now: () => number;

  constructor(options: RedisPresenceOptions) {
    this.#redis = options.redis;
    this.#keys = options.keys;
    this.#now = options.now ?? Date.now;
  }

  async register(gatewayId: string, users: readonly string[], ttlMs: number): Promise<void> {
    const now = this.#now();
    const expiresAt = now + Math.ceil(ttlMs);
    await Promise.all(
      users.map((user) =>
        REGISTER.run(this.#redis, [this.#keys.registry(user)], [gatewayId, now, expiresAt]),
      ),
    );
  }

  async unregister(gatewayId: string, users: readonly string[]): Promise<void> {
    await Promise.all(users.map((user) => this.#redis.zrem(this.#keys.registry(user), gatewayId)));
  }

  async locate(users: readonly string[]): Promise<Map<string, string[]>> {
    const now = this.#now();
    const found = await Promise.all(
      users.map((user) => this.#redis.zrangebyscore(this.#keys.registry(user), `(${now}`, '+inf')),
    );
    return new Map(users.map((user, i) => [user, found[i] ?? []]));
  }
}

/**
 * RedisRoomPresence: RoomPresence in two keys per room — `presence:{room}:counts` (hash gateway →
 * count) and `presence:{room}:expiry` (sorted set gateway → expiry) — plus a live-room index and a
 * member set per room, `members:{room}`.
 *
 * - `report` is one Lua script per named room (replace the count, drop lapsed gateways, expire
 *   the keys with the latest report), so the counts of one room are consistent on one shard.
 *   Unlike the memory adapter, expiry is per (room, gateway), not per gateway: a gateway must name
 *   every room it has connections in at each report, which the gateway's periodic report does.
 * - `counts` sums a room's unexpired gateways in one read-only script.
 * - `rooms` is the one cross-room query, and through Twemproxy nothing can scan or span shards. So
 *   `report` also records each room with a non-zero count in one of LIVE_ROOM_BUCKETS index keys,
 *   `live-rooms:{bucket-N}` (sorted set room → latest expiry, ZADD GT, lapsed rooms dropped on
 *   write). `rooms` reads the unexpired part of every bucket and keeps the rooms whose `counts` are
 *   non-zero. Trade-offs: a room reported at 0 by its last gateway stays in the index until its
 *   entry lapses (filtered out by the count check, at the cost of reading it); each bucket holds
 *   about 1/16 of the live rooms, and `rooms` costs 16 reads plus one count per candidate — not a
 *   request path (the online-count job counts OngoingQuery's rooms instead; this is for tools).
 * - Member sets are capped in time only: they expire `ttlMs` after the last addition.
 */
export class RedisRoomPresence implements RoomPresence {
  readonly #redis: RedisClient;
  readonly #keys: RedisKeys;
  readonly #now: () => number;

  constructor(options: RedisPresenceOptions) {
    this.#redis = options.redis;
    this.#keys = options.keys;
    this.#now = options.now ?? Date.now;
  }

  async report(gatewayId: string, counts: ReadonlyMap<string, number>, ttlMs: number): Promise<void> {
    const now = this.#now();
    const expiresAt = now + Math.ceil(ttlMs);
    const live = new Map<number, (string | number)[]>();
    await Promise.all(
      Array.from(counts, async ([room, count]) => {
        const latest = replyNumber(
          await REPORT.run(this.#redis, this.#roomKeys(room), [
            gatewayId,
            Math.max(0, count),
            now,
            expiresAt,
          ]),
          REPORT.name,
        );
        if (latest <= now) return;
        const bucket = liveRoomBucket(room);
        const entries = live.get(bucket) ?? [];
        entries.push(latest, room);
        live.set(bucket, entries);
      }),
    );
    await Promise.all(
      Array.from(live, ([bucket, entries]) =>
        INDEX.run(this.#redis, [this.#keys.liveRooms(bucket)], [now, ...entries]),
      ),
    );
  }

  async counts(rooms: readonly string[]): Promise<Map<string, number>> {
    const now = this.#now();
    const totals = await Promise.all(
      rooms.map(async (room) =>
        replyNumber(await COUNT.run(this.#redis, this.#roomKeys(room), [now]), COUNT.name),
      ),
    );
    return new Map(rooms.map((room, i) => [room, totals[i] ?? 0]));
  }

  async rooms(): Promise<string[]> {
    const now = this.#now();
    const buckets = await Promise.all(
      Array.from({ length: LIVE_ROOM_BUCKETS }, (_, bucket) =>
        this.#redis.zrangebyscore(this.#keys.liveRooms(bucket), `(${now}`, '+inf'),
      ),
    );
    const counts = await this.counts(buckets.flat());
    return [...counts].filter(([, count]) => count > 0).map(([room]) => room);
  }

  async addMembers(room: string, users: readonly string[], ttlMs: number): Promise<void> {
    if (users.length === 0) return;
    await ADD_MEMBERS.run(this.#redis, [this.#keys.members(room)], [Math.ceil(ttlMs), ...users]);
  }

  async areMembers(room: string, users: readonly string[]): Promise<boolean[]> {
    if (users.length === 0) return [];
    const reply = replyArray(
      await CHECK_MEMBERS.run(this.#redis, [this.#keys.members(room)], users),
      CHECK_MEMBERS.name,
    );
    return reply.map((found) => replyNumber(found, CHECK_MEMBERS.name) === 1);
  }

  #roomKeys(room: string): string[] {
    return [this.#keys.presenceCounts(room), this.#keys.presenceExpiry(room)];
  }
}
