import type { ReplayRecords } from '../../../core/ports/ledger.ts';
import type { LedgerShards } from './ledger-shards.ts';

/**
 * SqlReplayRecords: ReplayRecords over each balance shard's `idempotency_keys` and `gift_outbox`.
 * Each call is one bounded DELETE of the oldest rows past the window (on the database's clock),
 * so pruning never holds long locks or competes with gifts for long.
 */
export class SqlReplayRecords implements ReplayRecords {
  constructor(private readonly shards: LedgerShards) {}

  get shardCount(): number {
    return this.shards.count;
  }

  async pruneKeys(shardIndex: number, olderThanMs: number, limit: number): Promise<number> {
    const shard = this.shards.at(shardIndex);
    const table = shard.t('idempotency_keys');
    const result = await this.shards.run(shard, (db) =>
      db.query(
        `DELETE FROM ${table} k USING (
           SELECT scope, key FROM ${table}
           WHERE created_at < now() - $1::bigint * interval '1 millisecond'
           ORDER BY created_at
           LIMIT $2
         ) old
         WHERE k.scope = old.scope AND k.key = old.key`,
        [Math.floor(olderThanMs), limit],
      ),
    );
    return result.affectedRows ?? 0;
  }

  async pruneOutbox(shardIndex: number, olderThanMs: number, limit: number): Promise<number> {
    const shard = this.shards.at(shardIndex);
    const table = shard.t('gift_outbox');
    const result = await this.shards.run(shard, (db) =>
      db.query(
        `DELETE FROM ${table} o USING (
           SELECT transfer_id FROM ${table}
           WHERE published_at IS NOT NULL AND published_at < now() - $1::bigint * interval '1 millisecond'
           ORDER BY published_at
           LIMIT $2
         ) old
         WHERE o.transfer_id = old.transfer_id`,
        [Math.floor(olderThanMs), limit],
      ),
    );
    return result.affectedRows ?? 0;
  }
}
