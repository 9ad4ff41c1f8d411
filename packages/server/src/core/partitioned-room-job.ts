import type { Logger } from 'pino';
import type { RoomcastMetrics } from '../observability/metrics.ts';
import { sameView } from './job-partition.ts';
import { PeriodicTask } from './periodic-task.ts';
import type { OngoingRooms, RoomShare } from './ports/ongoing-rooms.ts';
import type { MembershipHandle, MembershipView } from './ports/worker-membership.ts';

/** What one round of a sharded room job is given. */
export interface RoomJobRound {
  /** The membership view the share was asked under. */
  view: MembershipView;
  /** This member's share of the live and ended rooms. */
  share: RoomShare;
  /**
   * Whether the view is still this member's: a long round checks it between rooms and stops when
   * it changed, since the rest may be another member's now.
   */
  stillOwner(): boolean;
}

/** How a round ended. */
export type RoomJobOutcome = 'ran' | 'no_view' | 'not_ready' | 'unavailable' | 'failed';

export interface PartitionedRoomJobOptions {
  /** The job's name: its membership node (`<coordination.pathPrefix>/<name>`) and metrics label. */
  name: string;
  membership: MembershipHandle;
  ongoing: OngoingRooms;
  intervalMs: number;
  logger: Logger;
  metrics?: RoomcastMetrics;
  /** Processes one round's share; a rejection is logged and counted, and the next round goes on. */
  run(round: RoomJobRound): Promise<void>;
}

/**
 * The one partitioning mechanism of every periodic room job (the design's "Scheduled jobs"):
 * each round, the member reads its view of the job's membership (ZooKeeper: how many members run,
 * its own index), asks OngoingQuery for that partition of the rooms, and processes only that. A
 * member without a view (not registered yet, its coordination session lost) processes nothing,
 * and so does one whose OngoingQuery has not completed a scan, so no room is handled from a set
 * that may miss it or by a member that may have been replaced.
 *
 * Two members' rounds are not synchronised: during a membership change one room may be handled
 * twice or skipped for a round (the membership contract), so jobs must be idempotent per round.
 */
export class PartitionedRoomJob {
  private readonly task: PeriodicTask<RoomJobOutcome>;
  private readonly stopWatching: () => void;

  constructor(private readonly options: PartitionedRoomJobOptions) {
    this.task = new PeriodicTask(options.intervalMs, () => this.runOnce());
    const show = (view: MembershipView | undefined) => {
      options.metrics?.workerMembers.set({ job: options.name }, view?.count ?? 0);
      options.metrics?.workerIndex.set({ job: options.name }, view?.index ?? -1);
      options.logger.info({ job: options.name, view: view ?? null }, 'job membership changed');
    };
    show(options.membership.view());
    this.stopWatching = options.membership.onChange(show);
    for (const outcome of ['ran', 'failed'] as const)
      options.metrics?.jobRounds.inc({ job: options.name, outcome }, 0);
  }

  get name(): string {
    return this.options.name;
  }

  /** Runs every interval, without keeping the process alive. */
  start(): void {
    this.task.start();
  }

  /** Stops the timer and waits for a round in progress. */
  async stop(): Promise<void> {
    this.stopWatching();
    await this.task.stop();
  }

  /** One round now, unless one is in progress (then undefined); how it ended. */
  tick(): Promise<RoomJobOutcome | undefined> {
    return this.task.tick();
  }

  private async runOnce(): Promise<RoomJobOutcome> {
    const outcome = await this.round();
    this.options.metrics?.jobRounds.inc({ job: this.options.name, outcome });
    return outcome;
  }

  private async round(): Promise<RoomJobOutcome> {
    const { membership, ongoing, logger, metrics, name } = this.options;
    const view = membership.view();
    if (view === undefined) return 'no_view';
    let share: RoomShare;
    try {
      share = await ongoing.share(view.index, view.count);
    } catch (err) {
      logger.warn({ err, job: name }, 'no OngoingQuery answered; skipping the round');
      return 'unavailable';
    }
    if (!share.ready) return 'not_ready';
    metrics?.jobShareRooms.set({ job: name, set: 'live' }, share.live.length);
    metrics?.jobShareRooms.set({ job: name, set: 'ended' }, share.ended.length);
    try {
      await this.options.run({ view, share, stillOwner: () => sameView(membership.view(), view) });
      return 'ran';
    } catch (err) {
      logger.warn({ err, job: name }, 'room job round failed; the next round goes on');
      return 'failed';
    }
  }
}

/** How a sharded room job joins the mechanism: its membership, where it asks, how often. */
export interface RoomJobWiring {
  membership: MembershipHandle;
  ongoing: OngoingRooms;
  intervalMs: number;
  logger: Logger;
  metrics?: RoomcastMetrics;
}

/**
 * A periodic room job on the shared mechanism: a subclass names itself and says what one round
 * does with its share; starting, stopping and ticking are the PartitionedRoomJob's.
 */
export abstract class ShardedRoomJob {
  private readonly job: PartitionedRoomJob;

  protected constructor(name: string, wiring: RoomJobWiring) {
    this.job = new PartitionedRoomJob({ name, ...wiring, run: (round) => this.round(round) });
  }

  /** One round over this member's share. */
  protected abstract round(round: RoomJobRound): Promise<void>;

  /** Runs every interval, without keeping the process alive. */
  start(): void {
    this.job.start();
  }

  /** Stops the timer and waits for a round in progress, so its stores can be closed after. */
  stop(): Promise<void> {
    return this.job.stop();
  }

  /** One round now, unless one is in progress (then undefined); how it ended. */
  tick(): Promise<RoomJobOutcome | undefined> {
    return this.job.tick();
  }
}
