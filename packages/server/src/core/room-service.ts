import { isCleanLine, isRoomId, type Room, type RoomVisibility, regionOf } from '@roomcast/protocol';
import type { Logger } from 'pino';
import type { RoomcastMetrics } from '../observability/metrics.ts';
import { fail, RoomcastError } from './errors.ts';
import { type Identity, isPrivileged } from './identity.ts';
import { decodeLiveRoomsCursor, encodeLiveRoomsCursor } from './live-rooms-cursor.ts';
import {
  ArchiveUnavailableError,
  HostHasLiveRoomError,
  type RoomRepository,
  ShardUnavailableError,
} from './ports/rooms.ts';
import type { RoomCache } from './room-cache.ts';
import { newRoomId } from './room-ids.ts';

export interface RoomServiceOptions {
  regions: readonly string[];
  /** This process's rooms, so hot paths (publish, join, pull) do not hit the shard each time. */
  cache: RoomCache;
  /**
   * Tells every process that a room changed (ended, retitled), so they drop their cached copy.
   * Best effort: it handles its own failures (the change is durable either way).
   */
  announceChange: (roomId: string) => void;
  titleMaxChars: number;
  metrics?: RoomcastMetrics;
  logger?: Logger;
}

/** A page of `GET /v1/rooms?status=live`. */
export interface LiveRoomsList {
  rooms: Room[];
  /** Pass as `cursor` for the next page; null when there is none. */
  next: string | null;
  /** Regions whose shard is down: their rooms are missing from this page. */
  unavailableRegions: string[];
}

/** What happens around a room's end besides the database: events, closing subscriptions. */
export interface RoomEndListener {
  roomEnded(room: Room): Promise<void>;
}

/**
 * What happens when a room starts besides the database (its ledger accounts). Called after the
 * room is stored and before `create` returns; a listener handles its own failures, because the
 * room exists either way.
 */
export interface RoomStartListener {
  roomStarted(room: Room): Promise<void>;
}

/**
 * Rooms: creation, lookup with access checks, and ending. The relational store is the source of
 * truth; each process caches the rooms it looked up (RoomCache), and the process that ends or
 * retitles a room updates its own copy at once and tells the others over the bus.
 */
export class RoomService {
  private readonly endListeners: RoomEndListener[] = [];
  private readonly startListeners: RoomStartListener[] = [];

  constructor(
    private readonly repository: RoomRepository,
    private readonly options: RoomServiceOptions,
  ) {}

  /** Adds a listener called, in the order added, when a call to `end` ended a live room. */
  onRoomEnd(listener: RoomEndListener): void {
    this.endListeners.push(listener);
  }

  /** Adds a listener called, in the order added, when `create` stored a new room. */
  onRoomStart(listener: RoomStartListener): void {
    this.startListeners.push(listener);
  }

  async create(identity: Identity, input: { title: string; visibility: RoomVisibility }): Promise<Room> {
    const title = input.title.trim();
    const problem = this.titleProblem(title);
    if (problem !== undefined) fail('bad_request', problem);
    this.requireRegion(identity.userId);
    try {
      const room = await this.shard(() =>
        this.repository.create({
          id: newRoomId(identity.userId),
          hostId: identity.userId,
          title,
          visibility: input.visibility,
          startedAt: new Date(),
        }),
      );
      this.options.cache.set(room);
      for (const listener of this.startListeners) await listener.roomStarted(room);
      return room;
    } catch (err) {
      if (err instanceof HostHasLiveRoomError) fail('conflict', 'you already host a live room; end it first');
      throw err;
    }
  }

  /** A room by ID, live or ended; 400 for a malformed ID or unknown region, 404 when absent. */
  async get(roomId: string): Promise<Room> {
    if (!isRoomId(roomId)) fail('bad_request', 'malformed room ID');
    this.requireRegion(roomId);
    const room = await this.options.cache.get(roomId, () => this.shard(() => this.repository.get(roomId)));
    if (room === undefined) fail('not_found', `room ${roomId} not found`);
    return room;
  }

  /** A room the caller may see (public, or private and allowed); 403 otherwise. */
  async getVisible(identity: Identity, roomId: string): Promise<Room> {
    const room = await this.get(roomId);
    if (!this.canSee(identity, room)) fail('forbidden', 'this room is private');
    return room;
  }

  /** A live room the caller may see; 409 `room_ended` when it ended. */
  async getLive(identity: Identity, roomId: string): Promise<Room> {
    const room = await this.getVisible(identity, roomId);
    if (room.status !== 'live') fail('room_ended', 'the room has ended');
    return room;
  }

  canSee(identity: Identity, room: Room): boolean {
    return (
      room.visibility === 'public' ||
      room.hostId === identity.userId ||
      isPrivileged(identity) ||
      identity.privateRooms.has(room.id)
    );
  }

  isHostOrAdmin(identity: Identity, room: Room): boolean {
    return room.hostId === identity.userId || identity.roles.has('admin');
  }

  /**
   * Whether `title` can be a room's title (1–titleMaxChars characters after trimming, one clean
   * line): `create` refuses others; a `title` state partial that is not one leaves the room's title.
   */
  isValidTitle(title: string): boolean {
    return this.titleProblem(title.trim()) === undefined;
  }

  /** Why a trimmed title cannot be a room's title, or undefined when it can. */
  private titleProblem(title: string): string | undefined {
    if (title.length === 0 || [...title].length > this.options.titleMaxChars) {
      return `title must be 1–${this.options.titleMaxChars} characters`;
    }
    // PostgreSQL refuses U+0000 in text (a 500 otherwise); the other control characters misrender.
    if (!isCleanLine(title)) return 'title must not contain control characters or line breaks';
    return undefined;
  }

  /**
   * Sets a live room's title (what lists and the dashboard show), as the host's `title` state
   * partial says; the caller checked who may. Not live any more: left alone.
   */
  async retitle(roomId: string, title: string): Promise<void> {
    const room = await this.shard(() => this.repository.retitle(roomId, title.trim()));
    if (room === undefined) return;
    await this.options.cache.changed(room);
    this.options.announceChange(roomId);
  }

  /**
   * Ends the room, then moves it to the archive. The end is durable on the room's shard before the
   * move starts, so a move that fails (archive down, crash) does not undo it: it is logged and
   * left to the next `end` of the room or to the retention job, and reads find the room meanwhile.
   * Ending an ended room returns it unchanged and finishes its move if it was left unfinished.
   */
  async end(identity: Identity, roomId: string): Promise<Room> {
    const room = await this.get(roomId);
    if (!this.isHostOrAdmin(identity, room)) fail('forbidden', 'only the host or an admin can end the room');
    const ended = await this.shard(() => this.repository.end(roomId, new Date()));
    if (ended === undefined) fail('not_found', `room ${roomId} not found`);
    await this.options.cache.changed(ended);
    this.options.announceChange(roomId);
    await this.moveToArchive(roomId);
    if (room.status === 'live') for (const listener of this.endListeners) await listener.roomEnded(ended);
    return ended;
  }

  /**
   * Live rooms the caller may see, newest first, at most `limit`, continuing after `cursor`. A page
   * can hold fewer than `limit` rooms (private ones are left out) and still have a next one. A
   * region whose shard is down is named in `unavailableRegions` instead of failing the page;
   * only when every region is down does the list fail (503).
   */
  async listLive(identity: Identity, limit: number, cursor?: string): Promise<LiveRoomsList> {
    const after = cursor === undefined ? undefined : decodeLiveRoomsCursor(cursor);
    if (cursor !== undefined && after === undefined)
      fail('bad_request', 'cursor is not one this server returned');
    // Over-fetch so that filtering private rooms still fills the page.
    const fetched = limit * 2;
    const page = await this.repository.listLive(fetched, after);
    for (const region of page.unavailableRegions) {
      this.options.metrics?.roomStoreUnavailable.inc({ store: region });
      this.options.logger?.warn({ region }, 'live rooms listed without an unavailable region shard');
    }
    if (page.unavailableRegions.length >= this.options.regions.length) {
      throw new RoomcastError('unavailable', 'every region is temporarily unavailable', 1);
    }
    const rooms: Room[] = [];
    let consumed = 0;
    for (const room of page.rooms) {
      if (rooms.length === limit) break;
      consumed++;
      if (this.canSee(identity, room)) rooms.push(room);
    }
    const last = page.rooms[consumed - 1];
    const exhausted = page.rooms.length < fetched && consumed === page.rooms.length;
    return {
      rooms,
      next: exhausted || last === undefined ? null : encodeLiveRoomsCursor(last),
      unavailableRegions: page.unavailableRegions,
    };
  }

  async ping(): Promise<void> {
    await this.repository.ping();
  }

  /** Whether `region` is one of the regions this deployment serves. */
  servesRegion(region: string): boolean {
    return this.options.regions.includes(region);
  }

  private requireRegion(id: string): void {
    const region = regionOf(id);
    if (region === undefined || !this.options.regions.includes(region)) {
      fail(
        'bad_request',
        `unknown region "${region ?? id}"; this deployment serves ${this.options.regions.join(', ')}`,
      );
    }
  }

  /** Best effort: the end is already durable, and a failed move is finished later. */
  private async moveToArchive(roomId: string): Promise<void> {
    try {
      if (await this.repository.moveToArchive(roomId))
        this.options.metrics?.roomArchiveMoves.inc({ trigger: 'end' });
    } catch (err) {
      this.options.metrics?.roomArchiveMoveFailures.inc({ trigger: 'end' });
      this.options.logger?.warn({ err, roomId }, 'ended room not moved to the archive yet; retention will');
    }
  }

  /** Maps a rooms database that cannot be reached to 503 `unavailable`, naming it. */
  private async shard<T>(op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      if (err instanceof ShardUnavailableError) {
        this.options.metrics?.roomStoreUnavailable.inc({ store: err.region });
        throw new RoomcastError('unavailable', `the ${err.region} region is temporarily unavailable`, 1);
      }
      if (err instanceof ArchiveUnavailableError) {
        this.options.metrics?.roomStoreUnavailable.inc({ store: 'archive' });
        throw new RoomcastError('unavailable', 'the room archive is temporarily unavailable', 1);
      }
      throw err;
    }
  }
}
