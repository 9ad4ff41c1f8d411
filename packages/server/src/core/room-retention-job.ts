import { inParallel } from './in-parallel.ts';
import {
  type RoomJobOutcome,
  type RoomJobRound,
  type RoomJobWiring,
  ShardedRoomJob,
} from './partitioned-room-job.ts';
import type { RoomRepository } from './ports/rooms.ts';

/** The retention job's name in the job membership. */
export const ROOM_RETENTION_JOB = 'room-retention';

const DAY_MS = 86_400_000;
/** Moves in flight at once: each is one shard transaction plus an archive write. */
const MOVE_CONCURRENCY = 4;

export interface RoomRetentionOptions extends RoomJobWiring {
  repository: Pick<RoomRepository, 'moveToArchive'>;
  /** Ended rooms older than this (by `endedAt`) leave the region shards. */
  hotWindowDays: number;
  /** Rooms moved per round at most, so one round's work is bounded; the next round goes on. */
  batchSize: number;
  now?: () => number;
}

/** What one round did. */
export interface RoomRetentionRun {
  outcome: RoomJobOutcome;
  moved: number;
  /** Regions of the rooms whose move failed this round (a shard or the archive down): retried next round. */
  failedRegions: string[];
}

/**
 * The hot-window retention job (a PartitionedRoomJob): every interval, moves the ended rooms of
 * this worker's share that OngoingQuery still sees on their shard and that ended more than
 * `hotWindowDays` ago to the archive, oldest first. Ending a room moves it at once, so these are
 * rooms whose move did not finish (archive down, a crash) and rooms ended before the archive
 * existed. Live rooms are never moved, and no shard is scanned here: OngoingQuery knows which
 * ended rooms are left on which shard.
 *
 * A move is idempotent and each room is moved by one mover (the repository's locks), so the
 * duplicate round a membership change allows is harmless; a room whose shard is down is logged,
 * counted and retried next round while the others go on.
 */
export class RoomRetentionJob extends ShardedRoomJob {
  private last: Omit<RoomRetentionRun, 'outcome'> = { moved: 0, failedRegions: [] };

  constructor(private readonly options: RoomRetentionOptions) {
    super(ROOM_RETENTION_JOB, options);
  }

  /** One round now (undefined while one is in progress); what it did. */
  async runOnce(): Promise<RoomRetentionRun | undefined> {
    this.last = { moved: 0, failedRegions: [] };
    const outcome = await this.tick();
    return outcome === undefined ? undefined : { outcome, ...this.last };
  }

  protected async round({ share, stillOwner }: RoomJobRound): Promise<void> {
    const { repository, logger, metrics } = this.options;
    const now = this.options.now?.() ?? Date.now();
    const cutoff = now - this.options.hotWindowDays * DAY_MS;
    const due = share.ended
      .filter((room) => room.onShard && Date.parse(room.endedAt) < cutoff)
      .sort((a, b) => Date.parse(a.endedAt) - Date.parse(b.endedAt))
      .slice(0, this.options.batchSize);
    const failed = new Set<string>();
    let moved = 0;
    await inParallel(due, MOVE_CONCURRENCY, async (room) => {
      if (!stillOwner()) return;
      try {
        if (await repository.moveToArchive(room.id)) moved++;
      } catch (err) {
        failed.add(room.region);
        metrics?.roomArchiveMoveFailures.inc({ trigger: 'retention' });
        logger.warn(
          { err, room: room.id },
          'hot-window retention could not move a room; retrying next round',
        );
      }
    });
    this.last = { moved, failedRegions: [...failed].sort() };
    if (moved > 0) {
      metrics?.roomArchiveMoves.inc({ trigger: 'retention' }, moved);
      logger.info({ moved, endedBefore: new Date(cutoff) }, 'moved ended rooms out of the hot window');
    }
  }
}
