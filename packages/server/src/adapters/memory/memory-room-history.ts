import { randomBytes } from 'node:crypto';
import type { RoomEvent } from '@roomcast/protocol';
import type { ModerationStore } from '../../core/ports/moderation.ts';
import type { RateLimits } from '../../core/ports/rate-limits.ts';
import type {
  AppendGuard,
  AppendIdempotency,
  AppendOptions,
  HistoryPage,
  HistoryPosition,
  HistoryStore,
  NewRoomEvent,
  SeqRange,
  StoreAppendResult,
} from '../../core/ports/room-history.ts';

export interface MemoryRoomHistoryOptions {
  /** Newest events kept per room. */
  capacity: number;
  /** A room untouched (no append, read or position) for this long loses its history and epoch. */
  idleTtlMs: number;
  /** Clock in ms since the epoch; tests inject one to skip time. Defaults to Date.now. */
  now?: () => number;
  /** Where an append's guard finds restrictions and rate windows (the other memory collections). */
  guard?: { moderation: ModerationStore; rateLimits: RateLimits };
}

interface RoomLog {
  readonly epoch: string;
  /** The newest seq assigned in this epoch (`floor` before the first). */
  top: number;
  /** The epoch's seqs are all above this one. */
  floor: number;
  /** The highest seq this log may issue; 0 until a range is reserved. */
  ceiling: number;
  /**
   * The retained events: seq s lives at index (s - 1) % capacity. The array grows to capacity and
   * then wraps, so trimming costs nothing and a read finds any seq by arithmetic.
   */
  readonly ring: RoomEvent[];
  /** Idempotency keys of recent appends, oldest first (one fixed window, so also soonest to expire). */
  readonly keys: Map<string, { seq: number; fingerprint: string; expiresAt: number }>;
  touchedAt: number;
}

/** 72 random bits: unique enough that a cursor never meets another incarnation's epoch. */
function newEpoch(): string {
  return randomBytes(9).toString('base64url');
}

/**
 * MemoryRoomHistory: a HistoryStore in a ring buffer per room.
 *
 * Guarantees the port's contract within one process (appends are synchronous, hence atomic).
 * `read` costs O(limit) whatever the capacity, since reconnect storms read many rooms at once.
 * An idle room is dropped lazily when next touched and by a sweep timer that does not keep the
 * process alive; `close` stops that timer.
 *
 * Returned events are the stored objects, not copies: callers must treat them as read-only.
 */
export class MemoryRoomHistory implements HistoryStore {
  readonly #rooms = new Map<string, RoomLog>();
  readonly #capacity: number;
  readonly #idleTtlMs: number;
  readonly #now: () => number;
  readonly #sweeper: NodeJS.Timeout;
  readonly #guard: MemoryRoomHistoryOptions['guard'];

  constructor(options: MemoryRoomHistoryOptions) {
    if (!Number.isSafeInteger(options.capacity) || options.capacity < 1) {
      throw new RangeError(`history capacity must be a positive integer, got ${options.capacity}`);
    }
    if (!(options.idleTtlMs > 0)) {
      throw new RangeError(`history idleTtlMs must be positive, got ${options.idleTtlMs}`);
    }
    this.#capacity = options.capacity;
    this.#idleTtlMs = options.idleTtlMs;
    this.#now = options.now ?? Date.now;
    this.#guard = options.guard;
    // Lazy expiry keeps reads correct; the sweep only frees memory, so a coarse period is enough.
    const sweepMs = Math.min(Math.max(options.idleTtlMs, 1_000), 60_000);
    this.#sweeper = setInterval(() => this.#sweep(), sweepMs).unref();
  }

  async append(room: string, event: NewRoomEvent, options: AppendOptions = {}): Promise<StoreAppendResult> {
    if (options.guard !== undefined) {
      // A retry of a stored publish is answered before the checks, as on Redis; and `unreserved`
      // too, or the retry after the reservation would take from the rate windows twice.
      const log = this.#touch(room);
      const early = this.#replay(log, options.idempotency) ?? this.#unreserved(log);
      if (early !== undefined) return early;
      const refused = await this.#check(room, options.guard);
      if (refused !== undefined) return refused;
    }
    return this.#append(this.#touch(room), event, options);
  }

  /** The answer to a retry of a key appended within its window, if this is one. */
  #replay(log: RoomLog, idempotency: AppendIdempotency | undefined): StoreAppendResult | undefined {
    if (idempotency === undefined) return undefined;
    const now = this.#now();
    // Kept oldest first: the lapsed ones are at the front.
    for (const [key, record] of log.keys) {
      if (record.expiresAt > now) break;
      log.keys.delete(key);
    }
    const prior = log.keys.get(idempotency.key);
    if (prior === undefined) return undefined;
    return prior.fingerprint === idempotency.fingerprint
      ? { kind: 'replayed', seq: prior.seq, epoch: log.epoch, floor: log.floor }
      : { kind: 'conflict' };
  }

  #unreserved(log: RoomLog): StoreAppendResult | undefined {
    return log.top >= log.ceiling
      ? { kind: 'unreserved', ceiling: Math.max(log.ceiling, log.top) }
      : undefined;
  }

  /** The guard's checks, in order; the append that follows is synchronous, hence still atomic. */
  async #check(room: string, guard: AppendGuard): Promise<StoreAppendResult | undefined> {
    const stores = this.#guard;
    if (stores === undefined) throw new Error('this history store was built without guard stores');
    if (guard.restrictedUser !== undefined) {
      const status = await stores.moderation.status(room, guard.restrictedUser);
      if (status.bannedUntil !== null) return { kind: 'refused', reason: 'banned' };
      if (status.mutedUntil !== null) return { kind: 'refused', reason: 'muted' };
    }
    for (const window of guard.windows) {
      const decision = await stores.rateLimits.consume(window.key, window.perSecond);
      if (!decision.allowed) {
        return {
          kind: 'refused',
          reason: 'rate_limited',
          scope: window.scope,
          retryAfterMs: decision.retryAfterMs,
        };
      }
    }
    return undefined;
  }

  #append(log: RoomLog, event: NewRoomEvent, options: AppendOptions): StoreAppendResult {
    const now = this.#now();
    const { idempotency } = options;
    const early = this.#replay(log, idempotency) ?? this.#unreserved(log);
    if (early !== undefined) return early;
    const seq = ++log.top;
    const stored: RoomEvent = { seq, type: event.type, from: event.from, data: event.data, ts: event.ts };
    // Ring slots count from the epoch's floor, so the array starts at index 0 in every epoch.
    const index = (seq - log.floor - 1) % this.#capacity;
    if (index === log.ring.length) log.ring.push(stored);
    else log.ring[index] = stored;
    if (idempotency !== undefined) {
      log.keys.set(idempotency.key, {
        seq,
        fingerprint: idempotency.fingerprint,
        expiresAt: now + idempotency.windowMs,
      });
    }
    return { kind: 'appended', seq, epoch: log.epoch, floor: log.floor };
  }

  async idempotencyRecord(
    room: string,
    key: string,
  ): Promise<{ seq: number; fingerprint: string } | undefined> {
    const record = this.#touch(room).keys.get(key);
    if (record === undefined || record.expiresAt <= this.#now()) return undefined;
    return { seq: record.seq, fingerprint: record.fingerprint };
  }

  async reserve(room: string, range: SeqRange): Promise<void> {
    const log = this.#touch(room);
    if (log.ceiling === 0) {
      log.top = range.floor;
      log.floor = range.floor;
      log.ring.length = 0;
    }
    log.ceiling = Math.max(log.ceiling, range.ceiling);
  }

  async read(room: string, after: number, limit: number): Promise<HistoryPage> {
    const log = this.#touch(room);
    const oldest = this.#oldest(log);
    const first = Math.max(Math.floor(after) + 1, oldest);
    const last = Math.min(log.top, first + Math.floor(limit) - 1);
    const events: RoomEvent[] = [];
    for (let seq = first; seq <= last; seq++) {
      const event = log.ring[(seq - log.floor - 1) % this.#capacity];
      if (event !== undefined) events.push(event);
    }
    return { events, top: log.top, epoch: log.epoch, floor: log.floor, oldest };
  }

  async position(room: string): Promise<HistoryPosition> {
    const log = this.#touch(room);
    return { top: log.top, epoch: log.epoch, floor: log.floor };
  }

  /** Stops the sweep timer. The history stays usable (lazy expiry still applies). */
  close(): void {
    clearInterval(this.#sweeper);
  }

  /** top + 1 when empty, as the port asks. */
  #oldest(log: RoomLog): number {
    return Math.max(log.floor + 1, log.top - this.#capacity + 1);
  }

  /** The room's live log, created (with a new epoch) when missing or idle for too long. */
  #touch(room: string): RoomLog {
    const now = this.#now();
    const log = this.#rooms.get(room);
    if (log !== undefined && now - log.touchedAt < this.#idleTtlMs) {
      log.touchedAt = now;
      return log;
    }
    const fresh: RoomLog = {
      epoch: newEpoch(),
      top: 0,
      floor: 0,
      ceiling: 0,
      ring: [],
      keys: new Map(),
      touchedAt: now,
    };
    this.#rooms.set(room, fresh);
    return fresh;
  }

  #sweep(): void {
    const now = this.#now();
    for (const [room, log] of this.#rooms) {
      if (now - log.touchedAt >= this.#idleTtlMs) this.#rooms.delete(room);
    }
  }
}
