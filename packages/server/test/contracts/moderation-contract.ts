import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModerationStore } from '../../src/core/ports/moderation.ts';

export interface ModerationFixture {
  moderation: ModerationStore;
  close(): Promise<void>;
}

const HOUR_MS = 3_600_000;
const SHORT_MS = 150;
const NONE = { mutedUntil: null, bannedUntil: null };

function unique(kind: string): string {
  return `contract-${kind}-${randomUUID()}`;
}

/**
 * The ModerationStore contract (core/ports/moderation.ts). `make` is called once; every test uses
 * rooms and users of its own, so one engine serves them all. Times are wall-clock (Date.now()), as
 * the restrictions' `untilMs` are.
 */
export function describeModerationContract(
  adapterName: string,
  make: () => Promise<ModerationFixture>,
): void {
  describe(`ModerationStore contract (${adapterName})`, () => {
    let fixture: ModerationFixture | undefined;
    const moderation = (): ModerationStore => {
      if (fixture === undefined) throw new Error('the moderation factory failed');
      return fixture.moderation;
    };

    beforeAll(async () => {
      fixture = await make();
    });
    afterAll(async () => {
      await fixture?.close();
    });

    it('reads an unrestricted user as neither muted nor banned', async () => {
      expect(await moderation().status(unique('room'), unique('user'))).toEqual(NONE);
    });

    it('reports a mute until the time it was set for', async () => {
      const [room, user] = [unique('room'), unique('user')];
      const until = Date.now() + HOUR_MS;
      await moderation().restrict(room, user, 'mute', until);
      expect(await moderation().status(room, user)).toEqual({ mutedUntil: until, bannedUntil: null });
    });

    it('reports a ban until the time it was set for', async () => {
      const [room, user] = [unique('room'), unique('user')];
      const until = Date.now() + HOUR_MS;
      await moderation().restrict(room, user, 'ban', until);
      expect(await moderation().status(room, user)).toEqual({ mutedUntil: null, bannedUntil: until });
    });

    it('replaces a restriction with a later call, even one ending sooner', async () => {
      const [room, user] = [unique('room'), unique('user')];
      const first = Date.now() + 2 * HOUR_MS;
      const second = Date.now() + HOUR_MS;
      await moderation().restrict(room, user, 'mute', first);
      await moderation().restrict(room, user, 'mute', second);
      expect((await moderation().status(room, user)).mutedUntil).toBe(second);
    });

    it('lifts a restriction at once, leaving the other kind in place', async () => {
      const [room, user] = [unique('room'), unique('user')];
      const until = Date.now() + HOUR_MS;
      await moderation().restrict(room, user, 'mute', until);
      await moderation().restrict(room, user, 'ban', until);
      await moderation().lift(room, user, 'ban');
      expect(await moderation().status(room, user)).toEqual({ mutedUntil: until, bannedUntil: null });
    });

    it('treats lifting a restriction that is not set as a no-op', async () => {
      const [room, user] = [unique('room'), unique('user')];
      await expect(moderation().lift(room, user, 'mute')).resolves.toBeUndefined();
      expect(await moderation().status(room, user)).toEqual(NONE);
    });

    it('reads a restriction set to end in the past as not set', async () => {
      const [room, user] = [unique('room'), unique('user')];
      await moderation().restrict(room, user, 'ban', Date.now() - 1_000);
      expect(await moderation().status(room, user)).toEqual(NONE);
    });

    it('reads a restriction as not set once its time has passed', async () => {
      const [room, user] = [unique('room'), unique('user')];
      await moderation().restrict(room, user, 'mute', Date.now() + SHORT_MS);
      await sleep(SHORT_MS + 100);
      expect(await moderation().status(room, user)).toEqual(NONE);
    });

    it('keeps the restrictions of one room out of another', async () => {
      const [room, otherRoom, user] = [unique('room'), unique('room'), unique('user')];
      await moderation().restrict(room, user, 'ban', Date.now() + HOUR_MS);
      expect(await moderation().status(otherRoom, user)).toEqual(NONE);
    });

    it('does not lift a restriction of one room when lifting in another', async () => {
      const [room, otherRoom, user] = [unique('room'), unique('room'), unique('user')];
      const until = Date.now() + HOUR_MS;
      await moderation().restrict(room, user, 'mute', until);
      await moderation().lift(otherRoom, user, 'mute');
      expect((await moderation().status(room, user)).mutedUntil).toBe(until);
    });

    it('keeps the restrictions of users apart', async () => {
      const [room, user, otherUser] = [unique('room'), unique('user'), unique('user')];
      await moderation().restrict(room, user, 'mute', Date.now() + HOUR_MS);
      expect(await moderation().status(room, otherUser)).toEqual(NONE);
    });
  });
}
