import { randomFillSync } from 'node:crypto';
import type { RoomEvent } from '@roomcast/protocol';
import type {
  AppendOptions,
  GuardWindow,
  HistoryPage,
  HistoryPosition,
  HistoryStore,
  NewRoomEvent,
  SeqRange,
  StoreAppendResult,
} from '../../core/ports/room-history.ts';
import {
  LuaScript,
  type RedisClient,
  replyArray,
  replyNumber,
  replyString,
  type ScriptReply,
} from './lua-script.ts';
import type { RedisKeys } from './redis-keys.ts';

export interface RedisRoomHistoryOptions {
  redis: RedisClient;
  keys: RedisKeys;
  /** Newest events kept per room. */
  capacity: number;
  /** A room untouched (no append, read or position) for this long loses its history and epoch. */
  idleTtlMs: number;
  /** Clock in ms since the epoch, for restriction lapses. Defaults to Date.now. */
  now?: () => number;
  /**
   * Fence against failovers (replicated shards): a room last written under another master's
   * replication ID starts over above the durable ceiling, under a new epoch, instead of going on
   * from a copy that may have missed acknowledged appends (and would issue their seqs again).
   * Costs an INFO per append; also fences after a restart, which drops the room's history.
   */
  failoverFence?: boolean;
}

const APPEND = new LuaScript('append-history-event');
const READ = new LuaScript('read-history-page');
const RESERVE = new LuaScript('reserve-history-range');

const EPOCH_BYTES = 9;

/**
 * Epoch candidates of 72 random bits, as in the memory adapter (used only when a room has no epoch
 * yet). Every read sends one, so the random bytes are drawn 512 candidates at a time: a draw per
 * read showed in profiles of the gateways' position checks.
 */
class EpochCandidates {
  readonly #pool = Buffer.alloc(EPOCH_BYTES * 512);
  #offset = this.#pool.length;

  next(): string {
    if (this.#offset === this.#pool.length) {
      randomFillSync(this.#pool);
      this.#offset = 0;
    }
    const candidate = this.#pool.toString('base64url', this.#offset, this.#offset + EPOCH_BYTES);
    this.#offset += EPOCH_BYTES;
    return candidate;
  }
}

/** What is stored per event: everything but the seq, which follows from the event's list position. */
type StoredEvent = Omit<RoomEvent, 'seq'>;

/**
 * RedisRoomHistory: a HistoryStore in two keys per room, `history:{room}:meta` (hash: `seq`
 * counter, `epoch`, the reserved range's `floor` and `ceiling`) and `history:{room}:events` (list of
 * event JSON, oldest first), plus `history:{room}:key:<user>:<key>` per idempotent publish.
 *
 * Guarantees the port's contract across processes: each append is one Lua script (idempotency
 * check, the guard's restriction and rate-window checks, ceiling check, HSET, RPUSH, LTRIM,
 * PEXPIRE), so a user's comment costs one round trip, and seqs are strictly increasing and gap-free
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
  readonly #now: () => number;
  readonly #epochs = new EpochCandidates();
  readonly #fence: '0' | '1';

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
    this.#now = options.now ?? Date.now;
    this.#fence = options.failoverFence === true ? '1' : '0';
  }

  async append(room: string, event: NewRoomEvent, options: AppendOptions = {}): Promise<StoreAppendResult> {
    const stored: StoredEvent = { type: event.type, from: event.from, data: event.data, ts: event.ts };
    const { idempotency, guard } = options;
    const meta = this.#keys.historyMeta(room);
    const events = this.#keys.historyEvents(room);
    const windows = guard?.windows ?? [];
    const restricted = guard?.restrictedUser;
    const keys = [
      meta,
      events,
      idempotency === undefined ? meta : this.#keys.historyIdempotency(room, idempotency.key),
      restricted === undefined ? meta : this.#keys.restrictions(room, restricted),
      ...windows.map((window) => this.#keys.roomRateWindow(room, window.key, window.perSecond)),
    ];
    const args: Array<string | number> = [
      JSON.stringify(stored),
      this.#capacity,
      this.#idleTtlMs,
      idempotency?.fingerprint ?? '',
      idempotency === undefined ? 0 : Math.max(1, Math.floor(idempotency.windowMs)),
      this.#now(),
      restricted === undefined ? '0' : '1',
      this.#fence,
      ...windows.map((window) => window.perSecond),
    ];
    const reply = replyArray(await APPEND.run(this.#redis, keys, args), APPEND.name);
    const kind = replyString(reply[0], APPEND.name);
    switch (kind) {
      case 'conflict':
        return { kind };
      case 'unreserved':
        return { kind, ceiling: replyNumber(reply[1], APPEND.name) };
      case 'refused':
        return this.#refusal(reply, windows);
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

  #refusal(reply: ScriptReply[], windows: readonly GuardWindow[]): StoreAppendResult {
    const reason = replyString(reply[1], APPEND.name);
    if (reason === 'banned' || reason === 'muted') return { kind: 'refused', reason };
    const window = windows[replyNumber(reply[2], APPEND.name) - 1];
    if (reason !== 'rate_limited' || window === undefined)
      throw new TypeError(`${APPEND.name} refused for the unknown reason ${reason}`);
    // At least 1 ms: a hint of 0 would invite an immediate retry that is refused again.
    const retryAfterMs = Math.max(1, replyNumber(reply[3], APPEND.name));
    return { kind: 'refused', reason, scope: window.scope, retryAfterMs };
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
      this.#epochs.next(),
      this.#fence,
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
      await READ.run(this.#redis, this.#roomKeys(room), [after, limit, this.#idleTtlMs, this.#epochs.next()]),
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
