import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { balanceShardOf } from '../../src/adapters/sql/ledger/balance-shard.ts';
import type { LedgerStores } from '../../src/adapters/sql/ledger/ledger-stores.ts';
import { GiftEventPublisher } from '../../src/core/gift-event-publisher.ts';
import { OutboxRelay } from '../../src/core/outbox-relay.ts';
import type { GiftOutcome, GiftTransfer, LedgerRoom } from '../../src/core/ports/ledger.ts';
import { Settler } from '../../src/core/settler.ts';
import { auditLedger, moneyInvariant } from '../helpers/ledger-audit.ts';

/** What a ledger factory returns: the stores under test (at least 3 shards) and how to release them. */
export interface LedgerContractHandle {
  stores: LedgerStores;
  close(): Promise<void>;
}

const silent = pino({ level: 'silent' });

/** A small seeded PRNG (mulberry32): the random sequences are the same on every run and adapter. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The ledger contract: the Ledger, GiftOutbox and SettlementStore guarantees, and the money
 * invariant after random sequences of top-ups, gifts, room ends and (partial) settlements. `make`
 * is called once per suite; tests share the stores and stay apart by fresh user and room IDs, so
 * the invariant, which is global, must hold after every test.
 */
export function describeLedgerContract(adapterName: string, make: () => Promise<LedgerContractHandle>): void {
  describe(`ledger contract: ${adapterName}`, () => {
    let handle: LedgerContractHandle | undefined;
    const stores = (): LedgerStores => {
      if (!handle) throw new Error('the ledger factory failed');
      return handle.stores;
    };
    const run = randomUUID().slice(0, 8);
    let n = 0;
    const user = (region = 'eu') => `${region}_u${run}-${n++}`;
    const newRoom = (hostId = user('us')): LedgerRoom => ({ id: `us_r${run}-${n++}`, hostId });
    const settler = () =>
      new Settler({
        store: stores().settlements,
        ledger: stores().ledger,
        rooms: undefined,
        batchSize: 50,
        concurrency: 4,
        leaseMs: 30_000,
        recheckIntervalMs: 600_000,
        intervalMs: 3_600_000,
        logger: silent,
      });
    const topUp = async (userId: string, amount: number) => {
      const r = await stores().ledger.credit({
        scope: 'us_admin',
        key: randomUUID(),
        requestHash: randomUUID(),
        userId,
        amount,
      });
      expect(r.kind).toBe('applied');
    };
    const gift = (userId: string, room: LedgerRoom, amount: number, over: Partial<GiftTransfer> = {}) =>
      stores().ledger.gift({
        userId,
        key: randomUUID(),
        requestHash: `h${amount}`,
        room,
        amount,
        event: { gift: 'rose', count: 1 },
        leaseMs: 5_000,
        ...over,
      });
    const expectInvariant = async () => {
      const audit = await auditLedger(stores().shards);
      expect(audit.duplicateTransfers).toEqual([]);
      expect(audit.inconsistencies).toEqual([]);
      const { held, toppedUp } = moneyInvariant(audit);
      expect(held).toBe(toppedUp);
      for (const [intent, count] of audit.creditsPerIntent) expect([intent, count]).toEqual([intent, 1]);
      return audit;
    };

    beforeAll(async () => {
      handle = await make();
      expect(handle.stores.shards.count).toBeGreaterThanOrEqual(3);
    });
    afterAll(async () => {
      await handle?.close();
    });

    it('keeps balances and room accounts in range with database constraints, not only code', async () => {
      const viewer = user();
      await topUp(viewer, 5);
      const shard = stores().shards.ofUser(viewer);
      const set = (value: string) =>
        shard.client.query(`UPDATE ${shard.t('balances')} SET balance = $2::bigint WHERE user_id = $1`, [
          viewer,
          value,
        ]);
      await expect(set('-1')).rejects.toMatchObject({ code: '23514' });
      await expect(set('9007199254740992')).rejects.toMatchObject({ code: '23514' });
      expect(await stores().ledger.balance(viewer)).toBe(5);
      await expectInvariant();
    });

    it('credits once per key; the same key with another request is a conflict; keys are per caller', async () => {
      const target = user('ap');
      const key = randomUUID();
      const credit = (over: object = {}) =>
        stores().ledger.credit({
          scope: 'us_admin',
          key,
          requestHash: 'a',
          userId: target,
          amount: 70,
          ...over,
        });
      expect(await credit()).toMatchObject({ kind: 'applied', balance: 70 });
      expect(await credit()).toMatchObject({ kind: 'replayed', balance: 70 });
      expect(await credit({ requestHash: 'b', amount: 71 })).toEqual({ kind: 'key_conflict' });
      expect(await credit({ scope: 'eu_admin2' })).toMatchObject({ kind: 'applied', balance: 140 });
      const parallel = await Promise.all(
        Array.from({ length: 10 }, () =>
          stores().ledger.credit({
            scope: 'us_admin',
            key: `${key}-p`,
            requestHash: 'p',
            userId: target,
            amount: 1,
          }),
        ),
      );
      expect(parallel.filter((r) => r.kind === 'applied')).toHaveLength(1);
      expect(await stores().ledger.balance(target)).toBe(141);
      await expectInvariant();
    });

    it('refuses a credit that would pass the largest amount and moves nothing', async () => {
      const whale = user();
      await topUp(whale, Number.MAX_SAFE_INTEGER - 1);
      const r = await stores().ledger.credit({
        scope: 'us_admin',
        key: randomUUID(),
        requestHash: 'x',
        userId: whale,
        amount: 2,
      });
      expect(r).toEqual({ kind: 'overflow' });
      expect(await stores().ledger.balance(whale)).toBe(Number.MAX_SAFE_INTEGER - 1);
      await expectInvariant();
    });

    it('moves a gift from viewer to room account once, replays it by key, and refuses a changed request', async () => {
      const room = newRoom();
      await stores().ledger.openRoom(room);
      const viewer = user();
      await topUp(viewer, 100);
      const key = randomUUID();
      const first = await gift(viewer, room, 30, { key, requestHash: 'r1' });
      expect(first).toMatchObject({ kind: 'applied', transfer: { amount: 30, balance: 70 } });
      if (first.kind !== 'applied') return;
      expect(first.claim.event).toEqual({
        roomId: room.id,
        from: viewer,
        data: { from: viewer, gift: 'rose', count: 1, amount: 30, transfer: first.transfer.id },
      });
      const again = await gift(viewer, room, 30, { key, requestHash: 'r1' });
      expect(again).toEqual({
        kind: 'replayed',
        transfer: first.transfer,
        outbox: first.claim.ref,
      });
      expect(await gift(viewer, room, 31, { key, requestHash: 'r2' })).toEqual({ kind: 'key_conflict' });
      expect(await stores().ledger.findGift(viewer, key)).toEqual({
        requestHash: 'r1',
        transfer: first.transfer,
        outbox: first.claim.ref,
      });
      expect(await stores().ledger.balance(viewer)).toBe(70);
      expect(await stores().ledger.settlement(room)).toEqual({
        status: 'open',
        total: 30,
        hasAccounts: true,
      });
      await expectInvariant();
    });

    it('refuses a gift beyond the balance, keeps no key for it, and takes the same key once funded', async () => {
      const room = newRoom();
      await stores().ledger.openRoom(room);
      const viewer = user();
      await topUp(viewer, 9);
      const key = randomUUID();
      expect(await gift(viewer, room, 10, { key })).toEqual({ kind: 'insufficient_funds', balance: 9 });
      expect(await gift(user(), room, 1)).toEqual({ kind: 'insufficient_funds', balance: 0 });
      expect(await stores().ledger.findGift(viewer, key)).toBeUndefined();
      await topUp(viewer, 1);
      expect(await gift(viewer, room, 10, { key })).toMatchObject({
        kind: 'applied',
        transfer: { balance: 0 },
      });
      await expectInvariant();
    });

    it('never overdraws under many parallel gifts from one viewer', async () => {
      const room = newRoom();
      await stores().ledger.openRoom(room);
      const viewer = user();
      await topUp(viewer, 100);
      const results = await Promise.all(Array.from({ length: 40 }, () => gift(viewer, room, 10)));
      expect(results.filter((r) => r.kind === 'applied')).toHaveLength(10);
      expect(results.filter((r) => r.kind === 'insufficient_funds')).toHaveLength(30);
      expect(await stores().ledger.balance(viewer)).toBe(0);
      expect((await stores().ledger.settlement(room)).total).toBe(100);
      await expectInvariant();
    });

    it('moves money once for parallel gifts with one idempotency key', async () => {
      const room = newRoom();
      await stores().ledger.openRoom(room);
      const viewer = user();
      await topUp(viewer, 100);
      const key = randomUUID();
      const results = await Promise.all(
        Array.from({ length: 20 }, () => gift(viewer, room, 7, { key, requestHash: 'same' })),
      );
      const applied = results.filter((r) => r.kind === 'applied');
      expect(applied).toHaveLength(1);
      const id = applied[0]?.kind === 'applied' ? applied[0].transfer.id : '';
      for (const r of results) {
        expect(r.kind === 'applied' || r.kind === 'replayed').toBe(true);
        if (r.kind === 'replayed') expect(r.transfer).toEqual({ id, amount: 7, balance: 93 });
      }
      expect(await stores().ledger.balance(viewer)).toBe(93);
      await expectInvariant();
    });

    it('refuses gifts after the room closed, in every shard, even where it never opened', async () => {
      const room = newRoom();
      await stores().ledger.openRoom(room);
      const viewers = await fundedViewersInEveryShard(50);
      await stores().ledger.closeRoom(room);
      for (const viewer of viewers) expect(await gift(viewer, room, 5)).toEqual({ kind: 'room_closed' });
      const never = newRoom();
      await stores().ledger.closeRoom(never);
      for (const viewer of viewers) expect(await gift(viewer, never, 5)).toEqual({ kind: 'room_closed' });
      for (const viewer of viewers) expect(await stores().ledger.balance(viewer)).toBe(50);
      await expectInvariant();
    });

    it('opens a missing room account on the first gift (a start that did not reach the shard)', async () => {
      const room = newRoom();
      const viewer = user();
      await topUp(viewer, 10);
      expect(await gift(viewer, room, 4)).toMatchObject({ kind: 'applied' });
      expect(await stores().ledger.settlement(room)).toEqual({
        status: undefined,
        total: 4,
        hasAccounts: true,
      });
      await stores().ledger.closeRoom(room);
      await settler().runOnce();
      expect(await stores().ledger.balance(room.hostId)).toBe(4);
      await expectInvariant();
    });

    it('counts every gift that raced the room end in the settlement and rejects the rest', async () => {
      const room = newRoom();
      await stores().ledger.openRoom(room);
      const viewers = await fundedViewersInEveryShard(1_000);
      const gifts: Array<Promise<GiftOutcome>> = [];
      for (let i = 0; i < 60; i++) {
        gifts.push(gift(viewers[i % viewers.length] as string, room, 1 + (i % 5)));
        if (i === 25)
          gifts.push(
            stores()
              .ledger.closeRoom(room)
              .then(() => ({ kind: 'room_closed' })),
          );
      }
      const results = await Promise.all(gifts);
      const applied = results.flatMap((r) => (r.kind === 'applied' ? [r.transfer.amount] : []));
      expect(results.every((r) => r.kind === 'applied' || r.kind === 'room_closed')).toBe(true);
      const paid = applied.reduce((a, b) => a + b, 0);
      const done = await settler().settleRoom(room);
      expect(done.settled).toBe(true);
      expect(await stores().ledger.balance(room.hostId)).toBe(paid);
      expect(await stores().ledger.settlement(room)).toEqual({
        status: 'settled',
        total: paid,
        hasAccounts: true,
      });
      // Nothing slips in after the settlement either.
      expect(await gift(viewers[0] as string, room, 1)).toEqual({ kind: 'room_closed' });
      await expectInvariant();
    });

    it('settles exactly once however often and however concurrently the steps run', async () => {
      const room = newRoom();
      await stores().ledger.openRoom(room);
      const viewers = await fundedViewersInEveryShard(100);
      for (const viewer of viewers) expect(await gift(viewer, room, 10)).toMatchObject({ kind: 'applied' });
      await stores().ledger.closeRoom(room);
      const store = stores().settlements;
      // Half-done by a "crashed" settler: one shard debited but not credited, another credited.
      const first = await store.debitRoomAccount(room, 0);
      expect(first.amount).toBeGreaterThan(0);
      await store.creditHost(await store.debitRoomAccount(room, 1));
      let audit = await expectInvariant();
      expect(audit.unsettled).toBeGreaterThan(0n);
      // Repeats return the recorded intent and credit nothing more.
      expect(await store.debitRoomAccount(room, 0)).toEqual(first);
      const settlers = [settler(), settler(), settler()];
      await Promise.all([...settlers.map((s) => s.settleRoom(room)), ...settlers.map((s) => s.runOnce())]);
      expect(await store.creditHost(first)).toEqual({ credited: false, settled: true });
      expect(await stores().ledger.balance(room.hostId)).toBe(10 * viewers.length);
      audit = await expectInvariant();
      expect(audit.settlementStatus.get(room.id)).toBe('settled');
      expect(audit.roomPaid.get(room.id)).toBe(BigInt(10 * viewers.length));
    });

    it('hands an outbox row to one publisher at a time and marks it only for the holder', async () => {
      const room = newRoom();
      await stores().ledger.openRoom(room);
      const viewer = user();
      await topUp(viewer, 10);
      const applied = await gift(viewer, room, 1, { leaseMs: 1 });
      if (applied.kind !== 'applied') throw new Error(applied.kind);
      const outbox = stores().outbox;
      await new Promise((resolve) => setTimeout(resolve, 20));
      const claims = await Promise.all(
        Array.from({ length: 8 }, () => outbox.claim(applied.claim.ref, 60_000)),
      );
      const winners = claims.filter((c) => c !== undefined);
      expect(winners).toHaveLength(1);
      expect(await outbox.markPublished(applied.claim, 1)).toBe(false);
      expect(await outbox.status(applied.claim.ref)).toEqual({ published: false, leased: true });
      const winner = winners[0];
      if (winner === undefined) throw new Error('no winner');
      expect(await outbox.markPublished(winner, 42)).toBe(true);
      expect(await outbox.markPublished(winner, 43)).toBe(false);
      expect(await outbox.status(applied.claim.ref)).toEqual({ published: true, seq: 42 });
      expect(await outbox.claim(applied.claim.ref, 60_000)).toBeUndefined();
    });

    it('relays the event of a gift whose publisher crashed after COMMIT, once, and nothing for refused gifts', async () => {
      const room = newRoom();
      await stores().ledger.openRoom(room);
      const viewer = user();
      await topUp(viewer, 3);
      // "Crashed": committed with a 1 ms lease and never published.
      const crashed = await gift(viewer, room, 2, { leaseMs: 1 });
      if (crashed.kind !== 'applied') throw new Error(crashed.kind);
      expect(await gift(viewer, room, 5, { leaseMs: 1 })).toMatchObject({ kind: 'insufficient_funds' });
      await new Promise((resolve) => setTimeout(resolve, 20));
      const published: Array<{ roomId: string; data: unknown }> = [];
      const publisher = new GiftEventPublisher({
        outbox: stores().outbox,
        publish: async (event) => {
          published.push(event);
          return published.length;
        },
        leaseMs: 5_000,
      });
      const relay = new OutboxRelay({
        outbox: stores().outbox,
        publisher,
        leaseMs: 5_000,
        batchSize: 1000,
        intervalMs: 3_600_000,
        logger: silent,
      });
      await relay.runOnce();
      await relay.runOnce();
      const mine = published.filter((e) => e.roomId === room.id);
      expect(mine).toEqual([crashed.claim.event]);
      const seq = published.findIndex((e) => e.roomId === room.id) + 1;
      expect(await publisher.ensurePublished(crashed.claim.ref)).toBe(seq);
    });

    it('keeps the money invariant through random top-ups, gifts, room ends and partial settlements', async () => {
      const random = seededRandom(20261123);
      const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
      const viewers = Array.from({ length: 12 }, () => user(pick(['us', 'eu', 'ap'])));
      const hosts = Array.from({ length: 4 }, () => user(pick(['us', 'eu', 'ap'])));
      const live: LedgerRoom[] = [];
      const ended: LedgerRoom[] = [];
      const keys: Array<{ viewer: string; room: LedgerRoom; key: string; amount: number }> = [];
      const store = stores().settlements;
      let applied = 0;
      for (let step = 0; step < 240; step++) {
        const roll = random();
        if (roll < 0.12 || live.length === 0) {
          const room = newRoom(pick(hosts));
          await stores().ledger.openRoom(room);
          live.push(room);
        } else if (roll < 0.27) {
          await topUp(pick(viewers), 1 + Math.floor(random() * 200));
        } else if (roll < 0.7) {
          const room = random() < 0.85 || ended.length === 0 ? pick(live) : pick(ended);
          const viewer = pick(viewers);
          const amount = 1 + Math.floor(random() * 60);
          const key = randomUUID();
          const r = await gift(viewer, room, amount, { key, requestHash: `${amount}` });
          if (r.kind === 'applied') {
            applied++;
            keys.push({ viewer, room, key, amount });
          } else expect(['insufficient_funds', 'room_closed']).toContain(r.kind);
        } else if (roll < 0.78 && keys.length > 0) {
          const k = pick(keys);
          const r = await gift(k.viewer, k.room, k.amount, { key: k.key, requestHash: `${k.amount}` });
          expect(r.kind).toBe('replayed');
        } else if (roll < 0.86) {
          const room = live.splice(Math.floor(random() * live.length), 1)[0];
          if (room !== undefined) {
            await stores().ledger.closeRoom(room);
            ended.push(room);
          }
        } else if (roll < 0.96 && ended.length > 0) {
          // One step of a settler that may "crash" right after it.
          const room = pick(ended);
          const intent = await store.debitRoomAccount(room, Math.floor(random() * store.shardCount));
          if (random() < 0.5) await store.creditHost(intent);
        } else {
          await settler().runOnce();
        }
        if (step % 30 === 29) await expectInvariant();
      }
      expect(applied).toBeGreaterThan(30);
      for (const room of live) await stores().ledger.closeRoom(room);
      await settler().runOnce();
      const audit = await expectInvariant();
      expect(audit.unsettled).toBe(0n);
      for (const room of [...live, ...ended]) {
        expect(audit.settlementStatus.get(room.id)).toBe('settled');
        expect(audit.roomPaid.get(room.id) ?? 0n).toBe(audit.roomReceived.get(room.id) ?? 0n);
      }
    });

    // Last: pruning is per shard, not per test, so it runs after every other test has asserted.
    it('prunes replay records past the window only: keys, then published outbox rows, never money', async () => {
      const records = stores().replayRecords;
      const pruneAll = async (olderThanMs: number) => {
        let keys = 0;
        let outbox = 0;
        for (let shard = 0; shard < records.shardCount; shard++) {
          keys += await records.pruneKeys(shard, olderThanMs, 1_000_000);
          outbox += await records.pruneOutbox(shard, olderThanMs, 1_000_000);
        }
        return { keys, outbox };
      };
      const room = newRoom();
      await stores().ledger.openRoom(room);
      const viewer = user();
      await topUp(viewer, 100);
      const publishedKey = randomUUID();
      const published = await gift(viewer, room, 10, { key: publishedKey, requestHash: 'p' });
      const pending = await gift(viewer, room, 5, { requestHash: 'q' });
      if (published.kind !== 'applied' || pending.kind !== 'applied') throw new Error('gifts not applied');
      expect(await stores().outbox.markPublished(published.claim, 7)).toBe(true);

      // Everything is younger than an hour: nothing goes.
      expect(await pruneAll(3_600_000)).toEqual({ keys: 0, outbox: 0 });
      expect(await stores().ledger.findGift(viewer, publishedKey)).toBeDefined();

      // A window of zero: every key and every published row goes, the unpublished row stays.
      const pruned = await pruneAll(0);
      expect(pruned.keys).toBeGreaterThanOrEqual(3);
      expect(pruned.outbox).toBeGreaterThanOrEqual(1);
      expect(await stores().ledger.findGift(viewer, publishedKey)).toBeUndefined();
      expect(await stores().outbox.status(published.claim.ref)).toBeUndefined();
      expect(await stores().outbox.status(pending.claim.ref)).toEqual({ published: false, leased: true });
      expect(await stores().ledger.balance(viewer)).toBe(85);
      await expectInvariant();

      // A pruned key is a new request.
      const again = await gift(viewer, room, 10, { key: publishedKey, requestHash: 'p' });
      expect(again.kind).toBe('applied');
      expect(await stores().ledger.balance(viewer)).toBe(75);

      // Each call deletes at most `limit` rows.
      const extra = user();
      await topUp(extra, 10);
      await topUp(extra, 10);
      const shard = balanceShardOf('us_admin', records.shardCount);
      expect(await records.pruneKeys(shard, 0, 1)).toBe(1);
      await expectInvariant();
    });

    /** One funded viewer per shard, so a test touches every shard. */
    async function fundedViewersInEveryShard(amount: number): Promise<string[]> {
      const count = stores().shards.count;
      const byShard = new Map<number, string>();
      while (byShard.size < count) {
        const candidate = user(['us', 'eu', 'ap'][byShard.size % 3]);
        const shard = balanceShardOf(candidate, count);
        if (!byShard.has(shard)) byShard.set(shard, candidate);
      }
      const viewers = [...byShard.values()];
      for (const viewer of viewers) await topUp(viewer, amount);
      return viewers;
    }
  });
}
