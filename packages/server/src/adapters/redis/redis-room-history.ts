import { randomBytes } from 'node:crypto';
import type { RoomEvent } from '@roomcast/protocol';
import type {
  AppendOptions,
  HistoryPage,
  HistoryPosition,
  HistoryStore,
  NewRoomEvent,
  SeqRange,
  StoreAppendResult,
} from '../../core/ports/room-history.ts';
import { LuaScript, type RedisClient, replyArray, replyNumber, replyString } from './lua-script.ts';
import type { RedisKeys } from './redis-keys.ts';

export interface RedisRoomHistoryOptions {
  redis: RedisClient;
  keys: RedisKeys;
  /** Newest events kept per room. */
  capacity: number;
  /** A room untouched (no append, read or position) for this long loses its history and epoch. */
  idleTtlMs: number;
}

const APPEND = new LuaScript('append-history-event');
const READ = new LuaScript('read-history-page');
const RESERVE = new LuaScript('reserve-history-range');

/** 72 random bits, as in the memory adapter; only used when the room has no epoch yet. */
function epochCandidate(): string {
  return randomBytes(9).toString('base64url');
}

/** What is stored per event: everything but the seq, which follows from the event's list position. */
type StoredEvent = Omit<RoomEvent, 'seq'>;

/**
 * RedisRoomHistory: a HistoryStore in two keys per room, `history:{room}:meta` (hash: `seq`
 * counter, `epoch`, the reserved range's `floor` and `ceiling`) and `history:{room}:events` (list of
 * event JSON, oldest first), plus `history:{room}:key:<user>:<key>` per idempotent publish.
 *
 * Guarantees the port's contract across processes: each append is one Lua script (idempotency
 * check, ceiling check, HSET, RPUSH, LTRIM, PEXPIRE), so seqs are strictly increasing and gap-free
 * under concurrent appends from any number of clients, and the list always holds the newest
 * `capacity` events without gaps, which is why no seq is stored per event. Counter, epoch and range
 * live in one hash, so if Redis loses the room (restart, eviction, idle expiry) they go together
 * and the next append answers `unreserved`: the core reserves above the durable ceiling and the
 * room continues there under a new epoch. Reads go through a script too, to see counter and list
 * at one instant and to refresh the idle TTL.
 */
export class RedisRoomHistory implements HistoryStore {
  readonly #redis: RedisClient;
  readonly #keys: RedisKeys;
  readonly #capacity: number;
  readonly #idleTtlMs: number;

  constructor(options: RedisRoomHistoryOptions) {
    if (!Number.isSafeInteger(options.capacity) || options.capacity < 1) {
      throw new RangeError(`history capacity must be a positive integer, got ${options.capacity}`);
    }
    if (!Number.isSafeInteger(options.idleTtlMs) || options.idleTtlMs < 1) {
      throw new RangeError(`history idleTtlMs must be a positive integer, got ${options.idleTtlMs}`);
    }
    this.#redis = options.redis;
    this.#keys = options.keys;
    this.#capacity = options.capacity;
    this.#idleTtlMs = options.idleTtlMs;
  }

  async append(room: string, event: NewRoomEvent, options: AppendOptions = {}): Promise<StoreAppendResult> {
    const stored: StoredEvent = { type: event.type, from: event.from, data: event.data, ts: event.ts };
    const { idempotency } = options;
    const keys = this.#roomKeys(room);
    const args: Array<string | number> = [JSON.stringify(stored), this.#capacity, this.#idleTtlMs];
    if (idempotency !== undefined) {
      keys.push(this.#keys.historyIdempotency(room, idempotency.key));
      args.push(idempotency.fingerprint, Math.max(1, Math.floor(idempotency.windowMs)));
    }
    const reply = replyArray(await APPEND.run(this.#redis, keys, args), APPEND.name);
    const kind = replyString(reply[0], APPEND.name);
    switch (kind) {
      case 'conflict':
        return { kind };
      case 'unreserved':
        return { kind, ceiling: replyNumber(reply[1], APPEND.name) };
      case 'appended':
      case 'replayed':
        return {
          kind,
          seq: replyNumber(reply[1], APPEND.name),
          epoch: replyString(reply[2], APPEND.name),
          floor: replyNumber(reply[3], APPEND.name),
        };
      default:
        throw new TypeError(`${APPEND.name} returned the unknown outcome ${kind}`);
    }
  }

  async idempotencyRecord(
    room: string,
    key: string,
  ): Promise<{ seq: number; fingerprint: string } | undefined> {
    const [seq, fingerprint] = await this.#redis.hmget(
      this.#keys.historyIdempotency(room, key),
      'seq',
      'fingerprint',
    );
    if (seq === null || seq === undefined || fingerprint === null || fingerprint === undefined)
      return undefined;
    return { seq: Number(seq), fingerprint };
  }

  async reserve(room: string, range: SeqRange): Promise<void> {
    await RESERVE.run(this.#redis, this.#roomKeys(room), [
      range.floor,
      range.ceiling,
      this.#idleTtlMs,
      epochCandidate(),
    ]);
  }

  async read(room: string, after: number, limit: number): Promise<HistoryPage> {
    return this.#read(room, Math.floor(after), Math.max(0, Math.floor(limit)));
  }

  async position(room: string): Promise<HistoryPosition> {
    const { top, epoch, floor } = await this.#read(room, 0, 0);
    return { top, epoch, floor };
  }

  async #read(room: string, after: number, limit: number): Promise<HistoryPage> {
    const reply = replyArray(
      await READ.run(this.#redis, this.#roomKeys(room), [after, limit, this.#idleTtlMs, epochCandidate()]),
      READ.name,
    );
    const [epoch, top, oldest, first, floor, ...stored] = reply;
    const firstSeq = replyNumber(first, READ.name);
    const events = stored.map((json, i): RoomEvent => {
      const e = JSON.parse(replyString(json, READ.name)) as StoredEvent;
      return { seq: firstSeq + i, type: e.type, from: e.from, data: e.data, ts: e.ts };
    });
    return {
      events,
      top: replyNumber(top, READ.name),
      oldest: replyNumber(oldest, READ.name),
      epoch: replyString(epoch, READ.name),
      floor: replyNumber(floor, READ.name),
    };
  }

  #roomKeys(room: string): string[] {
    return [this.#keys.historyMeta(room), this.#keys.historyEvents(room)];
  }
}
