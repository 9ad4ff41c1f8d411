import type { Logger } from 'pino';
import type { RoomcastMetrics } from '../observability/metrics.ts';
import { RoomcastError } from './errors.ts';
import type { GiftEvent, GiftOutbox, OutboxClaim, OutboxRef } from './ports/ledger.ts';

/** Appends a gift event to its room (RoomEvents.publishSystem) and returns its seq. */
export type PublishGiftEvent = (event: GiftEvent) => Promise<number>;

export interface GiftEventPublisherOptions {
  outbox: GiftOutbox;
  publish: PublishGiftEvent;
  leaseMs: number;
  metrics?: RoomcastMetrics;
  logger?: Logger;
  /** How often a replay polls an outbox row another publisher holds. */
  pollMs?: number;
}

/**
 * Publishes gift events from the outbox: used by the gift request right after its COMMIT, by
 * replays of a gift whose event is not out yet, and by the relay for everything left behind.
 *
 * Publication is at least once per committed gift and never for an uncommitted one (only outbox
 * rows are published, and a gift's row commits with its money). A claim is held by one publisher
 * at a time, so the only duplicate comes from a publisher that stopped between publishing and
 * marking (a crash, a shard outage, a stall past the lease): the next holder publishes again with
 * the same `data.transfer`, which clients use to drop the second copy.
 */
export class GiftEventPublisher {
  constructor(private readonly options: GiftEventPublisherOptions) {}

  /**
   * Publishes a claimed row's event, marks the row and returns the event's seq. When publishing
   * fails the claim is released for the relay and the error rethrown; when only marking fails the
   * event is out, so its seq is returned and the row (still unmarked) may be published again later.
   */
  async publishClaimed(claim: OutboxClaim, by: 'request' | 'relay' | 'replay'): Promise<number> {
    const { outbox, metrics, logger } = this.options;
    let seq: number;
    try {
      seq = await this.options.publish(claim.event);
    } catch (err) {
      await outbox.release(claim).catch(() => undefined);
      throw err;
    }
    metrics?.giftEventsPublished.inc({ by });
    try {
      if (!(await outbox.markPublished(claim, seq))) {
        metrics?.giftOutboxLeaseLost.inc();
        logger?.warn({ transfer: claim.ref.transferId }, 'gift event published after its lease ran out');
      }
    } catch (err) {
      logger?.warn(
        { err, transfer: claim.ref.transferId },
        'gift event published but not marked; the relay will repeat it',
      );
    }
    return seq;
  }

  /**
   * The seq of a committed gift's event, publishing it first if nobody has: waits while another
   * publisher holds the row (the first request, still publishing) and takes the row over once its
   * lease runs out. 503 `unavailable` if it is still not out after about one lease.
   */
  async ensurePublished(ref: OutboxRef): Promise<number> {
    const { outbox, leaseMs } = this.options;
    const pollMs = this.options.pollMs ?? 20;
    const deadline = Date.now() + leaseMs + 1_000;
    for (;;) {
      const status = await outbox.status(ref);
      if (status === undefined) throw new Error(`gift ${ref.transferId} has no outbox row`);
      if (status.published) return status.seq;
      if (!status.leased) {
        const claim = await outbox.claim(ref, leaseMs);
        if (claim !== undefined) return this.publishClaimed(claim, 'replay');
      }
      if (Date.now() > deadline) {
        throw new RoomcastError(
          'unavailable',
          'the gift went through but its event is not out yet; retry',
          1,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  }
}
