import type { JsonValue, PartialState, StateSnapshot, StateVersions } from '@roomcast/protocol';
import type { RoomStateStore, StateChange } from '../../core/ports/room-state.ts';
import { LuaScript, type RedisClient, replyArray, replyNumber } from './lua-script.ts';
import type { RedisKeys } from './redis-keys.ts';

export interface RedisRoomStateOptions {
  redis: RedisClient;
  keys: RedisKeys;
  /** A room's state untouched (no set or read) for this long is dropped and reads as unknown. */
  idleTtlMs: number;
}

const SET = new LuaScript('set-state-partial');

/**
 * RedisRoomStateStore: RoomStateStore in one hash per room, `state:{room}`, with fields `t` (total
 * version), `n` (number of partials), `v:<name>` (a partial's version) and `j:<name>` (its JSON).
 *
 * Guarantees the port's contract across processes: a set is one Lua script that checks the partial
 * limit, raises both versions and stores the value, so concurrent sets get distinct versions and
 * never admit more than `maxPartials`. Reads are one HGETALL, so a snapshot is consistent. Sets and
 * reads refresh the idle TTL (reads with a pipelined PEXPIRE, which Twemproxy passes through), so a
 * watched room keeps a pinned message that nobody changes.
 */
export class RedisRoomStateStore implements RoomStateStore {
  readonly #redis: RedisClient;
  readonly #keys: RedisKeys;
  readonly #idleTtlMs: number;

  constructor(options: RedisRoomStateOptions) {
    if (!Number.isSafeInteger(options.idleTtlMs) || options.idleTtlMs < 1) {
      throw new RangeError(`state idleTtlMs must be a positive integer, got ${options.idleTtlMs}`);
    }
    this.#redis = options.redis;
    this.#keys = options.keys;
    this.#idleTtlMs = options.idleTtlMs;
  }

  async set(room: string, name: string, value: JsonValue, maxPartials: number): Promise<StateChange | null> {
    const reply = await SET.run(
      this.#redis,
      [this.#keys.state(room)],
      [name, JSON.stringify(value), maxPartials, this.#idleTtlMs],
    );
    if (reply === null) return null;
    const [total, v] = replyArray(reply, SET.name);
    return { total: replyNumber(total, SET.name), v: replyNumber(v, SET.name) };
  }

  async snapshot(room: string): Promise<StateSnapshot> {
    const fields = await this.#fields(room);
    const partials: Record<string, PartialState> = {};
    for (const [field, raw] of Object.entries(fields)) {
      if (!field.startsWith('v:')) continue;
      const name = field.slice(2);
      const json = fields[`j:${name}`];
      if (json === undefined) continue;
      // defineProperty: a partial named "__proto__" must stay a plain entry.
      Object.defineProperty(partials, name, {
        value: { v: Number(raw), value: JSON.parse(json) as JsonValue },
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return { total: Number(fields.t ?? 0), partials };
  }

  async versions(room: string): Promise<StateVersions> {
    const fields = await this.#fields(room);
    const partials = Object.fromEntries(
      Object.entries(fields)
        .filter(([field]) => field.startsWith('v:'))
        .map(([field, raw]) => [field.slice(2), Number(raw)]),
    );
    return { total: Number(fields.t ?? 0), partials };
  }

  async #fields(room: string): Promise<Record<string, string>> {
    const key = this.#keys.state(room);
    // HGETALL answers first; the PEXPIRE of a missing key is a no-op, so reads never create a room.
    const [fields] = await Promise.all([this.#redis.hgetall(key), this.#redis.pexpire(key, this.#idleTtlMs)]);
    return fields;
  }
}
