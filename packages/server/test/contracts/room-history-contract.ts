import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AppendedEvent,
  IdempotencyKeyReusedError,
  type NewRoomEvent,
  type RoomHistory,
} from '../../src/core/ports/room-history.ts';
import { afterRefresh } from './ttl-refresh.ts';

export interface RoomHistoryOptions {
  /** Newest events the history keeps per room. */
  capacity: number;
  /** Idle time after which a room's history may expire. */
  idleTtlMs: number;
}

export interface RoomHistoryFixture {
  history: RoomHistory;
  close(): Promise<void>;
}

const ROOMY: RoomHistoryOptions = { capacity: 1000, idleTtlMs: 600_000 };
const SMALL: RoomHistoryOptions = { capacity: 5, idleTtlMs: 600_000 };
const IDLE_TTL_MS = 200;
const IDLING: RoomHistoryOptions = { capacity: 100, idleTtlMs: IDLE_TTL_MS };

function newRoom(): string {
  return `contract-history-${randomUUID()}`;
}

function event(i: number): NewRoomEvent {
  return { type: 'comment', from: 'user-1', data: { i }, ts: 1_700_000_000_000 + i };
}

async function appendMany(history: RoomHistory, room: string, count: number): Promise<void> {
  for (let i = 1; i <= count; i++) await history.append(room, event(i));
}

/** Makes a history fixture before the enclosing describe's tests and closes it after them. */
function useHistory(make: () => Promise<RoomHistoryFixture>): () => RoomHistory {
  let fixture: RoomHistoryFixture | undefined;
  beforeAll(async () => {
    fixture = await make();
  });
  afterAll(async () => {
    await fixture?.close();
  });
  return () => {
    if (fixture === undefined) throw new Error('the history factory failed');
    return fixture.history;
  };
}

/**
 * The RoomHistory contract (core/ports/room-history.ts). `make` is called once per capacity/idle
 * setting the tests need; every test uses rooms of its own, so one engine serves them all.
 */
export function describeRoomHistoryContract(
  adapterName: string,
  make: (options: RoomHistoryOptions) => Promise<RoomHistoryFixture>,
): void {
  describe(`RoomHistory contract (${adapterName})`, () => {
    const history = useHistory(() => make(ROOMY));

    it('shows a room never written to at top 0 with a non-empty epoch and no events', async () => {
      const room = newRoom();
      const position = await history().position(room);
      expect(position.top).toBe(0);
      expect(position.epoch).toEqual(expect.any(String));
      expect(position.epoch).not.toBe('');
      const page = await history().read(room, 0, 10);
      expect(page).toEqual({ events: [], top: 0, oldest: 1, floor: 0, epoch: position.epoch });
    });

    it('keeps the epoch a reader saw before the first append', async () => {
      const room = newRoom();
      const before = await history().position(room);
      const appended = await history().append(room, event(1));
      const page = await history().read(room, 0, 10);
      expect([appended.epoch, page.epoch, (await history().position(room)).epoch]).toEqual([
        before.epoch,
        before.epoch,
        before.epoch,
      ]);
    });

    it('assigns seq 1 to the first event and the next seq to each later one', async () => {
      const room = newRoom();
      const seqs: number[] = [];
      for (let i = 1; i <= 3; i++) seqs.push((await history().append(room, event(i))).seq);
      expect(seqs).toEqual([1, 2, 3]);
      expect((await history().position(room)).top).toBe(3);
    });

    it('assigns distinct seqs without gaps to 200 concurrent appends', async () => {
      const room = newRoom();
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, i) => history().append(room, event(i + 1))),
      );
      const seqs = results.map((r) => r.seq).sort((a, b) => a - b);
      expect(seqs).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    });

    it('stores each of 200 concurrent appends under the seq it was given, read back in seq order', async () => {
      const room = newRoom();
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, i) => history().append(room, event(i + 1))),
      );
      const page = await history().read(room, 0, 1000);
      const expected = results.map((r, i) => ({ seq: r.seq, ...event(i + 1) })).sort((a, b) => a.seq - b.seq);
      expect(page.events).toEqual(expected);
    });

    it('returns an event as it was appended, plus its seq', async () => {
      const room = newRoom();
      const published: NewRoomEvent = {
        type: 'gift',
        from: null,
        data: { gift: 'rose', count: 3, meta: { combo: [1, 2], note: 'ünïcødé ✓', ok: true, none: null } },
        ts: 1_712_345_678_901,
      };
      const { seq } = await history().append(room, published);
      const page = await history().read(room, 0, 10);
      expect(page.events).toEqual([{ seq, ...published }]);
    });

    it('reads at most `limit` events after the cursor, oldest first', async () => {
      const room = newRoom();
      await appendMany(history(), room, 10);
      const page = await history().read(room, 3, 4);
      expect(page.events.map((e) => e.seq)).toEqual([4, 5, 6, 7]);
      expect(page.top).toBe(10);
    });

    it('pages through the whole history without gaps or repeats', async () => {
      const room = newRoom();
      await appendMany(history(), room, 25);
      const seen: number[] = [];
      let cursor = 0;
      for (let pages = 0; pages < 10; pages++) {
        const page = await history().read(room, cursor, 7);
        if (page.events.length === 0) break;
        seen.push(...page.events.map((e) => e.seq));
        cursor = page.events.at(-1)?.seq ?? cursor;
      }
      expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    });

    it('returns no events for a cursor at or beyond top', async () => {
      const room = newRoom();
      await appendMany(history(), room, 3);
      const atTop = await history().read(room, 3, 10);
      const beyondTop = await history().read(room, 50, 10);
      expect([atTop.events, beyondTop.events]).toEqual([[], []]);
      expect([atTop.top, beyondTop.top]).toEqual([3, 3]);
    });

    it('keeps the seq counters of rooms apart', async () => {
      const busy = newRoom();
      const quiet = newRoom();
      await appendMany(history(), busy, 4);
      expect((await history().append(quiet, event(1))).seq).toBe(1);
      expect((await history().position(busy)).top).toBe(4);
    });

    it('answers a retry of an idempotent append with the first seq and stores nothing', async () => {
      const room = newRoom();
      const idempotency = { key: 'user-1:k1', fingerprint: 'f1', windowMs: 60_000 };
      const first = await history().append(room, event(1), { idempotency });
      await history().append(room, event(2));
      const retry = await history().append(room, event(1), { idempotency });
      expect([first.replayed, retry.replayed, retry.seq]).toEqual([false, true, first.seq]);
      const page = await history().read(room, 0, 10);
      expect(page.events.map((e) => e.seq)).toEqual([first.seq, first.seq + 1]);
    });

    it('stores 20 concurrent appends under one idempotency key once', async () => {
      const room = newRoom();
      const idempotency = { key: 'user-1:same', fingerprint: 'f', windowMs: 60_000 };
      const results = await Promise.all(
        Array.from({ length: 20 }, () => history().append(room, event(1), { idempotency })),
      );
      expect(new Set(results.map((r) => r.seq)).size).toBe(1);
      expect(results.filter((r) => !r.replayed)).toHaveLength(1);
      expect((await history().read(room, 0, 100)).events).toHaveLength(1);
    });

    it('refuses an idempotency key reused for another event', async () => {
      const room = newRoom();
      await history().append(room, event(1), {
        idempotency: { key: 'u:k', fingerprint: 'a', windowMs: 60_000 },
      });
      await expect(
        history().append(room, event(2), { idempotency: { key: 'u:k', fingerprint: 'b', windowMs: 60_000 } }),
      ).rejects.toBeInstanceOf(IdempotencyKeyReusedError);
    });

    it('forgets an idempotency key after its window', async () => {
      const room = newRoom();
      const idempotency = { key: 'u:short', fingerprint: 'f', windowMs: 50 };
      const first = await history().append(room, event(1), { idempotency });
      await sleep(150);
      const again = await history().append(room, event(1), { idempotency });
      expect([again.replayed, again.seq]).toEqual([false, first.seq + 1]);
    });

    describe('with a capacity of 5', () => {
      const small = useHistory(() => make(SMALL));

      it('keeps only the newest 5 events and reports the oldest retained seq', async () => {
        const room = newRoom();
        await appendMany(small(), room, 8);
        const page = await small().read(room, 0, 100);
        expect(page.events.map((e) => e.seq)).toEqual([4, 5, 6, 7, 8]);
        expect(page.oldest).toBe(4);
        expect(page.top).toBe(8);
      });

      it('resumes a cursor that fell out of the history at the oldest retained event', async () => {
        const room = newRoom();
        await appendMany(small(), room, 8);
        const page = await small().read(room, 1, 2);
        expect(page.events.map((e) => e.seq)).toEqual([4, 5]);
        expect(page.oldest).toBe(4);
      });

      it('keeps counting seqs past the capacity', async () => {
        const room = newRoom();
        await appendMany(small(), room, 12);
        expect((await small().append(room, event(13))).seq).toBe(13);
      });
    });

    describe(`with an idle time of ${IDLE_TTL_MS} ms`, () => {
      const idling = useHistory(() => make(IDLING));

      it('continues an idle-expired room above every seq it issued, under a new epoch', async () => {
        const room = newRoom();
        const { epoch: firstEpoch } = await idling().append(room, event(1));
        const last = await idling().append(room, event(2));
        await sleep(IDLE_TTL_MS + 100);
        const restarted = await idling().append(room, event(3));
        expect(restarted.seq).toBeGreaterThan(last.seq);
        expect(restarted.epoch).not.toBe(firstEpoch);
        const page = await idling().read(room, 0, 10);
        expect(page.events.map((e) => e.seq)).toEqual([restarted.seq]);
        expect(page.oldest).toBe(restarted.seq);
        expect(page.floor).toBe(restarted.seq - 1);
      });

      it('keeps the history of a room that is appended to more often than the idle time', async () => {
        // afterRefresh repeats a run that a busy machine stretched past the idle time.
        const { first, page } = await afterRefresh(IDLE_TTL_MS, () => {
          const room = newRoom();
          let first: AppendedEvent | undefined;
          return {
            write: async () => {
              first = await idling().append(room, event(1));
            },
            refresh: async () => void (await idling().append(room, event(2))),
            check: async () => ({ first, page: await idling().read(room, 0, 10) }),
          };
        });
        expect(page.epoch).toBe(first?.epoch);
        expect(page.events.map((e) => e.seq)).toEqual([1, 2]);
      });
    });
  });
}
