import { randomUUID } from 'node:crypto';
import type { JsonObject } from '@roomcast/protocol';
import type { GiftOutbox, OutboxClaim, OutboxRef, OutboxStatus } from '../../../core/ports/ledger.ts';
import type { LedgerShard, LedgerShards } from './ledger-shards.ts';

interface OutboxRow {
  transfer_id: string;
  room_id: string;
  from_user: string;
  data: JsonObject | string;
}

/**
 * SqlGiftOutbox: the GiftOutbox port over each balance shard's `gift_outbox` table.
 *
 * Claims are conditional UPDATEs (unpublished, lease free or expired), so of two callers racing
 * for one row exactly one gets it back; `claimDue` also skips rows another relay has locked
 * (SKIP LOCKED) instead of waiting for them. Leases run on the database's clock, never a
 * process's. Marking requires the claim's token, so a publisher that lost its lease cannot mark.
 */
export class SqlGiftOutbox implements GiftOutbox {
  constructor(private readonly shards: LedgerShards) {}

  get shardCount(): number {
    return this.shards.count;
  }

  async claim(ref: OutboxRef, leaseMs: number): Promise<OutboxClaim | undefined> {
    const shard = this.shards.at(ref.shard);
    const token = randomUUID();
    const { rows } = await this.shards.run(shard, (db) =>
      db.query<OutboxRow>(
        `UPDATE ${shard.t('gift_outbox')}
         SET lease_token = $2, lease_until = now() + $3::bigint * interval '1 millisecond'
         WHERE transfer_id = $1 AND published_at IS NULL AND (lease_until IS NULL OR lease_until < now())
         RETURNING transfer_id, room_id, from_user, data`,
        [ref.transferId, token, leaseMs],
      ),
    );
    return rows[0] && claimOf(shard, rows[0], token);
  }

  async claimDue(shardIndex: number, limit: number, leaseMs: number): Promise<OutboxClaim[]> {
    const shard = this.shards.at(shardIndex);
    const token = randomUUID();
    const { rows } = await this.shards.run(shard, (db) =>
      db.query<OutboxRow & { created_at: Date }>(
        `UPDATE ${shard.t('gift_outbox')} o
         SET lease_token = $1, lease_until = now() + $3::bigint * interval '1 millisecond'
         FROM (
           SELECT transfer_id FROM ${shard.t('gift_outbox')}
           WHERE published_at IS NULL AND (lease_until IS NULL OR lease_until < now())
           ORDER BY created_at
           LIMIT $2
           FOR UPDATE SKIP LOCKED
         ) due
         WHERE o.transfer_id = due.transfer_id
         RETURNING o.transfer_id, o.room_id, o.from_user, o.data, o.created_at`,
        [token, limit, leaseMs],
      ),
    );
    // RETURNING has no order: publish oldest first, so a room's gifts keep their order.
    rows.sort((a, b) => new Date(a.created_at).getTime() - new Date(b.created_at).getTime());
    return rows.map((row) => claimOf(shard, row, token));
  }

  async markPublished(claim: OutboxClaim, seq: number): Promise<boolean> {
    const shard = this.shards.at(claim.ref.shard);
    const result = await this.shards.run(shard, (db) =>
      db.query(
        `UPDATE ${shard.t('gift_outbox')}
         SET published_at = now(), seq = $3, lease_token = NULL, lease_until = NULL
         WHERE transfer_id = $1 AND lease_token = $2 AND published_at IS NULL`,
        [claim.ref.transferId, claim.token, seq],
      ),
    );
    return (result.affectedRows ?? 0) > 0;
  }

  async release(claim: OutboxClaim): Promise<void> {
    const shard = this.shards.at(claim.ref.shard);
    await this.shards.run(shard, (db) =>
      db.query(
        `UPDATE ${shard.t('gift_outbox')} SET lease_token = NULL, lease_until = NULL
         WHERE transfer_id = $1 AND lease_token = $2 AND published_at IS NULL`,
        [claim.ref.transferId, claim.token],
      ),
    );
  }

  async status(ref: OutboxRef): Promise<OutboxStatus> {
    const shard = this.shards.at(ref.shard);
    const { rows } = await this.shards.run(shard, (db) =>
      db.query<{ seq: unknown; leased: boolean }>(
        `SELECT seq, coalesce(lease_until > now(), false) AS leased
         FROM ${shard.t('gift_outbox')} WHERE transfer_id = $1`,
        [ref.transferId],
      ),
    );
    const row = rows[0];
    if (row === undefined) return undefined;
    if (row.seq !== null && row.seq !== undefined) return { published: true, seq: Number(row.seq) };
    return { published: false, leased: row.leased };
  }
}

function claimOf(shard: LedgerShard, row: OutboxRow, token: string): OutboxClaim {
  const data = typeof row.data === 'string' ? (JSON.parse(row.data) as JsonObject) : row.data;
  return {
    ref: { shard: shard.index, transferId: row.transfer_id },
    token,
    event: { roomId: row.room_id, from: row.from_user, data },
  };
}
