import type { Logger } from 'pino';
import type { RoomcastMetrics } from '../observability/metrics.ts';
import type { GiftEventPublisher } from './gift-event-publisher.ts';
import { PeriodicTask } from './periodic-task.ts';
import type { GiftOutbox } from './ports/ledger.ts';

export interface OutboxRelayOptions {
  outbox: GiftOutbox;
  publisher: GiftEventPublisher;
  leaseMs: number;
  batchSize: number;
  intervalMs: number;
  logger: Logger;
  metrics?: RoomcastMetrics;
  /** Rounds per shard per run at most, so one run's work is bounded; the next run goes on. */
  maxBatchesPerRun?: number;
}

/** What one relay run did. */
export interface OutboxRelayRun {
  published: number;
  failed: number;
}

/**
 * The outbox relay: the safety net that publishes every gift event whose request did not (it
 * crashed after COMMIT, the bus failed, a shard stalled). Each run claims due rows shard by shard
 * — rows still leased to a live request are not due — and publishes them oldest first.
 *
 * At least once, never for money that did not move (see GiftEventPublisher). Safe to run in many
 * processes at once: claims hand each row to one of them. A shard that is down is logged and
 * retried next run while the others go on.
 */
export class OutboxRelay {
  private readonly task: PeriodicTask<OutboxRelayRun>;

  constructor(private readonly options: OutboxRelayOptions) {
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
  tick(): Promise<OutboxRelayRun | undefined> {
    return this.task.tick();
  }

  /** One run over every shard; never rejects. */
  async runOnce(): Promise<OutboxRelayRun> {
    const { outbox, publisher, leaseMs, batchSize, logger } = this.options;
    const run: OutboxRelayRun = { published: 0, failed: 0 };
    const maxBatches = this.options.maxBatchesPerRun ?? 50;
    await Promise.all(
      Array.from({ length: outbox.shardCount }, async (_, shard) => {
        try {
          for (let batch = 0; batch < maxBatches; batch++) {
            const claims = await outbox.claimDue(shard, batchSize, leaseMs);
            for (const claim of claims) {
              try {
                await publisher.publishClaimed(claim, 'relay');
                run.published++;
              } catch (err) {
                run.failed++;
                logger.warn(
                  { err, transfer: claim.ref.transferId },
                  'gift event not relayed; retrying next run',
                );
              }
            }
            if (claims.length < batchSize) break;
          }
        } catch (err) {
          run.failed++;
          logger.warn({ err, shard }, 'outbox relay could not read a balance shard; retrying next run');
        }
      }),
    );
    if (run.published > 0) logger.info(run, 'relayed gift events');
    return run;
  }
}
