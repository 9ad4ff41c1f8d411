import type { Logger } from 'pino';
import type { RoomcastMetrics } from '../observability/metrics.ts';
import { PeriodicTask } from './periodic-task.ts';
import type { RoomRepository } from './ports/rooms.ts';

const DAY_MS = 86_400_000;

export interface RoomRetentionOptions {
  repository: RoomRepository;
  regions: readonly string[];
  /** Ended rooms older than this (by `endedAt`) leave the region shards. */
  hotWindowDays: number;
  /** Rooms per `moveEndedToArchive` call. */
  batchSize: number;
  intervalMs: number;
  logger: Logger;
  metrics?: RoomcastMetrics;
  /** Batches per region per run at most, so one run's work is bounded; the next run goes on. */
  maxBatchesPerRun?: number;
  now?: () => number;
}

/** What one run did: rooms moved per region, and the regions it could not reach. */
export interface RoomRetentionRun {
  moved: Record<string, number>;
  failedRegions: string[];
}

/**
 * The hot-window retention job: every interval, moves the ended rooms that are still in a region
 * shard and ended more than `hotWindowDays` ago to the archive, oldest first, in batches. Ending a
 * room moves it at once, so these are rooms whose move did not finish (archive down, a crash) and
 * rooms ended before the archive existed. Live rooms are never moved.
 *
 * Safe to run on several workers at once (the repository hands each room to one mover), and each
 * region on its own: a region whose shard is down is logged, counted and retried next run, while
 * the others go on.
 */
export class RoomRetentionJob {
  private readonly task: PeriodicTask<RoomRetentionRun>;

  constructor(private readonly options: RoomRetentionOptions) {
    this.task = new PeriodicTask(options.intervalMs, () => this.runOnce());
  }

  /** Runs every interval, without keeping the process alive. */
  start(): void {
    this.task.start();
  }

  /** Stops the timer and waits for a run in progress, so its stores can be closed after. */
  stop(): Promise<void> {
    return this.task.stop();
  }

  /** One run, unless the previous one is still going (then it is skipped, not queued). */
  tick(): Promise<RoomRetentionRun | undefined> {
    return this.task.tick();
  }

  /** One run over every region; never rejects. */
  async runOnce(): Promise<RoomRetentionRun> {
    const { repository, regions, batchSize, logger, metrics } = this.options;
    const now = this.options.now?.() ?? Date.now();
    const endedBefore = new Date(now - this.options.hotWindowDays * DAY_MS);
    const maxBatches = this.options.maxBatchesPerRun ?? 100;
    const run: RoomRetentionRun = { moved: {}, failedRegions: [] };
    await Promise.all(
      regions.map(async (region) => {
        let moved = 0;
        try {
          for (let batch = 0; batch < maxBatches; batch++) {
            const n = await repository.moveEndedToArchive(region, { endedBefore, limit: batchSize });
            moved += n;
            if (n < batchSize) break;
          }
        } catch (err) {
          run.failedRegions.push(region);
          metrics?.roomArchiveMoveFailures.inc({ trigger: 'retention' });
          logger.warn({ err, region }, 'hot-window retention failed for a region; retrying next run');
        }
        run.moved[region] = moved;
        if (moved > 0) {
          metrics?.roomArchiveMoves.inc({ trigger: 'retention' }, moved);
          logger.info({ region, moved, endedBefore }, 'moved ended rooms out of the hot window');
        }
      }),
    );
    return run;
  }
}
