import type { Room } from '@roomcast/protocol';
import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { MessageBus } from './ports/bus.ts';
import { SingleFlight } from './single-flight.ts';

/** Bus channel on which every process hears that a room changed (ended, retitled). */
export const ROOM_CHANGES_CHANNEL = 'rooms.changed';

export interface RoomCacheOptions {
  /** Rooms kept at most. */
  max: number;
  /** How long a live room is kept while this process hears room changes on the bus. */
  ttlMs: number;
  /** How long while it does not (not subscribed yet, or the bus reconnected and changes were missed). */
  unwatchedTtlMs: number;
  logger?: Logger;
}

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
 * and stay until evicted. Concurrent misses for one room share one read.
 */
export class RoomCache {
  private readonly rooms: LRUCache<string, Room>;
  private readonly loads = new SingleFlight<string, Room | undefined>();
  /** Rooms whose running read started before a change was heard: it may be stale and is not kept. */
  private readonly staleLoads = new Set<string>();
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
    if (cached !== undefined) return cached;
    return this.loads.run(roomId, async () => {
      this.staleLoads.delete(roomId);
      try {
        const room = await load();
        if (room !== undefined && !this.staleLoads.has(roomId)) this.store(room);
        return room;
      } finally {
        this.staleLoads.delete(roomId);
      }
    });
  }

  /**
   * Keeps `room` as this process now knows it (it created, ended or retitled it). A read of the room
   * still running started before this change, so its answer is not kept over this one.
   */
  set(room: Room): void {
    if (this.loads.has(room.id)) this.staleLoads.add(room.id);
    this.store(room);
  }

  private store(room: Room): void {
    const ttl =
      room.status === 'ended' ? 0 : this.watching ? this.options.ttlMs : this.options.unwatchedTtlMs;
    this.rooms.set(room.id, room, { ttl });
  }

  /** Drops one room (another process changed it). */
  forget(roomId: string): void {
    if (this.loads.has(roomId)) this.staleLoads.add(roomId);
    this.rooms.delete(roomId);
  }

  /** Drops every live room: changes may have been missed. Ended rooms cannot change and stay. */
  forgetAll(): void {
    for (const roomId of this.loads.keys()) this.staleLoads.add(roomId);
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
