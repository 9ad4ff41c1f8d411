import { regionOf } from '@roomcast/protocol';
import type { Logger } from 'pino';
import { partitionOf } from './job-partition.ts';
import { PeriodicTask } from './periodic-task.ts';
import type { RoomChange, RoomChangeFeed } from './ports/room-change-feed.ts';
import type { RoomRepository } from './ports/rooms.ts';

/** A room that is live now: its ID, its region shard and when it started. */
export interface OngoingRoom {
  id: string;
  region: string;
  startedAt: string;
}

export interface OngoingQueryOptions {
  repository: Pick<RoomRepository, 'listLive'>;
  feed: RoomChangeFeed;
  /** How often every shard is scanned in full (the feed keeps the set current in between). */
  rescanMs: number;
  /** Rooms per `listLive` page of a scan. */
  pageSize?: number;
  logger?: Logger;
}

/** What a scan found. */
export interface OngoingScan {
  rooms: number;
  /** Regions the scan could not read: their rooms were kept as they were. */
  unavailableRegions: string[];
}

/**
 * OngoingQuery: the set of live rooms, with each room's region and start, held in memory so jobs
 * ask it for their share instead of scanning the shards themselves. It is built from a full scan
 * of every shard, repeated every `rescanMs`, and kept current in between by the rooms change feed
 * (a room started joins, a room ended leaves) — so it converges on the databases even when the
 * feed lost something: the next scan repairs it.
 *
 * A scan and the feed meet without losing either: changes that arrive while a scan runs are
 * applied at once and again on top of the scan's snapshot when it is swapped in. That is correct
 * because a room's status only moves forward (live → ended) and the feed delivers a region's
 * changes in commit order: replaying them after an older snapshot ends in the newest state.
 */
export class OngoingQuery {
  private rooms = new Map<string, OngoingRoom>();
  private duringScan: RoomChange[] | undefined;
  private scanned = false;
  private readonly task: PeriodicTask<OngoingScan | undefined>;

  constructor(private readonly options: OngoingQueryOptions) {
    // A scan that fails (a shard down mid-scan) keeps the set as it was; the next one tries again.
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

  /** Whether a scan completed: before it, the set may miss rooms. */
  get ready(): boolean {
    return this.scanned;
  }

  get size(): number {
    return this.rooms.size;
  }

  /** Every ongoing room. */
  all(): OngoingRoom[] {
    return [...this.rooms.values()];
  }

  /** The rooms of partition `index` of `count` (core/job-partition.ts: the same split in every process). */
  partition(index: number, count: number): OngoingRoom[] {
    if (!Number.isInteger(index) || index < 0 || index >= count) {
      throw new RangeError(`partition ${index} of ${count} does not exist`);
    }
    return this.all().filter((room) => partitionOf(room.id, count) === index);
  }

  /** A full scan now (unless one runs); what it found. */
  async scan(): Promise<OngoingScan | undefined> {
    return this.task.tick();
  }

  private apply(change: RoomChange): void {
    this.duringScan?.push(change);
    applyTo(this.rooms, change);
  }

  private async scanOnce(): Promise<OngoingScan> {
    this.duringScan = [];
    try {
      const snapshot = new Map<string, OngoingRoom>();
      const unavailable = new Set<string>();
      const pageSize = this.options.pageSize ?? 500;
      let after: { startedAt: Date; id: string } | undefined;
      for (;;) {
        const page = await this.options.repository.listLive(pageSize, after);
        for (const region of page.unavailableRegions) unavailable.add(region);
        for (const room of page.rooms) {
          snapshot.set(room.id, {
            id: room.id,
            // Stored IDs are validated `<region>_<rest>` (the rooms table's constraints).
            region: regionOf(room.id) ?? '',
            startedAt: room.startedAt,
          });
        }
        const last = page.rooms.at(-1);
        if (last === undefined || page.rooms.length < pageSize) break;
        after = { startedAt: new Date(last.startedAt), id: last.id };
      }
      // A region that could not be read keeps what the feed and earlier scans said of it.
      for (const room of this.rooms.values()) if (unavailable.has(room.region)) snapshot.set(room.id, room);
      for (const change of this.duringScan) applyTo(snapshot, change);
      this.rooms = snapshot;
      this.scanned = true;
      const result = { rooms: snapshot.size, unavailableRegions: [...unavailable] };
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
}

function applyTo(rooms: Map<string, OngoingRoom>, change: RoomChange): void {
  if (change.room.status === 'live') {
    rooms.set(change.room.id, {
      id: change.room.id,
      region: change.region,
      startedAt: change.room.startedAt,
    });
  } else {
    rooms.delete(change.room.id);
  }
}
