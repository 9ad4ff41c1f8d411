import { sameView } from './job-partition.ts';
import { type RoomJobRound, type RoomJobWiring, ShardedRoomJob } from './partitioned-room-job.ts';
import type { RoomPresence } from './ports/presence.ts';
import type { MembershipView } from './ports/worker-membership.ts';
import type { RoomEvents } from './room-events.ts';

/** The online count broadcast's name in the job membership (`<coordination.pathPrefix>/online-count`). */
export const ONLINE_COUNT_JOB = 'online-count';

/**
 * The worker's online-count broadcast: every interval, each live room of this worker's share of
 * OngoingQuery (a PartitionedRoomJob) gets an `online` event (`{"count":N}`) when its count
 * changed since the last broadcast (a room this worker never broadcast counts as 0). Counts come
 * from the gateways' presence reports, so a dead gateway's members drop out when its report expires.
 *
 * After a view change it forgets what it broadcast, so a room it takes over gets its count again
 * even if unchanged since this worker last had it; a room that leaves the share (it ended, or is
 * another worker's now) is forgotten.
 */
export class OnlineCountJob extends ShardedRoomJob {
  private readonly lastCounts = new Map<string, number>();
  /** The view `lastCounts` was built under. */
  private lastView: MembershipView | undefined;

  constructor(
    private readonly deps: RoomJobWiring & {
      presence: Pick<RoomPresence, 'counts'>;
      events: Pick<RoomEvents, 'publishSystem'>;
    },
  ) {
    super(ONLINE_COUNT_JOB, deps);
  }

  protected async round({ view, share, stillOwner }: RoomJobRound): Promise<void> {
    if (!sameView(this.lastView, view)) {
      this.lastCounts.clear();
      this.lastView = view;
    }
    const rooms = share.live.map((room) => room.id);
    const inShare = new Set(rooms);
    for (const room of this.lastCounts.keys()) if (!inShare.has(room)) this.lastCounts.delete(room);
    const counts = await this.deps.presence.counts(rooms);
    for (const room of rooms) {
      // The view changed or was withdrawn meanwhile: the rest may be someone else's now.
      if (!stillOwner()) return;
      const count = counts.get(room) ?? 0;
      // A room nobody ever joined gets no `online` event: nothing changed for anyone.
      if ((this.lastCounts.get(room) ?? 0) === count) continue;
      try {
        await this.deps.events.publishSystem(room, 'online', { count });
        this.lastCounts.set(room, count);
      } catch (err) {
        this.deps.logger.warn({ err, room }, 'online count broadcast failed');
      }
    }
  }
}
