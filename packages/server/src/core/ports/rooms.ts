import type { Room, RoomVisibility } from '@roomcast/protocol';
import type { SeqReservations } from './seq-reservations.ts';
import { StoreUnavailableError } from './store-unavailable.ts';

export interface NewRoom {
  id: string;
  hostId: string;
  title: string;
  visibility: RoomVisibility;
  startedAt: Date;
}

/** Where a page of live rooms continues: strictly after this room in newest-first order. */
export interface LiveRoomsCursor {
  startedAt: Date;
  id: string;
}

/** Where a page of ended rooms still on a shard continues: strictly after this room, oldest end first. */
export interface EndedRoomsCursor {
  endedAt: Date;
  id: string;
}

/** One page of live rooms across the region shards. */
export interface LiveRoomsPage {
  /** Newest first (by `startedAt`, then `id`, both descending). */
  rooms: Room[];
  /** Regions whose shard could not be reached: their rooms are missing from `rooms`. */
  unavailableRegions: string[];
}

/** Thrown by `create` when the host already has a live room. */
export class HostHasLiveRoomError extends Error {
  override readonly name = 'HostHasLiveRoomError';
  constructor(readonly hostId: string) {
    super(`host ${hostId} already has a live room`);
  }
}

/**
 * Thrown when a room's region shard cannot be reached; the API answers 503 `unavailable`. A
 * StoreUnavailableError, so callers that do not map it themselves (a seq reservation under a
 * publish) answer 503 too.
 */
export class ShardUnavailableError extends StoreUnavailableError {
  override readonly name = 'ShardUnavailableError';
  constructor(
    readonly region: string,
    cause?: unknown,
  ) {
    super(`${region} region`, cause, `region shard ${region} is unavailable`);
  }
}

/** Thrown when the archive database is needed and cannot be reached; the API answers 503 `unavailable`. */
export class ArchiveUnavailableError extends StoreUnavailableError {
  override readonly name = 'ArchiveUnavailableError';
  constructor(cause?: unknown) {
    super('archive', cause, 'the room archive is unavailable');
  }
}

/**
 * RoomRepository: the relational source of truth for rooms — one shard per region holding live
 * rooms (and, briefly, ended ones), plus one append-only archive of ended rooms.
 *
 * Callers pass only IDs whose region prefix is configured (the core checks); the repository routes
 * each ID to its region shard from the prefix alone. A shard that cannot be reached rejects with
 * ShardUnavailableError for its own region only; the archive with ArchiveUnavailableError. Neither
 * is permanent: the next call tries again, so the repository recovers when the database returns.
 *
 * Guarantees (rooms contract suite):
 * - `create` inserts a live room into its region shard; a host has at most one live room, enforced
 *   by the database even under concurrent creates (the loser gets HostHasLiveRoomError).
 * - `get` finds a room live or ended, wherever it is (shard, archive, or both in the middle of a
 *   move); undefined when unknown. A read racing a move still finds the room: the shard is read
 *   before the archive, and a move writes the archive before it deletes from the shard. An ended
 *   room stays readable from the archive while its region shard is down.
 * - `end` marks a live room ended at `endedAt` on its shard and returns it; that is durable before
 *   it returns. Ending an ended room returns it unchanged (idempotent), wherever it is; undefined
 *   when unknown. `end` does not move the room: callers follow it with `moveToArchive`.
 * - `retitle` sets a live room's title and returns the room; an ended or unknown room is left alone
 *   (undefined). The archive is append-only, so only live rooms, which live on their shard, change.
 * - `moveToArchive` moves one ended room from its shard to the archive and resolves true once the
 *   room is in the archive (now or before); false for a live or unknown room, which it leaves alone.
 * - `moveEndedToArchive` moves up to `limit` ended rooms of one region whose `endedAt` is before
 *   `endedBefore`, oldest first, and returns how many this call moved. Live rooms are never moved.
 *   Safe to run on several workers at once: each room is moved by one of them.
 * - Every move is idempotent and safe against a crash at any step: it copies the room into the
 *   archive (a repeated copy is a no-op) before it deletes the shard's row, so re-running an
 *   interrupted move neither loses the room nor archives it twice. The archive is append-only:
 *   the repository never updates or deletes a row there.
 * - `listLive` returns live rooms of all reachable shards, newest first, at most `limit`, strictly
 *   after `after` when given (keyset paging). A shard that cannot be reached does not fail the
 *   call: its region is listed in `unavailableRegions` instead.
 * - `listEndedInShard` returns up to `limit` ended rooms still on one region's shard (not moved to
 *   the archive yet), oldest end first (then by ID), strictly after `after` when given; a shard
 *   that cannot be reached rejects with ShardUnavailableError. OngoingQuery's scans read it, so
 *   jobs need not.
 * - It keeps each room's durable seq ceiling (SeqReservations) in the room's region shard, for
 *   live and ended rooms alike; a shard that cannot be reached rejects with ShardUnavailableError.
 */
export interface RoomRepository extends SeqReservations {
  create(room: NewRoom): Promise<Room>;
  get(id: string): Promise<Room | undefined>;
  end(id: string, endedAt: Date): Promise<Room | undefined>;
  retitle(id: string, title: string): Promise<Room | undefined>;
  moveToArchive(id: string): Promise<boolean>;
  moveEndedToArchive(region: string, options: { endedBefore: Date; limit: number }): Promise<number>;
  listLive(limit: number, after?: LiveRoomsCursor): Promise<LiveRoomsPage>;
  listEndedInShard(region: string, limit: number, after?: EndedRoomsCursor): Promise<Room[]>;
  /** Resolves when every shard and the archive answer; used by /readyz. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
