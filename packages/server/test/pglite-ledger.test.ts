import { describe, expect, it } from 'vitest';
import { balanceShardOf } from '../src/adapters/sql/ledger/balance-shard.ts';
import { LedgerShardMismatchError } from '../src/adapters/sql/ledger/ledger-shards.ts';
import { openPgliteLedger } from '../src/adapters/sql/ledger/ledger-stores.ts';
import { openPglite } from '../src/adapters/sql/pglite-client.ts';
import { describeLedgerContract } from './contracts/ledger-contract.ts';

describeLedgerContract('PGlite (three balance shards as schemas of one database)', async () => {
  const client = await openPglite();
  const stores = await openPgliteLedger(client, { shardCount: 3, recheckIntervalMs: 600_000 });
  return {
    stores,
    close: async () => {
      await stores.close();
      await client.close();
    },
  };
});

describe('balance shards', () => {
  it('places users by a hash that never changes (SHA-256, first 4 bytes, modulo the count)', () => {
    // Fixed vectors: if these change, every deployment's users would move to other shards.
    const ids = ['us_alice', 'eu_bob', 'ap_carol', 'us_dave', 'eu_erin', 'ap_frank'];
    expect(ids.map((id) => balanceShardOf(id, 3))).toEqual([1, 2, 1, 2, 2, 1]);
    expect(ids.map((id) => balanceShardOf(id, 16))).toEqual([14, 9, 5, 3, 1, 5]);
    expect(ids.map((id) => balanceShardOf(id, 1))).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('spreads users about evenly', () => {
    const counts = [0, 0, 0];
    for (let i = 0; i < 30_000; i++) {
      const shard = balanceShardOf(`eu_user${i}`, 3);
      counts[shard] = (counts[shard] ?? 0) + 1;
    }
    for (const c of counts) expect(c).toBeGreaterThan(9_500);
  });

  it('refuses to start on shards created for another shard count', async () => {
    const client = await openPglite();
    try {
      const three = await openPgliteLedger(client, { shardCount: 3, recheckIntervalMs: 1000 });
      await three.ledger.credit({ scope: 'us_a', key: 'k', requestHash: 'h', userId: 'eu_x', amount: 1 });
      await expect(openPgliteLedger(client, { shardCount: 4, recheckIntervalMs: 1000 })).rejects.toThrow(
        LedgerShardMismatchError,
      );
      await expect(openPgliteLedger(client, { shardCount: 2, recheckIntervalMs: 1000 })).rejects.toThrow(
        /created as shard 0 of 3/,
      );
      // The same layout opens fine and still has the balance.
      const again = await openPgliteLedger(client, { shardCount: 3, recheckIntervalMs: 1000 });
      expect(await again.ledger.balance('eu_x')).toBe(1);
    } finally {
      await client.close();
    }
  });
});
