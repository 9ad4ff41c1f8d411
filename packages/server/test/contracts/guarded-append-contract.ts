import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModerationStore } from '../../src/core/ports/moderation.ts';
import {
  type AppendGuard,
  type AppendRefusal,
  AppendRefusedError,
  type NewRoomEvent,
  type RoomHistory,
} from '../../src/core/ports/room-history.ts';

export interface GuardedAppendFixture {
  /** The history and moderation store of one set of collections: the guard reads the latter. */
  history: RoomHistory;
  moderation: ModerationStore;
  close(): Promise<void>;
}

const HOUR_MS = 3_600_000;
const comment: NewRoomEvent = { type: 'comment', from: 'u', data: { text: 'hi' }, ts: 1_700_000_000_000 };

const unique = (kind: string) => `contract-guard-${kind}-${randomUUID()}`;

/** A user's guard in `room`: restrictions, then the user's window, then the room's. */
function guard(room: string, user: string, userPerSecond: number, roomPerSecond: number): AppendGuard {
  return {
    restrictedUser: user,
    windows: [
      { key: `ul:${user}:${room}`, perSecond: userPerSecond, scope: 'user' },
      { key: `rl:${room}`, perSecond: roomPerSecond, scope: 'room' },
    ],
  };
}

/** What the append was refused for, or 'stored'. */
async function outcome(
  history: RoomHistory,
  room: string,
  appendGuard: AppendGuard,
): Promise<AppendRefusal | 'stored'> {
  try {
    await history.append(room, comment, { guard: appendGuard });
    return 'stored';
  } catch (err) {
    if (err instanceof AppendRefusedError) return err.refusal;
    throw err;
  }
}

/**
 * The guarded append (AppendOptions.guard, core/ports/room-history.ts): restrictions and rate
 * windows checked with the append. Rate windows are one second; each test's appends happen within
 * milliseconds of each other, far inside it.
 */
export function describeGuardedAppendContract(
  adapterName: string,
  make: () => Promise<GuardedAppendFixture>,
): void {
  describe(`guarded append contract (${adapterName})`, () => {
    let fixture: GuardedAppendFixture | undefined;
    const stores = (): GuardedAppendFixture => {
      if (fixture === undefined) throw new Error('the fixture factory failed');
      return fixture;
    };
    beforeAll(async () => {
      fixture = await make();
    });
    afterAll(async () => {
      await fixture?.close();
    });

    it('stores an event that passes every check', async () => {
      const room = unique('room');
      const { history } = stores();
      expect(await outcome(history, room, guard(room, unique('user'), 5, 5))).toBe('stored');
      expect((await history.position(room)).top).toBe(1);
    });

    it('refuses a banned user, and a muted one, storing nothing', async () => {
      const room = unique('room');
      const [banned, muted] = [unique('banned'), unique('muted')];
      const { history, moderation } = stores();
      await moderation.restrict(room, banned, 'ban', Date.now() + HOUR_MS);
      await moderation.restrict(room, banned, 'mute', Date.now() + HOUR_MS);
      await moderation.restrict(room, muted, 'mute', Date.now() + HOUR_MS);
      expect(await outcome(history, room, guard(room, banned, 5, 5))).toEqual({ reason: 'banned' });
      expect(await outcome(history, room, guard(room, muted, 5, 5))).toEqual({ reason: 'muted' });
      expect((await history.position(room)).top).toBe(0);
    });

    it('lets a user through once the restriction is lifted, and ignores other rooms', async () => {
      const [room, other] = [unique('room'), unique('room')];
      const user = unique('user');
      const { history, moderation } = stores();
      await moderation.restrict(other, user, 'ban', Date.now() + HOUR_MS);
      expect(await outcome(history, room, guard(room, user, 5, 5))).toBe('stored');
      await moderation.restrict(room, user, 'mute', Date.now() + HOUR_MS);
      await moderation.lift(room, user, 'mute');
      expect(await outcome(history, room, guard(room, user, 5, 5))).toBe('stored');
    });

    it("refuses beyond the user's window without taking from the room's", async () => {
      const room = unique('room');
      const [flooder, other, third] = [unique('flooder'), unique('other'), unique('third')];
      const { history } = stores();
      const seen = [
        await outcome(history, room, guard(room, flooder, 2, 3)),
        await outcome(history, room, guard(room, flooder, 2, 3)),
        await outcome(history, room, guard(room, flooder, 2, 3)),
        // The room has had 2 of its 3: the flooder's refused attempt took nothing from it.
        await outcome(history, room, guard(room, other, 2, 3)),
        await outcome(history, room, guard(room, third, 2, 3)),
      ];
      expect(seen.map((s) => (s === 'stored' ? s : `${s.reason}:${'scope' in s ? s.scope : ''}`))).toEqual([
        'stored',
        'stored',
        'rate_limited:user',
        'stored',
        'rate_limited:room',
      ]);
      for (const refusal of [seen[2], seen[4]]) {
        const hint =
          refusal !== undefined && refusal !== 'stored' && 'retryAfterMs' in refusal
            ? refusal.retryAfterMs
            : 0;
        expect(hint).toBeGreaterThan(0);
        expect(hint).toBeLessThanOrEqual(1_000);
      }
      expect((await history.position(room)).top).toBe(3);
    });

    it('stores exactly the window of twice as many concurrent appends', async () => {
      const room = unique('room');
      const { history } = stores();
      const all = await Promise.all(
        Array.from({ length: 20 }, () => outcome(history, room, guard(room, unique('user'), 5, 10))),
      );
      expect(all.filter((s) => s === 'stored')).toHaveLength(10);
      expect((await history.position(room)).top).toBe(10);
    });

    it('answers a retry of a stored idempotent append with its seq, even once the user is banned', async () => {
      const room = unique('room');
      const user = unique('user');
      const { history, moderation } = stores();
      const idempotency = { key: `${user}:k1`, fingerprint: 'f1', windowMs: 60_000 };
      const first = await history.append(room, comment, { idempotency, guard: guard(room, user, 5, 10) });
      await moderation.restrict(room, user, 'ban', Date.now() + HOUR_MS);
      const retry = await history.append(room, comment, { idempotency, guard: guard(room, user, 5, 10) });
      expect(retry).toMatchObject({ seq: first.seq, replayed: true });
      expect(await outcome(history, room, guard(room, user, 5, 10))).toEqual({ reason: 'banned' });
    });

    it('answers a retry of a stored idempotent append with its seq, even over the limit', async () => {
      const room = unique('room');
      const user = unique('user');
      const { history } = stores();
      const idempotency = { key: `${user}:k1`, fingerprint: 'f1', windowMs: 60_000 };
      const first = await history.append(room, comment, { idempotency, guard: guard(room, user, 1, 10) });
      const retry = await history.append(room, comment, { idempotency, guard: guard(room, user, 1, 10) });
      expect(retry).toMatchObject({ seq: first.seq, replayed: true });
      expect(await outcome(history, room, guard(room, user, 1, 10))).toMatchObject({
        reason: 'rate_limited',
        scope: 'user',
      });
    });
  });
}
