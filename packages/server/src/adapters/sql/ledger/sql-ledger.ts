import { randomUUID } from 'node:crypto';
import type { JsonObject } from '@roomcast/protocol';
import type {
  CreditOutcome,
  CreditTransfer,
  GiftOutcome,
  GiftTransfer,
  Ledger,
  LedgerRoom,
  OutboxRef,
  SettlementRecord,
  TransferReceipt,
} from '../../../core/ports/ledger.ts';
import { type SqlClient, sqlStateOf } from '../sql-client.ts';
import { toAmount } from './amounts.ts';
import { type LedgerShard, type LedgerShards, Rollback } from './ledger-shards.ts';

/** check_violation: a balance would leave its range (above the JSON-safe maximum, or below zero). */
const CHECK_VIOLATION = '23514';

interface KeyRow {
  kind: string;
  request_hash: string;
  transfer_id: string;
  amount: unknown;
  balance_after: unknown;
}

/**
 * SqlLedger: the Ledger port on PostgreSQL or PGlite balance shards (see LedgerShards).
 *
 * A gift's transaction touches the viewer's rows first and the room account's row last: every
 * gift to the room from this shard waits for that row's lock, so it is held only from the last
 * statement to COMMIT. Credits keep their key in the caller's shard and apply in the user's shard
 * under a transfer ID stored with the key, so a retry repeats the same, at most once applied, credit.
 */
export class SqlLedger implements Ledger {
  constructor(
    private readonly shards: LedgerShards,
    private readonly options: { recheckIntervalMs: number },
  ) {}

  get shardCount(): number {
    return this.shards.count;
  }

  async openRoom(room: LedgerRoom): Promise<void> {
    const host = this.shards.ofUser(room.hostId);
    const recheck = this.options.recheckIntervalMs;
    await this.shards.run(host, (db) =>
      db.query(
        `INSERT INTO ${host.t('settlements')} (room_id, host_id, status, check_after)
         VALUES ($1, $2, 'open', now() + $3::bigint * interval '1 millisecond')
         ON CONFLICT (room_id) DO NOTHING`,
        [room.id, room.hostId, recheck],
      ),
    );
    await Promise.all(
      this.shards.all().map((shard) =>
        this.shards.run(shard, (db) =>
          db.query(
            `INSERT INTO ${shard.t('room_accounts')} (room_id, host_id, status, check_after)
             VALUES ($1, $2, 'open', now() + $3::bigint * interval '1 millisecond')
             ON CONFLICT (room_id) DO NOTHING`,
            [room.id, room.hostId, recheck],
          ),
        ),
      ),
    );
  }

  async closeRoom(room: LedgerRoom): Promise<void> {
    // The settlement record first: once it says `settling`, a settler finishes the job even if
    // some of the closes below fail (its debit step closes an account that is still open).
    const host = this.shards.ofUser(room.hostId);
    await this.shards.run(host, (db) =>
      db.query(
        `INSERT INTO ${host.t('settlements')} (room_id, host_id, status, ended_at)
         VALUES ($1, $2, 'settling', now())
         ON CONFLICT (room_id) DO UPDATE SET status = 'settling', ended_at = now()
         WHERE ${host.t('settlements')}.status = 'open'`,
        [room.id, room.hostId],
      ),
    );
    // An account that never opened in a shard is created closed, so no late gift can open it.
    await Promise.all(
      this.shards.all().map((shard) =>
        this.shards.run(shard, (db) =>
          db.query(
            `INSERT INTO ${shard.t('room_accounts')} (room_id, host_id, status, closed_at)
             VALUES ($1, $2, 'closed', now())
             ON CONFLICT (room_id) DO UPDATE SET status = 'closed', closed_at = now()
             WHERE ${shard.t('room_accounts')}.status = 'open'`,
            [room.id, room.hostId],
          ),
        ),
      ),
    );
  }

  async gift(transfer: GiftTransfer): Promise<GiftOutcome> {
    const shard = this.shards.ofUser(transfer.userId);
    const transferId = `g_${randomUUID()}`;
    const token = randomUUID();
    const data: JsonObject = {
      from: transfer.userId,
      gift: transfer.event.gift,
      count: transfer.event.count,
      amount: transfer.amount,
      transfer: transferId,
    };
    try {
      return await this.shards.tx<GiftOutcome>(shard, async (tx) => {
        // The key first: a concurrent first use of the same key makes this insert wait until
        // that transaction ends, so two requests with one key never both move money.
        const key = await tx.query(
          `INSERT INTO ${shard.t('idempotency_keys')} (scope, key, kind, request_hash, transfer_id)
           VALUES ($1, $2, 'gift', $3, $4) ON CONFLICT (scope, key) DO NOTHING RETURNING 1`,
          [transfer.userId, transfer.key, transfer.requestHash, transferId],
        );
        if (key.rows.length === 0) {
          const first = await this.keyRow(tx, shard, transfer.userId, transfer.key);
          if (first === undefined || first.kind !== 'gift' || first.request_hash !== transfer.requestHash) {
            return { kind: 'key_conflict' };
          }
          return {
            kind: 'replayed',
            transfer: receiptOf(first),
            outbox: { shard: shard.index, transferId: first.transfer_id },
          };
        }
        const debit = await tx.query<{ balance: unknown }>(
          `UPDATE ${shard.t('balances')} SET balance = balance - $2, updated_at = now()
           WHERE user_id = $1 AND balance >= $2 RETURNING balance`,
          [transfer.userId, transfer.amount],
        );
        const after = debit.rows[0];
        if (after === undefined) {
          throw new Rollback({
            kind: 'insufficient_funds',
            balance: await this.balanceIn(tx, shard, transfer.userId),
          } satisfies GiftOutcome);
        }
        const balance = toAmount(after.balance);
        await tx.query(
          `INSERT INTO ${shard.t('transfers')} (id, kind, user_id, room_id, amount, balance_after, gift, count)
           VALUES ($1, 'gift', $2, $3, $4, $5, $6, $7)`,
          [
            transferId,
            transfer.userId,
            transfer.room.id,
            transfer.amount,
            balance,
            transfer.event.gift,
            transfer.event.count,
          ],
        );
        // Written already leased to this request, which publishes right after COMMIT; the relay
        // takes over only if the lease runs out (the request crashed or failed to publish).
        await tx.query(
          `INSERT INTO ${shard.t('gift_outbox')} (transfer_id, room_id, from_user, data, lease_token, lease_until)
           VALUES ($1, $2, $3, $4::jsonb, $5, now() + $6::bigint * interval '1 millisecond')`,
          [transferId, transfer.room.id, transfer.userId, JSON.stringify(data), token, transfer.leaseMs],
        );
        if (!(await this.creditRoomAccount(tx, shard, transfer))) {
          throw new Rollback({ kind: 'room_closed' } satisfies GiftOutcome);
        }
        return {
          kind: 'applied',
          transfer: { id: transferId, amount: transfer.amount, balance },
          claim: {
            ref: { shard: shard.index, transferId },
            token,
            event: { roomId: transfer.room.id, from: transfer.userId, data },
          },
        };
      });
    } catch (err) {
      // The room account's total would pass the JSON-safe maximum; nothing was committed.
      if (sqlStateOf(err) === CHECK_VIOLATION) return { kind: 'overflow' };
      throw err;
    }
  }

  async findGift(
    userId: string,
    key: string,
  ): Promise<{ requestHash: string; transfer: TransferReceipt; outbox: OutboxRef } | undefined> {
    const shard = this.shards.ofUser(userId);
    const row = await this.shards.run(shard, (db) => this.keyRow(db, shard, userId, key));
    if (row === undefined || row.kind !== 'gift') return undefined;
    return {
      requestHash: row.request_hash,
      transfer: receiptOf(row),
      outbox: { shard: shard.index, transferId: row.transfer_id },
    };
  }

  async credit(transfer: CreditTransfer): Promise<CreditOutcome> {
    const scopeShard = this.shards.ofUser(transfer.scope);
    // Step 1, in the caller's shard: the key and the transfer ID it fixes for every retry.
    const transferId = await this.shards.run(scopeShard, async (db) => {
      const proposed = `c_${randomUUID()}`;
      const inserted = await db.query(
        `INSERT INTO ${scopeShard.t('idempotency_keys')} (scope, key, kind, request_hash, transfer_id)
         VALUES ($1, $2, 'credit', $3, $4) ON CONFLICT (scope, key) DO NOTHING RETURNING 1`,
        [transfer.scope, transfer.key, transfer.requestHash, proposed],
      );
      if (inserted.rows.length > 0) return proposed;
      const { rows } = await db.query<{ kind: string; request_hash: string; transfer_id: string }>(
        `SELECT kind, request_hash, transfer_id FROM ${scopeShard.t('idempotency_keys')}
         WHERE scope = $1 AND key = $2`,
        [transfer.scope, transfer.key],
      );
      const first = rows[0];
      return first !== undefined && first.kind === 'credit' && first.request_hash === transfer.requestHash
        ? first.transfer_id
        : undefined;
    });
    if (transferId === undefined) return { kind: 'key_conflict' };
    // Step 2, in the user's shard: the credit itself, once per transfer ID.
    const shard = this.shards.ofUser(transfer.userId);
    try {
      return await this.shards.tx<CreditOutcome>(shard, async (tx) => {
        const fresh = await tx.query(
          `INSERT INTO ${shard.t('transfers')} (id, kind, user_id, amount) VALUES ($1, 'credit', $2, $3)
           ON CONFLICT (id) DO NOTHING RETURNING 1`,
          [transferId, transfer.userId, transfer.amount],
        );
        if (fresh.rows.length === 0) {
          const { rows } = await tx.query<{ balance_after: unknown }>(
            `SELECT balance_after FROM ${shard.t('transfers')} WHERE id = $1`,
            [transferId],
          );
          return { kind: 'replayed', balance: toAmount(rows[0]?.balance_after), transferId };
        }
        const { rows } = await tx.query<{ balance: unknown }>(
          `INSERT INTO ${shard.t('balances')} (user_id, balance) VALUES ($1, $2)
           ON CONFLICT (user_id) DO UPDATE
           SET balance = ${shard.t('balances')}.balance + EXCLUDED.balance, updated_at = now()
           RETURNING balance`,
          [transfer.userId, transfer.amount],
        );
        const balance = toAmount(rows[0]?.balance);
        await tx.query(`UPDATE ${shard.t('transfers')} SET balance_after = $2 WHERE id = $1`, [
          transferId,
          balance,
        ]);
        return { kind: 'applied', balance, transferId };
      });
    } catch (err) {
      if (sqlStateOf(err) === CHECK_VIOLATION) return { kind: 'overflow' };
      throw err;
    }
  }

  async balance(userId: string): Promise<number> {
    const shard = this.shards.ofUser(userId);
    return this.shards.run(shard, (db) => this.balanceIn(db, shard, userId));
  }

  async settlement(room: LedgerRoom): Promise<SettlementRecord> {
    const host = this.shards.ofUser(room.hostId);
    const [record, accounts] = await Promise.all([
      this.shards.run(host, (db) =>
        db.query<{ status: 'open' | 'settling' | 'settled' }>(
          `SELECT status FROM ${host.t('settlements')} WHERE room_id = $1`,
          [room.id],
        ),
      ),
      Promise.all(
        this.shards
          .all()
          .map((shard) =>
            this.shards.run(shard, (db) =>
              db.query<{ received: unknown }>(
                `SELECT received FROM ${shard.t('room_accounts')} WHERE room_id = $1`,
                [room.id],
              ),
            ),
          ),
      ),
    ]);
    const rows = accounts.flatMap((r) => r.rows);
    return {
      status: record.rows[0]?.status,
      total: rows.reduce((sum, r) => sum + toAmount(r.received), 0),
      hasAccounts: rows.length > 0,
    };
  }

  async ping(): Promise<void> {
    await Promise.all(this.shards.all().map((shard) => this.shards.run(shard, (db) => db.query('SELECT 1'))));
  }

  close(): Promise<void> {
    return this.shards.close();
  }

  /**
   * Adds the gift to the room's account in the viewer's shard, if it is open; false when it is
   * closed or settled. Locks the row (UPDATE), so a close or a settlement debit running at the
   * same time either sees this gift committed or makes this statement find the account closed.
   */
  private async creditRoomAccount(
    tx: SqlClient,
    shard: LedgerShard,
    transfer: GiftTransfer,
  ): Promise<boolean> {
    const add = () =>
      tx.query(
        `UPDATE ${shard.t('room_accounts')} SET balance = balance + $2, received = received + $2
         WHERE room_id = $1 AND status = 'open' RETURNING 1`,
        [transfer.room.id, transfer.amount],
      );
    if ((await add()).rows.length > 0) return true;
    // No account here yet (the room's start did not reach this shard): open it, unless a close
    // got here first, which leaves a closed row that this insert does not replace.
    const opened = await tx.query(
      `INSERT INTO ${shard.t('room_accounts')} (room_id, host_id, status, check_after)
       VALUES ($1, $2, 'open', now() + $3::bigint * interval '1 millisecond')
       ON CONFLICT (room_id) DO NOTHING RETURNING 1`,
      [transfer.room.id, transfer.room.hostId, this.options.recheckIntervalMs],
    );
    return opened.rows.length > 0 && (await add()).rows.length > 0;
  }

  private async keyRow(
    db: SqlClient,
    shard: LedgerShard,
    scope: string,
    key: string,
  ): Promise<KeyRow | undefined> {
    const { rows } = await db.query<KeyRow>(
      `SELECT k.kind, k.request_hash, k.transfer_id, t.amount, t.balance_after
       FROM ${shard.t('idempotency_keys')} k JOIN ${shard.t('transfers')} t ON t.id = k.transfer_id
       WHERE k.scope = $1 AND k.key = $2`,
      [scope, key],
    );
    return rows[0];
  }

  private async balanceIn(db: SqlClient, shard: LedgerShard, userId: string): Promise<number> {
    const { rows } = await db.query<{ balance: unknown }>(
      `SELECT balance FROM ${shard.t('balances')} WHERE user_id = $1`,
      [userId],
    );
    return rows[0] === undefined ? 0 : toAmount(rows[0].balance);
  }
}

function receiptOf(row: KeyRow): TransferReceipt {
  return { id: row.transfer_id, amount: toAmount(row.amount), balance: toAmount(row.balance_after) };
}
