import type { Logger } from 'pino';
import type { RoomcastMetrics } from '../observability/metrics.ts';
import { inParallel } from './in-parallel.ts';
import { PartitionedRoomJob, type RoomJobRound } from './partitioned-room-job.ts';
import type { Ledger, LedgerRoom } from './ports/ledger.ts';
import type { OngoingRooms } from './ports/ongoing-rooms.ts';
import type { MembershipHandle } from './ports/worker-membership.ts';

/** The settlement pick-up's name in the job membership. */
export const SETTLEMENT_PICKUP_JOB = 'settlement';

export interface SettlementPickupOptions {
  ledger: Pick<Ledger, 'closeRoom'>;
  /** Settles one closed room from every source shard (Settler.settleRoom). */
  settle(room: LedgerRoom): Promise<{ settled: boolean }>;
  membership: MembershipHandle;
  ongoing: OngoingRooms;
  intervalMs: number;
  concurrency: number;
  logger: Logger;
  metrics?: RoomcastMetrics;
}

/**
 * Settlement pick-up (a PartitionedRoomJob): every settler takes its share of the rooms that
 * OngoingQuery saw end, closes their accounts (idempotent: a no-op when the API's end already
 * did) and settles them at once. The API closes a room's accounts when it ends it; this makes
 * sure a room whose close never reached the ledger (a crash between the two) is paid within a
 * round rather than at the settler's next reconciliation of open accounts, and it spreads the
 * settling of a burst of ends over the settlers by room instead of by lease.
 *
 * The claim loop and the reconciliation stay: they are what settles a room ended while no
 * OngoingQuery was running. Every step is idempotent, so a room two settlers pick up during a
 * membership change is still paid once (the ledger's guarantees).
 */
export class SettlementPickup {
  /** Rooms of the share this settler already settled: not asked again while they stay in it. */
  private readonly done = new Set<string>();
  private readonly job: PartitionedRoomJob;

  constructor(private readonly options: SettlementPickupOptions) {
    this.job = new PartitionedRoomJob({
      name: SETTLEMENT_PICKUP_JOB,
      membership: options.membership,
      ongoing: options.ongoing,
      intervalMs: options.intervalMs,
      logger: options.logger,
      ...(options.metrics === undefined ? {} : { metrics: options.metrics }),
      run: (round) => this.pickUp(round),
    });
  }

  start(): void {
    this.job.start();
  }

  stop(): Promise<void> {
    return this.job.stop();
  }

  /** One round now, unless one is in progress. */
  async tick(): Promise<void> {
    await this.job.tick();
  }

  private async pickUp({ share, stillOwner }: RoomJobRound): Promise<void> {
    const { ledger, logger, metrics } = this.options;
    const inShare = new Set(share.ended.map((room) => room.id));
    for (const room of this.done) if (!inShare.has(room)) this.done.delete(room);
    const due = share.ended.filter((room) => !this.done.has(room.id));
    await inParallel(due, this.options.concurrency, async (room) => {
      if (!stillOwner()) return;
      const ledgerRoom = { id: room.id, hostId: room.hostId };
      try {
        await ledger.closeRoom(ledgerRoom);
        await this.options.settle(ledgerRoom);
        this.done.add(room.id);
        metrics?.settlementPickups.inc({ outcome: 'ok' });
      } catch (err) {
        metrics?.settlementPickups.inc({ outcome: 'failed' });
        logger.warn({ err, room: room.id }, 'ended room not settled by the pick-up; retrying next round');
      }
    });
  }
}
