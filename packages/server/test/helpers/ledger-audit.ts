import type { LedgerShards } from '../../src/adapters/sql/ledger/ledger-shards.ts';

/** Everything the money invariant needs, read straight from every balance shard's tables. */
export interface LedgerAudit {
  /** Sum of all admin top-ups (transfers of kind `credit`). */
  topUps: bigint;
  /** Sum of all user balances. */
  balances: bigint;
  /** Sum of all room accounts not yet paid out (open or closed). */
  roomAccounts: bigint;
  /** Sum of settlement intents whose credit has not reached the host's shard yet. */
  unsettled: bigint;
  /** Transfer IDs that appear more than once, over all shards. */
  duplicateTransfers: string[];
  /** Local consistency failures: a balance that differs from the sum of its transfers, and the like. */
  inconsistencies: string[];
  /** Per user: balance. */
  userBalances: Map<string, bigint>;
  /** Per room: everything received, over all shards. */
  roomReceived: Map<string, bigint>;
  /** Per room: what its hosts were credited by settlement. */
  roomPaid: Map<string, bigint>;
  /** Per room: its settlement status in the host's shard. */
  settlementStatus: Map<string, string>;
  /** Per (room, source shard): how many settle_in transfers exist (exactly-once means at most 1). */
  creditsPerIntent: Map<string, number>;
}

const big = (v: unknown): bigint => BigInt(String(v));

function add(map: Map<string, bigint>, key: string, amount: bigint): void {
  map.set(key, (map.get(key) ?? 0n) + amount);
}

/**
 * Reads every shard and returns the audit. The money invariant is
 * `balances + roomAccounts + unsettled == topUps`: money enters only by top-ups and never leaves.
 * Also checks, per shard, that each balance equals the sum of its transfers (credits and
 * settlement credits in, gifts out) and each room account equals its gifts minus its payout.
 * Exact in BigInt: sums of large balances pass 2^53.
 */
export async function auditLedger(shards: LedgerShards): Promise<LedgerAudit> {
  const audit: LedgerAudit = {
    topUps: 0n,
    balances: 0n,
    roomAccounts: 0n,
    unsettled: 0n,
    duplicateTransfers: [],
    inconsistencies: [],
    userBalances: new Map(),
    roomReceived: new Map(),
    roomPaid: new Map(),
    settlementStatus: new Map(),
    creditsPerIntent: new Map(),
  };
  const seen = new Set<string>();
  const intents: Array<{ room: string; host: string; shard: number; amount: bigint }> = [];
  const credited = new Set<string>();
  for (const shard of shards.all()) {
    const q = <R>(sql: string) => shard.client.query<R>(sql).then((r) => r.rows);
    const transfers = await q<{
      id: string;
      kind: string;
      user_id: string | null;
      room_id: string | null;
      amount: unknown;
    }>(`SELECT id, kind, user_id, room_id, amount FROM ${shard.t('transfers')}`);
    const userFlow = new Map<string, bigint>();
    const roomFlow = new Map<string, bigint>();
    for (const t of transfers) {
      if (seen.has(t.id)) audit.duplicateTransfers.push(t.id);
      seen.add(t.id);
      const amount = big(t.amount);
      switch (t.kind) {
        case 'credit':
          audit.topUps += amount;
          add(userFlow, t.user_id as string, amount);
          break;
        case 'gift':
          add(userFlow, t.user_id as string, -amount);
          add(roomFlow, t.room_id as string, amount);
          break;
        case 'settle_out':
          add(roomFlow, t.room_id as string, -amount);
          break;
        case 'settle_in': {
          add(userFlow, t.user_id as string, amount);
          add(audit.roomPaid, t.room_id as string, amount);
          const source = /^si:(.+):(\d+)$/.exec(t.id);
          const key = source ? `${source[1]}#${source[2]}` : `?${t.id}`;
          audit.creditsPerIntent.set(key, (audit.creditsPerIntent.get(key) ?? 0) + 1);
          break;
        }
      }
    }
    for (const row of await q<{ user_id: string; balance: unknown }>(
      `SELECT user_id, balance FROM ${shard.t('balances')}`,
    )) {
      const balance = big(row.balance);
      audit.balances += balance;
      audit.userBalances.set(row.user_id, balance);
      if (balance !== (userFlow.get(row.user_id) ?? 0n)) {
        audit.inconsistencies.push(
          `shard ${shard.index}: balance of ${row.user_id} is ${balance}, transfers say ${userFlow.get(row.user_id)}`,
        );
      }
      userFlow.delete(row.user_id);
    }
    for (const [user, flow] of userFlow) {
      if (flow !== 0n)
        audit.inconsistencies.push(`shard ${shard.index}: ${user} has transfers of ${flow} but no balance`);
    }
    for (const row of await q<{ room_id: string; balance: unknown; received: unknown }>(
      `SELECT room_id, balance, received FROM ${shard.t('room_accounts')}`,
    )) {
      const balance = big(row.balance);
      audit.roomAccounts += balance;
      add(audit.roomReceived, row.room_id, big(row.received));
      if (balance !== (roomFlow.get(row.room_id) ?? 0n)) {
        audit.inconsistencies.push(
          `shard ${shard.index}: room account ${row.room_id} is ${balance}, transfers say ${roomFlow.get(row.room_id)}`,
        );
      }
    }
    for (const row of await q<{ room_id: string; host_id: string; amount: unknown }>(
      `SELECT room_id, host_id, amount FROM ${shard.t('settlement_intents')}`,
    )) {
      intents.push({ room: row.room_id, host: row.host_id, shard: shard.index, amount: big(row.amount) });
    }
    for (const row of await q<{ room_id: string; source_shard: number }>(
      `SELECT room_id, source_shard FROM ${shard.t('settlement_credits')}`,
    )) {
      credited.add(`${row.room_id}#${row.source_shard}`);
    }
    for (const row of await q<{ room_id: string; status: string }>(
      `SELECT room_id, status FROM ${shard.t('settlements')}`,
    )) {
      audit.settlementStatus.set(row.room_id, row.status);
    }
  }
  for (const intent of intents) {
    if (!credited.has(`${intent.room}#${intent.shard}`)) audit.unsettled += intent.amount;
  }
  return audit;
}

/** The money invariant's two sides, as strings for readable test failures. */
export function moneyInvariant(audit: LedgerAudit): { held: string; toppedUp: string } {
  return {
    held: String(audit.balances + audit.roomAccounts + audit.unsettled),
    toppedUp: String(audit.topUps),
  };
}
