import type { Logger } from 'pino';
import type { RoomcastMetrics } from '../observability/metrics.ts';
import { PeriodicTask } from './periodic-task.ts';
import type { ReplayRecords } from './ports/ledger.ts';

/** Outbox rows are kept this much longer than keys, so no key that is still kept points at a pruned row. */
const OUTBOX_MARGIN_MS = 3_600_000;
/** At most this many statements per kind per shard per round: a huge backlog drains over rounds. */
const MAX_BATCHES_PER_ROUND = 100;

/** What one round deleted. */
export interface PruneRound {
  keys: number;
  outbox: number;
}

/**
 * The worker's replay-window pruning: per balance shard, delete idempotency keys older than the
 * window, then — only when every such key is gone — published outbox rows older than the window
 * plus a margin. Safe in several workers at once (each DELETE takes its own rows).
 */
export class ReplayPruningJob {
  private readonly task: PeriodicTask<PruneRound>;

  constructor(
    private readonly deps: {
      records: ReplayRecords;
      windowMs: number;
      batchSize: number;
      intervalMs: number;
      logger: Logger;
      metrics: RoomcastMetrics;
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

  /** One round now (tests); undefined when one is already running. */
  tick(): Promise<PruneRound | undefined> {
    return this.task.tick();
  }

  private async runOnce(): Promise<PruneRound> {
    const total: PruneRound = { keys: 0, outbox: 0 };
    for (let shard = 0; shard < this.deps.records.shardCount; shard++) {
      try {
        const round = await this.pruneShard(shard);
        total.keys += round.keys;
        total.outbox += round.outbox;
      } catch (err) {
        this.deps.logger.warn({ err, shard }, 'replay record pruning failed; next round retries');
      }
    }
    if (total.keys + total.outbox > 0) this.deps.logger.info(total, 'pruned replay records past the window');
    return total;
  }

  private async pruneShard(shard: number): Promise<PruneRound> {
    const { records, windowMs, batchSize, metrics } = this.deps;
    const round: PruneRound = { keys: 0, outbox: 0 };
    let keysDone = false;
    for (let i = 0; i < MAX_BATCHES_PER_ROUND; i++) {
      const deleted = await records.pruneKeys(shard, windowMs, batchSize);
      round.keys += deleted;
      metrics.replayRecordsPruned.inc({ kind: 'idempotency_key' }, deleted);
      if (deleted < batchSize) {
        keysDone = true;
        break;
      }
    }
    // Keys left over (a backlog): their outbox rows wait for a later round.
    if (!keysDone) return round;
    for (let i = 0; i < MAX_BATCHES_PER_ROUND; i++) {
      const deleted = await records.pruneOutbox(shard, windowMs + OUTBOX_MARGIN_MS, batchSize);
      round.outbox += deleted;
      metrics.replayRecordsPruned.inc({ kind: 'gift_outbox' }, deleted);
      if (deleted < batchSize) break;
    }
    return round;
  }
}
