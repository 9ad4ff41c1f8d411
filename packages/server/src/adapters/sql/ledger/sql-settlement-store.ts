import type {
  LedgerRoom,
  SettlementClaim,
  SettlementIntent,
  SettlementStore,
} from '../../../core/ports/ledger.ts';
import { sqlStateOf } from '../sql-client.ts';
import { toAmount } from './amounts.ts';
import { LedgerError, type LedgerShards } from './ledger-shards.ts';

/** Thrown by `creditHost` when the host's balance would pass the JSON-safe maximum: needs an operator. */
export class SettlementOverflowError extends LedgerError {
  override readonly name = 'SettlementOverflowError';
  override readonly code = 'settlement_overflow';
}

/**
 * The deterministic transfer IDs of a room's settlement from one source shard: the debit of the
 * room account there (`so:`) and the host's credit (`si:`). Fixed by (room, shard), so every retry
 * and every concurrent settler names the same transfers, and the primary keys admit each once.
 */
export function settlementTransferIds(roomId: string, sourceShard: number): { out: string; in: string } {
  return { out: `so:${roomId}:${sourceShard}`, in: `si:${roomId}:${sourceShard}` };
}

/**
 * SqlSettlementStore: the SettlementStore port over the balance shards (see the port for the
 * steps and why a crash at any point is safe). Each step is one local transaction that locks the
 * row it decides on — the room account in the source shard, the settlement record in the host's —
 * so steps of concurrent settlers on one room run one after the other and see each other's work.
 */
export class SqlSettlementStore implements SettlementStore {
  constructor(private readonly shards: LedgerShards) {}

  get shardCount(): number {
    return this.shards.count;
  }

  async claimDue(shardIndex: number, limit: number, leaseMs: number): Promise<SettlementClaim[]> {
    const shard = this.shards.at(shardIndex);
    const { rows } = await this.shards.run(shard, (db) =>
      db.query<{ room_id: string; host_id: string }>(
        `UPDATE ${shard.t('settlements')} s
         SET lease_until = now() + $2::bigint * interval '1 millisecond'
         FROM (
           SELECT room_id FROM ${shard.t('settlements')}
           WHERE status = 'settling' AND (lease_until IS NULL OR lease_until < now())
           ORDER BY ended_at
           LIMIT $1
           FOR UPDATE SKIP LOCKED
         ) due
         WHERE s.room_id = due.room_id
         RETURNING s.room_id, s.host_id`,
        [limit, leaseMs],
      ),
    );
    return rows.map((r) => ({ room: { id: r.room_id, hostId: r.host_id } }));
  }

  debitRoomAccount(room: LedgerRoom, sourceShard: number): Promise<SettlementIntent> {
    const shard = this.shards.at(sourceShard);
    const ids = settlementTransferIds(room.id, sourceShard);
    return this.shards.tx(shard, async (tx) => {
      // A shard the room's start never reached still gets an account, settled at zero, so that a
      // late gift cannot open one after the settlement.
      await tx.query(
        `INSERT INTO ${shard.t('room_accounts')} (room_id, host_id, status, closed_at)
         VALUES ($1, $2, 'closed', now()) ON CONFLICT (room_id) DO NOTHING`,
        [room.id, room.hostId],
      );
      const { rows } = await tx.query<{ status: string; balance: unknown }>(
        `SELECT status, balance FROM ${shard.t('room_accounts')} WHERE room_id = $1 FOR UPDATE`,
        [room.id],
      );
      const account = rows[0];
      if (account === undefined)
        throw new LedgerError(`room account ${room.id} vanished in shard ${sourceShard}`);
      if (account.status === 'settled') {
        const intent = await tx.query<{ amount: unknown; transfer_id: string | null }>(
          `SELECT amount, transfer_id FROM ${shard.t('settlement_intents')} WHERE room_id = $1`,
          [room.id],
        );
        const recorded = intent.rows[0];
        if (recorded === undefined) throw new LedgerError(`settled room account ${room.id} has no intent`);
        return { room, sourceShard, amount: toAmount(recorded.amount), transferId: recorded.transfer_id };
      }
      const amount = toAmount(account.balance);
      await tx.query(
        `UPDATE ${shard.t('room_accounts')}
         SET status = 'settled', balance = 0, closed_at = coalesce(closed_at, now()), settled_at = now()
         WHERE room_id = $1`,
        [room.id],
      );
      if (amount > 0) {
        await tx.query(
          `INSERT INTO ${shard.t('transfers')} (id, kind, room_id, amount) VALUES ($1, 'settle_out', $2, $3)`,
          [ids.out, room.id, amount],
        );
      }
      const transferId = amount > 0 ? ids.in : null;
      await tx.query(
        `INSERT INTO ${shard.t('settlement_intents')} (room_id, host_id, amount, transfer_id)
         VALUES ($1, $2, $3, $4)`,
        [room.id, room.hostId, amount, transferId],
      );
      return { room, sourceShard, amount, transferId };
    });
  }

  creditHost(intent: SettlementIntent): Promise<{ credited: boolean; settled: boolean }> {
    const { room } = intent;
    const host = this.shards.ofUser(room.hostId);
    return this.shards.tx(host, async (tx) => {
      // Normally there already; created when the room's end reached the ledger through the settler only.
      await tx.query(
        `INSERT INTO ${host.t('settlements')} (room_id, host_id, status, ended_at)
         VALUES ($1, $2, 'settling', now()) ON CONFLICT (room_id) DO NOTHING`,
        [room.id, room.hostId],
      );
      // Serializes the credits of one room, so the count below sees every committed one.
      await tx.query(`SELECT 1 FROM ${host.t('settlements')} WHERE room_id = $1 FOR UPDATE`, [room.id]);
      const fresh = await tx.query(
        `INSERT INTO ${host.t('settlement_credits')} (room_id, source_shard, amount, transfer_id)
         VALUES ($1, $2, $3, $4) ON CONFLICT (room_id, source_shard) DO NOTHING RETURNING 1`,
        [room.id, intent.sourceShard, intent.amount, intent.transferId],
      );
      const credited = fresh.rows.length > 0;
      if (credited && intent.amount > 0) {
        const { rows } = await tx
          .query<{ balance: unknown }>(
            `INSERT INTO ${host.t('balances')} (user_id, balance) VALUES ($1, $2)
             ON CONFLICT (user_id) DO UPDATE
             SET balance = ${host.t('balances')}.balance + EXCLUDED.balance, updated_at = now()
             RETURNING balance`,
            [room.hostId, intent.amount],
          )
          .catch((err: unknown) => {
            throw sqlStateOf(err) === '23514'
              ? new SettlementOverflowError(`host ${room.hostId}'s balance would pass the maximum`, {
                  cause: err,
                })
              : err;
          });
        await tx.query(
          `INSERT INTO ${host.t('transfers')} (id, kind, user_id, room_id, amount, balance_after)
           VALUES ($1, 'settle_in', $2, $3, $4, $5)`,
          [intent.transferId, room.hostId, room.id, intent.amount, toAmount(rows[0]?.balance)],
        );
      }
      const { rows } = await tx.query<{ n: unknown }>(
        `SELECT count(*) AS n FROM ${host.t('settlement_credits')} WHERE room_id = $1`,
        [room.id],
      );
      const settled = Number(rows[0]?.n) >= this.shards.count;
      if (settled) {
        await tx.query(
          `UPDATE ${host.t('settlements')}
           SET status = 'settled', settled_at = now(), lease_until = NULL,
               ended_at = coalesce(ended_at, now())
           WHERE room_id = $1 AND status <> 'settled'`,
          [room.id],
        );
      }
      return { credited, settled };
    });
  }

  async markCredited(intent: SettlementIntent): Promise<void> {
    const shard = this.shards.at(intent.sourceShard);
    await this.shards.run(shard, (db) =>
      db.query(
        `UPDATE ${shard.t('settlement_intents')} SET credited_at = now() WHERE room_id = $1 AND credited_at IS NULL`,
        [intent.room.id],
      ),
    );
  }

  async dueForCheck(shardIndex: number, limit: number): Promise<LedgerRoom[]> {
    const shard = this.shards.at(shardIndex);
    const { rows } = await this.shards.run(shard, (db) =>
      db.query<{ room_id: string; host_id: string }>(
        `(SELECT room_id, host_id FROM ${shard.t('room_accounts')}
          WHERE status = 'open' AND check_after <= now() ORDER BY check_after LIMIT $1)
         UNION
         (SELECT room_id, host_id FROM ${shard.t('settlements')}
          WHERE status = 'open' AND check_after <= now() ORDER BY check_after LIMIT $1)`,
        [limit],
      ),
    );
    return rows.map((r) => ({ id: r.room_id, hostId: r.host_id }));
  }

  async postponeCheck(shardIndex: number, roomIds: readonly string[], afterMs: number): Promise<void> {
    if (roomIds.length === 0) return;
    const shard = this.shards.at(shardIndex);
    const ids = [...roomIds];
    await this.shards.run(shard, async (db) => {
      for (const table of ['room_accounts', 'settlements']) {
        await db.query(
          `UPDATE ${shard.t(table)} SET check_after = now() + $2::bigint * interval '1 millisecond'
           WHERE room_id = ANY($1::text[]) AND status = 'open'`,
          [ids, afterMs],
        );
      }
    });
  }
}
