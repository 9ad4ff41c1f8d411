import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConnectionRegistry, RoomPresence } from '../../src/core/ports/presence.ts';
import { afterRefresh } from './ttl-refresh.ts';

export interface RegistryFixture {
  registry: ConnectionRegistry;
  close(): Promise<void>;
}

export interface PresenceFixture {
  presence: RoomPresence;
  close(): Promise<void>;
}

/** Long enough never to lapse during a test. */
const LONG_TTL_MS = 600_000;
/** Short TTL for expiry tests, and how long to wait for it to lapse. */
const SHORT_TTL_MS = 150;
const PAST_SHORT_TTL_MS = SHORT_TTL_MS + 100;
/** For refresh tests (see `afterRefresh`). */
const REFRESH_TTL_MS = 400;

function unique(kind: string): string {
  return `contract-${kind}-${randomUUID()}`;
}

function sorted(values: readonly string[] | undefined): string[] {
  return [...(values ?? [])].sort();
}

/**
 * The ConnectionRegistry contract (core/ports/presence.ts). `make` is called once; every test uses
 * users and gateways of its own, so one engine serves them all.
 */
export function describeRegistryContract(adapterName: string, make: () => Promise<RegistryFixture>): void {
  describe(`ConnectionRegistry contract (${adapterName})`, () => {
    let fixture: RegistryFixture | undefined;
    const registry = (): ConnectionRegistry => {
      if (fixture === undefined) throw new Error('the registry factory failed');
      return fixture.registry;
    };

    beforeAll(async () => {
      fixture = await make();
    });
    afterAll(async () => {
      await fixture?.close();
    });

    it('locates a user at every gateway that registered it', async () => {
      const user = unique('user');
      const [gw1, gw2] = [unique('gw'), unique('gw')];
      await registry().register(gw1, [user], LONG_TTL_MS);
      await registry().register(gw2, [user], LONG_TTL_MS);
      const located = await registry().locate([user]);
      expect(sorted(located.get(user))).toEqual(sorted([gw1, gw2]));
    });

    it('answers for every asked user, with no gateways for unknown ones', async () => {
      const known = unique('user');
      const unknown = unique('user');
      const gw = unique('gw');
      await registry().register(gw, [known], LONG_TTL_MS);
      const located = await registry().locate([known, unknown]);
      expect(located).toEqual(
        new Map([
          [known, [gw]],
          [unknown, []],
        ]),
      );
    });

    it('registers several users at once', async () => {
      const users = [unique('user'), unique('user'), unique('user')];
      const gw = unique('gw');
      await registry().register(gw, users, LONG_TTL_MS);
      const located = await registry().locate(users);
      expect(users.map((u) => located.get(u))).toEqual([[gw], [gw], [gw]]);
    });

    it('removes an entry at once on unregister, keeping other gateways of the user', async () => {
      const user = unique('user');
      const [leaving, staying] = [unique('gw'), unique('gw')];
      await registry().register(leaving, [user], LONG_TTL_MS);
      await registry().register(staying, [user], LONG_TTL_MS);
      await registry().unregister(leaving, [user]);
      expect((await registry().locate([user])).get(user)).toEqual([staying]);
    });

    it('expires an entry after its own TTL, not the entries registered for longer', async () => {
      const [shortUser, longUser] = [unique('user'), unique('user')];
      const gw = unique('gw');
      await registry().register(gw, [shortUser], SHORT_TTL_MS);
      await registry().register(gw, [longUser], LONG_TTL_MS);
      await sleep(PAST_SHORT_TTL_MS);
      const located = await registry().locate([shortUser, longUser]);
      expect([located.get(shortUser), located.get(longUser)]).toEqual([[], [gw]]);
    });

    it('keeps an entry that is registered again before its TTL lapses', async () => {
      const located = await afterRefresh(REFRESH_TTL_MS, () => {
        const user = unique('user');
        const gw = unique('gw');
        return {
          write: () => registry().register(gw, [user], REFRESH_TTL_MS),
          refresh: () => registry().register(gw, [user], REFRESH_TTL_MS),
          check: async () => ({ gw, found: (await registry().locate([user])).get(user) }),
        };
      });
      expect(located.found).toEqual([located.gw]);
    });
  });
}

/**
 * The RoomPresence contract (core/ports/presence.ts). `make` is called once; every test uses rooms
 * and gateways of its own, so one engine serves them all (`rooms()` is only checked for inclusion).
 */
export function describePresenceContract(adapterName: string, make: () => Promise<PresenceFixture>): void {
  describe(`RoomPresence contract (${adapterName})`, () => {
    let fixture: PresenceFixture | undefined;
    const presence = (): RoomPresence => {
      if (fixture === undefined) throw new Error('the presence factory failed');
      return fixture.presence;
    };

    beforeAll(async () => {
      fixture = await make();
    });
    afterAll(async () => {
      await fixture?.close();
    });

    it('counts 0 for every asked room without reports', async () => {
      const [a, b] = [unique('room'), unique('room')];
      expect(await presence().counts([a, b])).toEqual(
        new Map([
          [a, 0],
          [b, 0],
        ]),
      );
    });

    it('sums the counts of the gateways that reported a room', async () => {
      const room = unique('room');
      await presence().report(unique('gw'), new Map([[room, 3]]), LONG_TTL_MS);
      await presence().report(unique('gw'), new Map([[room, 4]]), LONG_TTL_MS);
      expect((await presence().counts([room])).get(room)).toBe(7);
    });

    it("replaces a gateway's count for the rooms it names, leaving its other rooms alone", async () => {
      const [named, unnamed] = [unique('room'), unique('room')];
      const gw = unique('gw');
      await presence().report(
        gw,
        new Map([
          [named, 3],
          [unnamed, 2],
        ]),
        LONG_TTL_MS,
      );
      await presence().report(gw, new Map([[named, 5]]), LONG_TTL_MS);
      const counts = await presence().counts([named, unnamed]);
      expect([counts.get(named), counts.get(unnamed)]).toEqual([5, 2]);
    });

    it('removes a gateway from a room it reports at 0', async () => {
      const room = unique('room');
      const [leaving, staying] = [unique('gw'), unique('gw')];
      await presence().report(leaving, new Map([[room, 3]]), LONG_TTL_MS);
      await presence().report(staying, new Map([[room, 1]]), LONG_TTL_MS);
      await presence().report(leaving, new Map([[room, 0]]), LONG_TTL_MS);
      expect((await presence().counts([room])).get(room)).toBe(1);
    });

    it('lists rooms with connections and not rooms whose count went back to 0', async () => {
      const [occupied, emptied] = [unique('room'), unique('room')];
      const gw = unique('gw');
      await presence().report(
        gw,
        new Map([
          [occupied, 2],
          [emptied, 1],
        ]),
        LONG_TTL_MS,
      );
      await presence().report(gw, new Map([[emptied, 0]]), LONG_TTL_MS);
      const rooms = await presence().rooms();
      expect(rooms).toContain(occupied);
      expect(rooms).not.toContain(emptied);
    });

    it("drops a gateway's counts after its TTL, keeping those of gateways reported for longer", async () => {
      const shared = unique('room');
      const deadOnly = unique('room');
      const [dead, alive] = [unique('gw'), unique('gw')];
      await presence().report(
        dead,
        new Map([
          [shared, 5],
          [deadOnly, 1],
        ]),
        SHORT_TTL_MS,
      );
      await presence().report(alive, new Map([[shared, 2]]), LONG_TTL_MS);
      await sleep(PAST_SHORT_TTL_MS);
      const counts = await presence().counts([shared, deadOnly]);
      expect([counts.get(shared), counts.get(deadOnly)]).toEqual([2, 0]);
      expect(await presence().rooms()).not.toContain(deadOnly);
    });

    it('keeps the counts of a gateway that reports again before its TTL lapses', async () => {
      const count = await afterRefresh(REFRESH_TTL_MS, () => {
        const room = unique('room');
        const gw = unique('gw');
        return {
          write: () => presence().report(gw, new Map([[room, 3]]), REFRESH_TTL_MS),
          refresh: () => presence().report(gw, new Map([[room, 3]]), REFRESH_TTL_MS),
          check: async () => (await presence().counts([room])).get(room),
        };
      });
      expect(count).toBe(3);
    });

    it('tells for each asked user whether it was added to the room', async () => {
      const room = unique('room');
      const [member, other, stranger] = [unique('user'), unique('user'), unique('user')];
      await presence().addMembers(room, [member, other], LONG_TTL_MS);
      expect(await presence().areMembers(room, [member, stranger, other])).toEqual([true, false, true]);
    });

    it('keeps the member sets of rooms apart', async () => {
      const [room, otherRoom] = [unique('room'), unique('room')];
      const user = unique('user');
      await presence().addMembers(room, [user], LONG_TTL_MS);
      expect(await presence().areMembers(otherRoom, [user])).toEqual([false]);
    });

    it('forgets the members of a room with no additions for longer than the TTL', async () => {
      const room = unique('room');
      const user = unique('user');
      await presence().addMembers(room, [user], SHORT_TTL_MS);
      await sleep(PAST_SHORT_TTL_MS);
      expect(await presence().areMembers(room, [user])).toEqual([false]);
    });

    it('keeps earlier members while the room keeps getting additions', async () => {
      const members = await afterRefresh(REFRESH_TTL_MS, () => {
        const room = unique('room');
        const [early, late] = [unique('user'), unique('user')];
        return {
          write: () => presence().addMembers(room, [early], REFRESH_TTL_MS),
          refresh: () => presence().addMembers(room, [late], REFRESH_TTL_MS),
          check: () => presence().areMembers(room, [early, late]),
        };
      });
      expect(members).toEqual([true, true]);
    });
  });
}
