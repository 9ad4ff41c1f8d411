import type { Room } from '@roomcast/protocol';
import type { Logger } from 'pino';
import type { RoomcastMetrics } from '../observability/metrics.ts';
import { inParallel } from './in-parallel.ts';
import { PeriodicTask } from './periodic-task.ts';
import type { Ledger, LedgerRoom, SettlementStore } from './ports/ledger.ts';

export interface SettlerOptions {
  store: SettlementStore;
  /** Closes the accounts of rooms whose end the ledger missed (found by reconciliation). */
  ledger: Pick<Ledger, 'closeRoom'>;
  /** The rooms store, the truth about which rooms ended; undefined turns reconciliation off. */
  rooms: { get(id: string): Promise<Room | undefined> } | undefined;
  batchSize: number;
  concurrency: number;
  leaseMs: number;
  recheckIntervalMs: number;
  intervalMs: number;
  logger: Logger;
  metrics?: RoomcastMetrics;
  /** Claim rounds per shard per run at most, so one run's work is bounded; the next run goes on. */
  maxBatchesPerRun?: number;
}

/** What one settler run did. */
export interface SettlementRun {
  /** Rooms whose settlement this run completed. */
  settled: number;
  /** Host credits this run applied (a source shard's total reaching the host). */
  credits: number;
  /** Rooms this run found ended in the rooms store though the ledger still had them open. */
  reconciled: number;
  failed: number;
}

/**
 * The settler: pays ended rooms' totals to their hosts. For each room it claims in a host shard,
 * and for each source shard: debit the room account into a recorded intent, credit the host under
 * the intent's deterministic transfer ID, mark the intent credited (see SettlementStore). Every
 * step is idempotent and recorded, so a settler killed anywhere is simply run again; several at
 * once never pay twice (the store's locks and keys), and their claims keep them off each other's rooms.
 *
 * It also reconciles: open room accounts that have not been checked for `recheckIntervalMs` are
 * looked up in the rooms store, and those of ended rooms are closed and settled — rooms whose end
 * never reached the ledger (a crash between ending the room and closing its accounts). A room the
 * rooms store does not know is left alone and logged: absence is not proof that it ended.
 */
export class Settler {
  private readonly task: PeriodicTask<SettlementRun>;

  constructor(private readonly options: SettlerOptions) {
    this.task = new PeriodicTask(options.intervalMs, () => this.runOnce());
    // Both series from the start, so an alert on errors or on a stalled success has data to read.
    options.metrics?.settlerRuns.inc({ outcome: 'ok' }, 0);
    options.metrics?.settlerRuns.inc({ outcome: 'error' }, 0);
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
  tick(): Promise<SettlementRun | undefined> {
    return this.task.tick();
  }

  /** Reconciles, then settles every due room of every host shard; never rejects. */
  async runOnce(): Promise<SettlementRun> {
    const run: SettlementRun = { settled: 0, credits: 0, reconciled: 0, failed: 0 };
    await this.reconcile(run);
    const { store, batchSize, leaseMs, logger } = this.options;
    const maxBatches = this.options.maxBatchesPerRun ?? 20;
    await Promise.all(
      Array.from({ length: store.shardCount }, async (_, shard) => {
        try {
          for (let batch = 0; batch < maxBatches; batch++) {
            const claims = await store.claimDue(shard, batchSize, leaseMs);
            await inParallel(claims, this.options.concurrency, async ({ room }) => {
              try {
                const outcome = await this.settleRoom(room);
                run.credits += outcome.credits;
                if (outcome.settled) run.settled++;
              } catch (err) {
                run.failed++;
                this.options.metrics?.settlementFailures.inc();
                logger.warn({ err, room: room.id }, 'room not settled yet; retrying next run');
              }
            });
            if (claims.length < batchSize) break;
          }
        } catch (err) {
          run.failed++;
          logger.warn({ err, shard }, 'settler could not read a balance shard; retrying next run');
        }
      }),
    );
    if (run.settled > 0 || run.reconciled > 0) logger.info(run, 'settled ended rooms');
    const { metrics } = this.options;
    metrics?.settlerRuns.inc({ outcome: run.failed === 0 ? 'ok' : 'error' });
    if (run.failed === 0) metrics?.settlerLastSuccess.set(Date.now() / 1000);
    return run;
  }

  /**
   * Settles one room from every source shard; resolves with whether the room is now settled.
   * Safe to call for any room at any time, repeatedly, from several processes: only a room that
   * is closed (or found ended) should be passed, since its accounts are closed by the debit.
   */
  async settleRoom(room: LedgerRoom): Promise<{ settled: boolean; credits: number }> {
    const { store, metrics } = this.options;
    const results = await Promise.all(
      Array.from({ length: store.shardCount }, async (_, shard) => {
        const intent = await store.debitRoomAccount(room, shard);
        const result = await store.creditHost(intent);
        await store.markCredited(intent);
        if (result.credited && intent.amount > 0) metrics?.settlementCredits.inc();
        return result;
      }),
    );
    const settled = results.some((r) => r.settled);
    if (settled) metrics?.settlementsCompleted.inc();
    return { settled, credits: results.filter((r) => r.credited).length };
  }

  /** Finds rooms the rooms store says ended while the ledger still has them open, and closes them. */
  private async reconcile(run: SettlementRun): Promise<void> {
    const { store, rooms, ledger, batchSize, recheckIntervalMs, logger } = this.options;
    if (rooms === undefined) return;
    for (let shard = 0; shard < store.shardCount; shard++) {
      try {
        const due = await store.dueForCheck(shard, batchSize);
        const stillOpen: string[] = [];
        for (const room of due) {
          let found: Room | undefined;
          try {
            found = await rooms.get(room.id);
          } catch (err) {
            logger.warn({ err, room: room.id }, 'room not checked: the rooms store did not answer');
            continue;
          }
          if (found?.status === 'ended') {
            await ledger.closeRoom(room);
            run.reconciled++;
          } else {
            if (found === undefined)
              logger.warn({ room: room.id }, 'open room account of a room the rooms store does not know');
            stillOpen.push(room.id);
          }
        }
        await store.postponeCheck(shard, stillOpen, recheckIntervalMs);
      } catch (err) {
        run.failed++;
        logger.warn({ err, shard }, 'reconciliation could not read a balance shard; retrying next run');
      }
    }
  }
}
