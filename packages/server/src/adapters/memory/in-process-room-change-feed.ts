import type { Room } from '@roomcast/protocol';
import { regionOf } from '@roomcast/protocol';
import type { RoomChange, RoomChangeFeed, RoomChangeHandler } from '../../core/ports/room-change-feed.ts';
import type { SeqRange } from '../../core/ports/room-history.ts';
import type {
  EndedRoomsCursor,
  LiveRoomsCursor,
  LiveRoomsPage,
  NewRoom,
  RoomRepository,
} from '../../core/ports/rooms.ts';

/**
 * The rooms change feed of `roomcast dev`: the process's own room writes, told by
 * `ObservedRoomRepository` once they returned. One process is the whole deployment there, so
 * there is no log to resume from: a restart starts with a fresh feed (its consumers rebuild from
 * a scan). Changes are handled one at a time, in order; a handler that fails gets the same
 * change again after `retryMs`.
 */
export class InProcessRoomChangeFeed implements RoomChangeFeed {
  private handler: RoomChangeHandler | undefined;
  private readonly queue: RoomChange[] = [];
  private draining = false;
  private closed = false;

  constructor(private readonly retryMs = 1_000) {}

  async start(handler: RoomChangeHandler): Promise<void> {
    this.handler = handler;
    this.closed = false;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.handler = undefined;
    this.queue.length = 0;
  }

  /** A room write committed (ObservedRoomRepository calls this). */
  record(region: string, room: Room, leftShard = false): void {
    if (this.handler === undefined || this.closed) return;
    this.queue.push(leftShard ? { region, room, leftShard } : { region, room });
    void this.drain();
  }

  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.queue.length > 0 && !this.closed && this.handler !== undefined) {
        try {
          await this.handler(this.queue[0] as RoomChange);
          this.queue.shift();
        } catch {
          await new Promise((resolve) => setTimeout(resolve, this.retryMs));
        }
      }
    } finally {
      this.draining = false;
    }
  }
}

/**
 * A RoomRepository that tells an in-process feed about every room it created, ended, retitled or
 * moved to the archive by ID.
 */
export class ObservedRoomRepository implements RoomRepository {
  constructor(
    private readonly inner: RoomRepository,
    private readonly feed: InProcessRoomChangeFeed,
  ) {}

  async create(room: NewRoom): Promise<Room> {
    return this.told(await this.inner.create(room));
  }

  async end(id: string, endedAt: Date): Promise<Room | undefined> {
    return this.told(await this.inner.end(id, endedAt));
  }

  async retitle(id: string, title: string): Promise<Room | undefined> {
    return this.told(await this.inner.retitle(id, title));
  }

  get(id: string): Promise<Room | undefined> {
    return this.inner.get(id);
  }

  reserve(room: string, above: number, count: number): Promise<SeqRange> {
    return this.inner.reserve(room, above, count);
  }

  async moveToArchive(id: string): Promise<boolean> {
    const moved = await this.inner.moveToArchive(id);
    // The archive's copy is the room's last record; telling a room that was archived before
    // again is harmless (consumers are idempotent).
    if (moved) {
      const room = await this.inner.get(id);
      if (room !== undefined) this.feed.record(regionOf(id) ?? '', room, true);
    }
    return moved;
  }

  /** Rooms moved this way are not told one by one: the feed's consumers learn of them at their next scan. */
  moveEndedToArchive(region: string, options: { endedBefore: Date; limit: number }): Promise<number> {
    return this.inner.moveEndedToArchive(region, options);
  }

  listEndedInShard(region: string, limit: number, after?: EndedRoomsCursor): Promise<Room[]> {
    return this.inner.listEndedInShard(region, limit, after);
  }

  listLive(limit: number, after?: LiveRoomsCursor): Promise<LiveRoomsPage> {
    return this.inner.listLive(limit, after);
  }

  ping(): Promise<void> {
    return this.inner.ping();
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private told<T extends Room | undefined>(room: T): T {
    // Stored IDs are validated `<region>_<rest>`.
    if (room !== undefined) this.feed.record(regionOf(room.id) ?? '', room);
    return room;
  }
}
