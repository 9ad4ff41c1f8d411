import { randomBytes } from 'node:crypto';
import type { RoomEvent } from '@roomcast/protocol';
import type {
  HistoryPage,
  HistoryPosition,
  NewRoomEvent,
  RoomHistory,
} from '../../core/ports/room-history.ts';

export interface MemoryRoomHistoryOptions {
  /** Newest events kept per room. */
  capacity: number;
  /** A room untouched (no append, read or position) for this long loses its history and epoch. */
  idleTtlMs: number;
  /** Clock in ms since the epoch; tests inject one to skip time. Defaults to Date.now. */
  now?: () => number;
}

interface RoomLog {
  readonly epoch: string;
  /** The newest seq assigned in this epoch. */
  top: number;
  /**
   * The retained events: seq s lives at index (s - 1) % capacity. The array grows to capacity and
   * then wraps, so trimming costs nothing and a read finds any seq by arithmetic.
   */
  readonly ring: RoomEvent[];
  touchedAt: number;
}

/** 72 random bits: unique enough that a cursor never meets another incarnation's epoch. */
function newEpoch(): string {
  return randomBytes(9).toString('base64url');
}

/**
 * MemoryRoomHistory: RoomHistory in a ring buffer per room.
 *
 * Guarantees the port's contract within one process (appends are synchronous, hence atomic).
 * `read` costs O(limit) whatever the capacity, since reconnect storms read many rooms at once.
 * An idle room is dropped lazily when next touched and by a sweep timer that does not keep the
 * process alive; `close` stops that timer.
 *
 * Returned events are the stored objects, not copies: callers must treat them as read-only.
 */
export class MemoryRoomHistory implements RoomHistory {
  readonly #rooms = new Map<string, RoomLog>();
  readonly #capacity: number;
  readonly #idleTtlMs: number;
  readonly #now: () => number;
  readonly #sweeper: NodeJS.Timeout;

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
    // Lazy expiry keeps reads correct; the sweep only frees memory, so a coarse period is enough.
    const sweepMs = Math.min(Math.max(options.idleTtlMs, 1_000), 60_000);
    this.#sweeper = setInterval(() => this.#sweep(), sweepMs).unref();
  }

  async append(room: string, event: NewRoomEvent): Promise<{ seq: number; epoch: string }> {
    const log = this.#touch(room);
    const seq = ++log.top;
    const stored: RoomEvent = { seq, type: event.type, from: event.from, data: event.data, ts: event.ts };
    const index = (seq - 1) % this.#capacity;
    if (index === log.ring.length) log.ring.push(stored);
    else log.ring[index] = stored;
    return { seq, epoch: log.epoch };
  }

  async read(room: string, after: number, limit: number): Promise<HistoryPage> {
    const log = this.#touch(room);
    const oldest = this.#oldest(log);
    const first = Math.max(Math.floor(after) + 1, oldest);
    const last = Math.min(log.top, first + Math.floor(limit) - 1);
    const events: RoomEvent[] = [];
    for (let seq = first; seq <= last; seq++) {
      const event = log.ring[(seq - 1) % this.#capacity];
      if (event !== undefined) events.push(event);
    }
    return { events, top: log.top, epoch: log.epoch, oldest };
  }

  async position(room: string): Promise<HistoryPosition> {
    const log = this.#touch(room);
    return { top: log.top, epoch: log.epoch };
  }

  /** Stops the sweep timer. The history stays usable (lazy expiry still applies). */
  close(): void {
    clearInterval(this.#sweeper);
  }

  /** top + 1 when empty, as the port asks: max(1, 1 - capacity) is 1 when top is 0. */
  #oldest(log: RoomLog): number {
    return Math.max(1, log.top - this.#capacity + 1);
  }

  /** The room's live log, created (with a new epoch) when missing or idle for too long. */
  #touch(room: string): RoomLog {
    const now = this.#now();
    const log = this.#rooms.get(room);
    if (log !== undefined && now - log.touchedAt < this.#idleTtlMs) {
      log.touchedAt = now;
      return log;
    }
    const fresh: RoomLog = { epoch: newEpoch(), top: 0, ring: [], touchedAt: now };
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
