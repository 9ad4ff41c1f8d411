import { type Room, regionOf } from '@roomcast/protocol';
import type { Logger } from 'pino';
import { getOrInsert } from './get-or-insert.ts';
import { PeriodicTask } from './periodic-task.ts';
import type { EndedRoom, OngoingRoom, OngoingRooms, RoomShare } from './ports/ongoing-rooms.ts';
import type { RoomChange, RoomChangeFeed } from './ports/room-change-feed.ts';
import { type EndedRoomsCursor, type RoomRepository, ShardUnavailableError } from './ports/rooms.ts';
import { stableHash32 } from './stable-hash.ts';

export type { EndedRoom, OngoingRoom } from './ports/ongoing-rooms.ts';

export interface OngoingQueryOptions {
  repository: Pick<RoomRepository, 'listLive' | 'listEndedInShard'>;
  feed: RoomChangeFeed;
  /** The region shards a scan reads ended rooms from. */
  regions: readonly string[];
  /** How often every shard is scanned in full (the feed keeps the sets current in between). */
  rescanMs: number;
  /** How long an ended room that left its shard stays in the ended set (jobs that act on ends). */
  endedKeepMs: number;
  /** Rooms per page of a scan. */
  pageSize?: number;
  logger?: Logger;
  now?: () => number;
}

/** What a scan found. */
export interface OngoingScan {
  rooms: number;
  ended: number;
  /** Regions the scan could not read: their rooms were kept as they were. */
  unavailableRegions: string[];
}

/** Both sets, as one scan or the feed leaves them. */
interface RoomSets {
  live: Map<string, OngoingRoom>;
  ended: Map<string, EndedRoom & { leftAt?: number }>;
}

/**
 * OngoingQuery: the live rooms, with each room's region, host and start, held in memory so jobs
 * ask it for their share instead of scanning the shards themselves — and beside them the ended
 * rooms still on a shard (the archive move's work) and those ended in the last `endedKeepMs` (the
 * settlement pick-up's). Both are built from a full scan of every shard, repeated every
 * `rescanMs`, and kept current in between by the rooms change feed (a room started joins, a room
 * ended moves to the ended set, a room moved to the archive is marked off its shard) — so they
 * converge on the databases even when the feed lost something: the next scan repairs it.
 *
 * A scan and the feed meet without losing either: changes that arrive while a scan runs are
 * applied at once and again on top of the scan's snapshot when it is swapped in. That is correct
 * because a room only moves forward (live → ended → archived) and the feed delivers a region's
 * changes in commit order: replaying them after an older snapshot ends in the newest state.
 */
export class OngoingQuery implements OngoingRooms {
  private sets: RoomSets = { live: new Map(), ended: new Map() };
  /**
   * Each held room's stable hash (core/job-partition.ts: partition = hash mod count), computed
   * once: every member of every job asks for its share each round, and a SHA-256 per room per
   * request would be most of the cost of answering.
   */
  private readonly hashes = new Map<string, number>();
  private duringScan: RoomChange[] | undefined;
  private scanned = false;
  private readonly task: PeriodicTask<OngoingScan | undefined>;

  constructor(private readonly options: OngoingQueryOptions) {
    // A scan that fails (a shard down mid-scan) keeps the sets as they were; the next one tries again.
    this.task = new PeriodicTask(options.rescanMs, () =>
      this.scanOnce().catch((err: unknown) => {
        this.options.logger?.warn({ err }, 'ongoing rooms scan failed; keeping the set as it was');
        return undefined;
      }),
    );
  }

  /**
   * Follows the feed, scans once, then rescans periodically. When the first scan fails, `ready`
   * stays false until one succeeds.
   */
  async start(): Promise<void> {
    await this.options.feed.start((change) => this.apply(change));
    await this.scan();
    this.task.start();
  }

  async close(): Promise<void> {
    await this.task.stop();
    await this.options.feed.close();
  }

  /** Whether a scan completed: before it, the sets may miss rooms. */
  get ready(): boolean {
    return this.scanned;
  }

  /** Live rooms held. */
  get size(): number {
    return this.sets.live.size;
  }

  /** Ended rooms held (on a shard, or ended within `endedKeepMs`). */
  get endedSize(): number {
    this.forgetOldEnds(this.sets);
    return this.sets.ended.size;
  }

  /** Every ongoing room. */
  all(): OngoingRoom[] {
    return [...this.sets.live.values()];
  }

  /** Every ended room held. */
  allEnded(): EndedRoom[] {
    this.forgetOldEnds(this.sets);
    return [...this.sets.ended.values()].map(({ leftAt: _, ...room }) => room);
  }

  /** The live rooms of partition `index` of `count` (core/job-partition.ts: the same split in every process). */
  partition(index: number, count: number): OngoingRoom[] {
    checkPartition(index, count);
    return this.all().filter((room) => this.hashOf(room.id) % count === index);
  }

  /** The ended rooms of partition `index` of `count`. */
  endedPartition(index: number, count: number): EndedRoom[] {
    checkPartition(index, count);
    return this.allEnded().filter((room) => this.hashOf(room.id) % count === index);
  }

  /** OngoingRooms: both sets' share, from memory. */
  async share(index: number, count: number): Promise<RoomShare> {
    return {
      ready: this.ready,
      live: this.partition(index, count),
      ended: this.endedPartition(index, count),
    };
  }

  /** A full scan now (unless one runs); what it found. */
  async scan(): Promise<OngoingScan | undefined> {
    return this.task.tick();
  }

  private apply(change: RoomChange): void {
    this.duringScan?.push(change);
    this.applyTo(this.sets, change);
  }

  private async scanOnce(): Promise<OngoingScan> {
    this.duringScan = [];
    try {
      const snapshot: RoomSets = { live: new Map(), ended: new Map() };
      const unavailable = new Set<string>();
      await this.scanLive(snapshot, unavailable);
      await this.scanEnded(snapshot, unavailable);
      const now = this.now();
      for (const [id, room] of this.sets.live) {
        if (unavailable.has(room.region)) snapshot.live.set(id, room);
        else if (!snapshot.live.has(id) && !snapshot.ended.has(id)) {
          // Live at the last look, on no shard now: it ended and was archived while the feed
          // missed both (a room never leaves its shard otherwise). When exactly is not known.
          snapshot.ended.set(id, {
            ...room,
            endedAt: new Date(now).toISOString(),
            onShard: false,
            leftAt: now,
          });
        }
      }
      for (const [id, room] of this.sets.ended) {
        // Still on a shard we could not read, or off the shards and not yet forgotten: keep it.
        if (snapshot.ended.has(id) || snapshot.live.has(id)) continue;
        if (unavailable.has(room.region) || !room.onShard) snapshot.ended.set(id, room);
        else snapshot.ended.set(id, { ...room, onShard: false, leftAt: now });
      }
      for (const change of this.duringScan) this.applyTo(snapshot, change);
      this.forgetOldEnds(snapshot);
      this.sets = snapshot;
      for (const id of this.hashes.keys())
        if (!snapshot.live.has(id) && !snapshot.ended.has(id)) this.hashes.delete(id);
      this.scanned = true;
      const result = {
        rooms: snapshot.live.size,
        ended: snapshot.ended.size,
        unavailableRegions: [...unavailable],
      };
      if (result.unavailableRegions.length > 0) {
        this.options.logger?.warn(
          result,
          'ongoing rooms scan could not read every region; kept their rooms as they were',
        );
      }
      return result;
    } finally {
      this.duringScan = undefined;
    }
  }

  private async scanLive(snapshot: RoomSets, unavailable: Set<string>): Promise<void> {
    const pageSize = this.options.pageSize ?? 500;
    let after: { startedAt: Date; id: string } | undefined;
    for (;;) {
      const page = await this.options.repository.listLive(pageSize, after);
      for (const region of page.unavailableRegions) unavailable.add(region);
      for (const room of page.rooms) snapshot.live.set(room.id, ongoingOf(room));
      const last = page.rooms.at(-1);
      if (last === undefined || page.rooms.length < pageSize) break;
      after = { startedAt: new Date(last.startedAt), id: last.id };
    }
  }

  private async scanEnded(snapshot: RoomSets, unavailable: Set<string>): Promise<void> {
    const pageSize = this.options.pageSize ?? 500;
    await Promise.all(
      this.options.regions.map(async (region) => {
        if (unavailable.has(region)) return;
        try {
          let after: EndedRoomsCursor | undefined;
          for (;;) {
            const page = await this.options.repository.listEndedInShard(region, pageSize, after);
            for (const room of page) snapshot.ended.set(room.id, { ...endedOf(room), onShard: true });
            const last = page.at(-1);
            if (last === undefined || page.length < pageSize) break;
            after = { endedAt: new Date(last.endedAt ?? 0), id: last.id };
          }
        } catch (err) {
          if (!(err instanceof ShardUnavailableError)) throw err;
          unavailable.add(region);
        }
      }),
    );
    // A region not read in full keeps what the sets held of it, all of it, not half a scan.
    for (const set of [snapshot.live, snapshot.ended])
      for (const [id, room] of set) if (unavailable.has(room.region)) set.delete(id);
  }

  private applyTo(sets: RoomSets, change: RoomChange): void {
    const { room } = change;
    if (room.status === 'live') {
      // A late copy of a room's start must not bring an ended room back.
      if (!sets.ended.has(room.id)) sets.live.set(room.id, ongoingOf(room, change.region));
      return;
    }
    sets.live.delete(room.id);
    const leftAt = change.leftShard === true ? this.now() : undefined;
    sets.ended.set(room.id, {
      ...endedOf(room, change.region),
      onShard: change.leftShard !== true,
      ...(leftAt === undefined ? {} : { leftAt }),
    });
  }

  /** Drops ended rooms that left their shard more than `endedKeepMs` ago. */
  private forgetOldEnds(sets: RoomSets): void {
    const cutoff = this.now() - this.options.endedKeepMs;
    for (const [id, room] of sets.ended) {
      if (!room.onShard && (room.leftAt ?? 0) < cutoff) sets.ended.delete(id);
    }
  }

  private hashOf(id: string): number {
    return getOrInsert(this.hashes, id, () => stableHash32(id));
  }

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }
}

function checkPartition(index: number, count: number): void {
  if (!Number.isInteger(index) || !Number.isInteger(count) || index < 0 || index >= count) {
    throw new RangeError(`partition ${index} of ${count} does not exist`);
  }
}

function ongoingOf(room: Room, region?: string): OngoingRoom {
  // Stored IDs are validated `<region>_<rest>` (the rooms table's constraints).
  return {
    id: room.id,
    region: region ?? regionOf(room.id) ?? '',
    hostId: room.hostId,
    startedAt: room.startedAt,
  };
}

function endedOf(room: Room, region?: string): Omit<EndedRoom, 'onShard'> {
  return { ...ongoingOf(room, region), endedAt: room.endedAt ?? new Date(0).toISOString() };
}
