import { inParallel } from './in-parallel.ts';
import { type RoomJobRound, type RoomJobWiring, ShardedRoomJob } from './partitioned-room-job.ts';
import type { Ledger } from './ports/ledger.ts';

/** The settlement pick-up's name in the job membership. */
export const SETTLEMENT_PICKUP_JOB = 'settlement';

export interface SettlementPickupOptions extends RoomJobWiring {
  ledger: Pick<Ledger, 'closeRoom'>;
  /** Rooms closed at once. */
  concurrency: number;
}

/**
 * Settlement pick-up (a PartitionedRoomJob): every settler takes its share of the rooms that
 * OngoingQuery saw end and closes their accounts, which marks their settlement due, so the
 * settler's claim loop pays them within its next round. The API closes a room's accounts when it
 * ends it and this is then a no-op (a few index lookups, once per room); it is what brings a room
 * whose close never reached the ledger (a crash between the two) to settlement within seconds
 * rather than at the settler's next reconciliation of open accounts (`settler.recheckIntervalMs`).
 *
 * The reconciliation stays: it settles a room that ended while no OngoingQuery was running.
 * Closing is idempotent, so a room two settlers pick up during a membership change changes nothing
 * the second time, and the claim loop's leases and the ledger's keys pay it once.
 */
export class SettlementPickup extends ShardedRoomJob {
  /** Rooms of the share this settler already closed: not closed again while they stay in it. */
  private readonly done = new Set<string>();

  constructor(private readonly options: SettlementPickupOptions) {
    super(SETTLEMENT_PICKUP_JOB, options);
  }

  protected async round({ share, stillOwner }: RoomJobRound): Promise<void> {
    const { ledger, logger, metrics } = this.options;
    const inShare = new Set(share.ended.map((room) => room.id));
    for (const room of this.done) if (!inShare.has(room)) this.done.delete(room);
    const due = share.ended.filter((room) => !this.done.has(room.id));
    await inParallel(due, this.options.concurrency, async (room) => {
      if (!stillOwner()) return;
      try {
        await ledger.closeRoom({ id: room.id, hostId: room.hostId });
        this.done.add(room.id);
        metrics?.settlementPickups.inc({ outcome: 'ok' });
      } catch (err) {
        metrics?.settlementPickups.inc({ outcome: 'failed' });
        logger.warn({ err, room: room.id }, 'ended room not closed by the pick-up; retrying next round');
      }
    });
  }
}
