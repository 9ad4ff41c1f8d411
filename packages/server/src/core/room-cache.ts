import type { Room } from '@roomcast/protocol';
import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import { z } from 'zod';
import { KeyedLoads } from './keyed-loads.ts';
import type { KvRecords } from './kv-records.ts';
import type { MessageBus } from './ports/bus.ts';

/** Bus channel on which every process hears that a room changed (ended, retitled). */
export const ROOM_CHANGES_CHANNEL = 'rooms.changed';

export interface RoomCacheOptions {
  /** Rooms kept at most. */
  max: number;
  /** How long a live room is kept while this process hears room changes on the bus. */
  ttlMs: number;
  /** How long while it does not (not subscribed yet, or the bus reconnected and changes were missed). */
  unwatchedTtlMs: number;
  /**
   * Room records in the shared KvCache (memcached peer clusters), which a miss here reads through
   * before the rooms database; without it a miss reads the database.
   */
  records?: KvRecords<Room>;
  /** Called on every lookup: whether this process's copy answered it (metrics). */
  onLookup?: (hit: boolean) => void;
  logger?: Logger;
}

/** A room record as the KvCache holds it (JSON of the protocol's Room). */
export const roomRecordSchema: z.ZodType<Room> = z
  .object({
    id: z.string().min(1).max(128),
    hostId: z.string().min(1).max(128),
    title: z.string().max(1_000),
    visibility: z.enum(['public', 'private']),
    status: z.enum(['live', 'ended']),
    startedAt: z.string().max(64),
    endedAt: z.string().max(64).nullable(),
  })
  .strict();

const changeSchema = z.object({ room: z.string().min(1).max(128) }).strict();
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * The rooms a process looked up, so hot paths (every publish, join and pull) do not read the rooms
 * database each time. A room changes only by ending or by a new title; the process that makes the
 * change announces it on the bus and every process forgets its copy at once, so a live room can
 * be kept for `ttlMs` instead of being re-read every few seconds. The bus is at-most-once: while
 * this process is not subscribed, and right after the bus reconnected (changes published in
 * between were lost), live rooms are kept only `unwatchedTtlMs`. Ended rooms never change again
 * and stay until evicted. Concurrent misses for one room share one read, which goes through the
 * shared KvCache (`records`) before the database.
 */
export class RoomCache {
  private readonly rooms: LRUCache<string, Room>;
  /** A read that started before a change was heard may be stale: its answer is not kept. */
  private readonly loads = new KeyedLoads<string, Room | undefined>();
  private watching = false;

  constructor(private readonly options: RoomCacheOptions) {
    this.rooms = new LRUCache<string, Room>({ max: options.max, ttlAutopurge: false });
  }

  /**
   * Subscribes to room changes on `bus`. Until it resolves, and after every bus reconnect, the
   * short TTL holds. Rejects when the bus refuses the subscription (the caller retries).
   */
  async watch(bus: MessageBus): Promise<void> {
    await bus.subscribe(ROOM_CHANGES_CHANNEL, (payload) => {
      const room = decodeRoomChange(payload);
      if (room === undefined) {
        this.options.logger?.warn({ bytes: payload.byteLength }, 'dropped a malformed room change');
        return;
      }
      this.forget(room);
    });
    // For the process's life: the bus's close ends the subscription.
    bus.onReconnect(() => this.forgetAll());
    this.watching = true;
  }

  /** The cached room, or `load()`'s (shared by concurrent callers); undefined when absent. */
  async get(roomId: string, load: () => Promise<Room | undefined>): Promise<Room | undefined> {
    const cached = this.rooms.get(roomId);
    this.options.onLookup?.(cached !== undefined);
    if (cached !== undefined) return cached;
    return this.loads.run(roomId, async (isStale) => {
      const records = this.options.records;
      const room = await (records === undefined ? load() : records.get(roomId, load));
      if (room !== undefined && !isStale()) this.store(room);
      return room;
    });
  }

  /**
   * This process changed `room` (ended or retitled it): keeps the new version here and removes the
   * old one from the shared KvCache, before the caller tells the other processes (who then read
   * the new version through it). A KvCache failure does not fail the change: its TTL bounds it.
   */
  async changed(room: Room): Promise<void> {
    this.set(room);
    await this.options.records?.invalidate(room.id).catch((err: unknown) => {
      this.options.logger?.warn({ err, roomId: room.id }, 'room record not invalidated in the KvCache');
    });
  }

  /**
   * Keeps `room` as this process now knows it (it created, ended or retitled it). A read of the room
   * still running started before this change, so its answer is not kept over this one.
   */
  set(room: Room): void {
    this.loads.invalidate(room.id);
    this.store(room);
  }

  private store(room: Room): void {
    const ttl =
      room.status === 'ended' ? 0 : this.watching ? this.options.ttlMs : this.options.unwatchedTtlMs;
    this.rooms.set(room.id, room, { ttl });
  }

  /** Drops one room (another process changed it). */
  forget(roomId: string): void {
    this.loads.invalidate(roomId);
    this.rooms.delete(roomId);
  }

  /** Drops every live room: changes may have been missed. Ended rooms cannot change and stay. */
  forgetAll(): void {
    this.loads.invalidateAll();
    for (const [id, room] of this.rooms.entries()) if (room.status !== 'ended') this.rooms.delete(id);
  }
}

const ANNOUNCE_ATTEMPTS = 3;
const ANNOUNCE_RETRY_MS = 1_000;

/**
 * Tells every process on `bus` that `roomId` changed. Retried a few times in the background: a
 * process that misses it keeps its copy until its TTL, unless its own bus reconnect clears it.
 */
export function announceRoomChange(bus: MessageBus, roomId: string, logger?: Logger): void {
  const payload = encoder.encode(JSON.stringify({ room: roomId }));
  const attempt = (left: number): void => {
    bus.publish(ROOM_CHANGES_CHANNEL, payload).catch((err: unknown) => {
      if (left > 1) {
        setTimeout(() => attempt(left - 1), ANNOUNCE_RETRY_MS).unref();
        return;
      }
      logger?.warn(
        { err, roomId },
        'room change not announced; other processes keep their copy until its TTL',
      );
    });
  };
  attempt(ANNOUNCE_ATTEMPTS);
}

function decodeRoomChange(payload: Uint8Array): string | undefined {
  try {
    const parsed = changeSchema.safeParse(JSON.parse(decoder.decode(payload)));
    return parsed.success ? parsed.data.room : undefined;
  } catch {
    return undefined;
  }
}
