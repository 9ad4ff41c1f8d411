import type { Logger } from 'pino';
import { ownsKey, sameView } from './job-partition.ts';
import { PeriodicTask } from './periodic-task.ts';
import type { RoomPresence } from './ports/presence.ts';
import type { MembershipHandle, MembershipView } from './ports/worker-membership.ts';
import type { RoomEvents } from './room-events.ts';

/** The online count broadcast's name in the job membership (`<coordination.pathPrefix>/online-count`). */
export const ONLINE_COUNT_JOB = 'online-count';

/**
 * The worker's online-count broadcast: every interval, each room with members gets an `online`
 * event (`{"count":N}`) when its count changed since the last broadcast. Counts come from the
 * gateways' presence reports, so a dead gateway's members drop out when its report expires.
 *
 * Sharded: each worker takes only the rooms of its partition (core/job-partition.ts) under its
 * current membership view, and skips the round while it has none, so every room is broadcast by
 * one worker. After a view change it forgets what it broadcast, so a room it takes over gets its
 * count again even if unchanged since this worker last had it.
 */
export class OnlineCountJob {
  private readonly lastCounts = new Map<string, number>();
  /** The view `lastCounts` was built under. */
  private lastView: MembershipView | undefined;
  private readonly task: PeriodicTask<void>;

  constructor(
    private readonly deps: {
      presence: RoomPresence;
      events: Pick<RoomEvents, 'publishSystem'>;
      /** This worker's membership of ONLINE_COUNT_JOB: which rooms are its own. */
      membership: MembershipHandle;
      intervalMs: number;
      logger: Logger;
    },
  ) {
    this.task = new PeriodicTask(deps.intervalMs, () => this.runOnce());
  }

  start(): void {
    this.task.start();
  }

  stop(): Promise<void> {
    return this.task.stop();
  }

  /** One round now, unless one is in progress. */
  async tick(): Promise<void> {
    await this.task.tick();
  }

  private async runOnce(): Promise<void> {
    const view = this.deps.membership.view();
    if (view === undefined) return;
    if (!sameView(this.lastView, view)) {
      this.lastCounts.clear();
      this.lastView = view;
    }
    try {
      const rooms = (await this.deps.presence.rooms()).filter((room) => ownsKey(view, room));
      const counts = await this.deps.presence.counts(rooms);
      for (const room of this.lastCounts.keys()) if (!counts.has(room)) counts.set(room, 0);
      for (const [room, count] of counts) {
        // The view changed or was withdrawn meanwhile: the rest may be someone else's now.
        if (!sameView(this.deps.membership.view(), view)) return;
        if (this.lastCounts.get(room) === count) continue;
        try {
          await this.deps.events.publishSystem(room, 'online', { count });
        } catch (err) {
          this.deps.logger.warn({ err, room }, 'online count broadcast failed');
        }
        if (count === 0) this.lastCounts.delete(room);
        else this.lastCounts.set(room, count);
      }
    } catch (err) {
      this.deps.logger.warn({ err }, 'online count round failed');
    }
  }
}
