import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { PeerMessage } from '@roomcast/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PeerInbox } from '../../src/core/ports/peer-inbox.ts';
import { afterRefresh } from './ttl-refresh.ts';

export interface PeerInboxOptions {
  /** Newest messages each inbox keeps. */
  capacity: number;
  /** Idle time after which an inbox expires. */
  ttlMs: number;
}

export interface PeerInboxFixture {
  inbox: PeerInbox;
  close(): Promise<void>;
}

const ROOMY: PeerInboxOptions = { capacity: 1000, ttlMs: 600_000 };
const SMALL: PeerInboxOptions = { capacity: 5, ttlMs: 600_000 };
const TTL_MS = 400;
const SHORT_LIVED: PeerInboxOptions = { capacity: 100, ttlMs: TTL_MS };

function newUser(): string {
  return `contract-inbox-${randomUUID()}`;
}

function message(n: number): Omit<PeerMessage, 'seq'> {
  return {
    id: `msg-${n}`,
    room: 'room-1',
    from: 'host-1',
    type: 'invite',
    data: { n },
    ts: 1_700_000_000_000 + n,
  };
}

async function pushMany(inbox: PeerInbox, user: string, count: number): Promise<void> {
  for (let n = 1; n <= count; n++) await inbox.push([user], message(n));
}

/** Makes an inbox fixture before the enclosing describe's tests and closes it after them. */
function useInbox(make: () => Promise<PeerInboxFixture>): () => PeerInbox {
  let fixture: PeerInboxFixture | undefined;
  beforeAll(async () => {
    fixture = await make();
  });
  afterAll(async () => {
    await fixture?.close();
  });
  return () => {
    if (fixture === undefined) throw new Error('the inbox factory failed');
    return fixture.inbox;
  };
}

/**
 * The PeerInbox contract (core/ports/peer-inbox.ts). `make` is called once per capacity/TTL setting
 * the tests need; every test uses users of its own, so one engine serves them all.
 */
export function describePeerInboxContract(
  adapterName: string,
  make: (options: PeerInboxOptions) => Promise<PeerInboxFixture>,
): void {
  describe(`PeerInbox contract (${adapterName})`, () => {
    const inbox = useInbox(() => make(ROOMY));

    it('reads an inbox never pushed to as empty with top 0', async () => {
      expect(await inbox().read(newUser(), 0, 10)).toEqual({ messages: [], top: 0 });
    });

    it('assigns each user seq 1, 2, 3 … and reads the messages back with their seqs', async () => {
      const user = newUser();
      expect(await inbox().push([user], message(1))).toEqual([1]);
      expect(await inbox().push([user], message(2))).toEqual([2]);
      expect(await inbox().read(user, 0, 10)).toEqual({
        messages: [
          { seq: 1, ...message(1) },
          { seq: 2, ...message(2) },
        ],
        top: 2,
      });
    });

    it("returns each user's own next seq, in the order of the users asked", async () => {
      const busy = newUser();
      const fresh = newUser();
      await pushMany(inbox(), busy, 3);
      expect(await inbox().push([fresh, busy], message(4))).toEqual([1, 4]);
    });

    it('assigns distinct seqs without gaps per user to 100 concurrent pushes', async () => {
      const first = newUser();
      const second = newUser();
      const results = await Promise.all(
        Array.from({ length: 100 }, (_, n) => inbox().push([first, second], message(n))),
      );
      const expected = Array.from({ length: 100 }, (_, i) => i + 1);
      expect(results.map(([seq]) => seq ?? 0).sort((a, b) => a - b)).toEqual(expected);
      expect(results.map(([, seq]) => seq ?? 0).sort((a, b) => a - b)).toEqual(expected);
    });

    it('stores each of 100 concurrent pushes under the seq it was given', async () => {
      const user = newUser();
      const results = await Promise.all(
        Array.from({ length: 100 }, (_, n) => inbox().push([user], message(n))),
      );
      const page = await inbox().read(user, 0, 1000);
      const expected = results
        .map(([seq], n) => ({ seq: seq ?? 0, ...message(n) }))
        .sort((a, b) => a.seq - b.seq);
      expect(page.messages).toEqual(expected);
    });

    it('reads at most `limit` messages after the cursor, oldest first', async () => {
      const user = newUser();
      await pushMany(inbox(), user, 10);
      const page = await inbox().read(user, 3, 4);
      expect(page.messages.map((m) => m.seq)).toEqual([4, 5, 6, 7]);
      expect(page.top).toBe(10);
    });

    it('returns no messages for a cursor at or beyond top', async () => {
      const user = newUser();
      await pushMany(inbox(), user, 3);
      expect(await inbox().read(user, 3, 10)).toEqual({ messages: [], top: 3 });
      expect(await inbox().read(user, 9, 10)).toEqual({ messages: [], top: 3 });
    });

    it('keeps the inboxes of users apart', async () => {
      const recipient = newUser();
      const bystander = newUser();
      await pushMany(inbox(), recipient, 2);
      expect(await inbox().read(bystander, 0, 10)).toEqual({ messages: [], top: 0 });
    });

    describe('with a capacity of 5', () => {
      const small = useInbox(() => make(SMALL));

      it('keeps only the newest 5 messages', async () => {
        const user = newUser();
        await pushMany(small(), user, 8);
        const page = await small().read(user, 0, 100);
        expect(page.messages.map((m) => m.seq)).toEqual([4, 5, 6, 7, 8]);
        expect(page.top).toBe(8);
      });
    });

    describe(`with a TTL of ${TTL_MS} ms`, () => {
      const shortLived = useInbox(() => make(SHORT_LIVED));

      it('forgets an inbox with no push for longer than the TTL', async () => {
        const user = newUser();
        await pushMany(shortLived(), user, 2);
        await sleep(TTL_MS + 100);
        expect(await shortLived().read(user, 0, 10)).toEqual({ messages: [], top: 0 });
      });

      it('keeps an inbox that is pushed to more often than the TTL', async () => {
        const page = await afterRefresh(TTL_MS, () => {
          const user = newUser();
          return {
            write: async () => void (await shortLived().push([user], message(1))),
            refresh: async () => void (await shortLived().push([user], message(2))),
            check: () => shortLived().read(user, 0, 10),
          };
        });
        expect(page.messages.map((m) => m.seq)).toEqual([1, 2]);
      });
    });
  });
}
