import { randomUUID } from 'node:crypto';
import type { Room } from '@roomcast/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  HostHasLiveRoomError,
  type LiveRoomsCursor,
  type NewRoom,
  type RoomRepository,
} from '../../src/core/ports/rooms.ts';

/** What a contract factory returns: the repository under test and how to release it. */
export interface RoomsContractHandle {
  rooms: RoomRepository;
  close(): Promise<void>;
}

const REGIONS = ['us', 'eu', 'ap'];
const DAY_MS = 86_400_000;

/**
 * The rooms contract: every guarantee of the RoomRepository port doc comment, run once per adapter.
 *
 * `make` is called once for the whole suite with regions us, eu and ap (adapters can be slow to
 * start). Tests share that store and stay isolated by using fresh host and room IDs each time;
 * listing tests use start times years ahead of now, so rooms left by other tests (or earlier runs
 * against a persistent store) sort after theirs, and archive-move tests end their rooms in the
 * 1990s, which no other test uses, so their cut-offs catch only their own rooms. The store must be
 * fresh for each run of the suite.
 */
export function describeRoomsContract(
  adapterName: string,
  make: (regions: string[]) => Promise<RoomsContractHandle>,
): void {
  describe(`rooms contract: ${adapterName}`, () => {
    let handle: RoomsContractHandle | undefined;
    const rooms = (): RoomRepository => {
      if (!handle) throw new Error('the rooms factory failed');
      return handle.rooms;
    };

    beforeAll(async () => {
      handle = await make(REGIONS);
    });
    afterAll(async () => {
      await handle?.close();
    });

    it('create returns the live room and get finds it with every field', async () => {
      const room = newRoom('eu', {
        title: `O'Brien's "late show"; DROP TABLE rooms; -- 🎉`,
        visibility: 'private',
        startedAt: new Date('2031-02-03T04:05:06.789Z'),
      });
      const expected: Room = {
        id: room.id,
        hostId: room.hostId,
        title: room.title,
        visibility: 'private',
        status: 'live',
        startedAt: '2031-02-03T04:05:06.789Z',
        endedAt: null,
      };
      expect(await rooms().create(room)).toEqual(expected);
      expect(await rooms().get(room.id)).toEqual(expected);
    });

    it('get returns undefined for an unknown room in every region', async () => {
      for (const region of REGIONS) {
        expect(await rooms().get(`${region}_nope-${suffix()}`)).toBeUndefined();
      }
    });

    it('lets exactly one of 20 concurrent creates by one host win', async () => {
      const hostId = `ap_host-${suffix()}`;
      const attempts = Array.from({ length: 20 }, () => rooms().create(newRoom('ap', { hostId })));
      const results = await Promise.allSettled(attempts);
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(19);
      for (const reason of lost) {
        expect(reason).toBeInstanceOf(HostHasLiveRoomError);
        expect((reason as HostHasLiveRoomError).hostId).toBe(hostId);
      }
      const winner = won[0]?.status === 'fulfilled' ? won[0].value : undefined;
      expect((await rooms().get(winner?.id ?? ''))?.status).toBe('live');
    });

    it('rejects a second live room of a host and allows a new one once the first ended', async () => {
      const hostId = `us_host-${suffix()}`;
      const first = await rooms().create(newRoom('us', { hostId }));
      await expect(rooms().create(newRoom('us', { hostId }))).rejects.toBeInstanceOf(HostHasLiveRoomError);
      await rooms().end(first.id, new Date());
      const second = await rooms().create(newRoom('us', { hostId }));
      expect(second.status).toBe('live');
      expect((await rooms().get(first.id))?.status).toBe('ended');
    });

    it('end marks the room ended at endedAt, and ending again keeps the first endedAt', async () => {
      const room = await rooms().create(newRoom('eu', { startedAt: new Date('2030-01-01T00:00:00.000Z') }));
      const ended = await rooms().end(room.id, new Date('2030-01-01T00:05:00.000Z'));
      expect(ended).toEqual({ ...room, status: 'ended', endedAt: '2030-01-01T00:05:00.000Z' });
      expect(await rooms().end(room.id, new Date('2030-01-01T01:00:00.000Z'))).toEqual(ended);
      expect(await rooms().get(room.id)).toEqual(ended);
    });

    it("retitle changes a live room's title everywhere it is read, and leaves ended and unknown rooms alone", async () => {
      const room = await rooms().create(newRoom('us'));
      const retitled = await rooms().retitle(room.id, 'Late night noodles');
      expect(retitled).toEqual({ ...room, title: 'Late night noodles' });
      expect(await rooms().get(room.id)).toEqual(retitled);
      expect((await rooms().listLive(1000)).rooms.find((r) => r.id === room.id)?.title).toBe(
        'Late night noodles',
      );
      const ended = await rooms().end(room.id, new Date());
      expect(await rooms().retitle(room.id, 'Too late')).toBeUndefined();
      expect(await rooms().get(room.id)).toEqual(ended);
      expect(await rooms().retitle(`us_nope-${suffix()}`, 'Nobody')).toBeUndefined();
    });

    it('end returns undefined for an unknown room', async () => {
      expect(await rooms().end(`us_nope-${suffix()}`, new Date())).toBeUndefined();
    });

    it('moveToArchive moves an ended room once; get and end find it there unchanged', async () => {
      const room = await rooms().create(newRoom('ap', { startedAt: new Date('2030-03-01T10:00:00.000Z') }));
      const ended = await rooms().end(room.id, new Date('2030-03-01T10:07:00.123Z'));
      expect(await rooms().moveToArchive(room.id)).toBe(true);
      expect(await rooms().get(room.id)).toEqual(ended);
      // Idempotent: moving again, or ending again, changes nothing.
      expect(await rooms().moveToArchive(room.id)).toBe(true);
      expect(await rooms().end(room.id, new Date('2030-03-02T00:00:00.000Z'))).toEqual(ended);
      expect(await rooms().get(room.id)).toEqual(ended);
    });

    it('moveToArchive leaves live rooms alone and knows no unknown room', async () => {
      const live = await rooms().create(newRoom('us'));
      expect(await rooms().moveToArchive(live.id)).toBe(false);
      expect(await rooms().get(live.id)).toEqual(live);
      expect(await rooms().moveToArchive(`us_nope-${suffix()}`)).toBe(false);
    });

    it('a host whose room was archived can start a new one, and only one', async () => {
      const hostId = `eu_host-${suffix()}`;
      const first = await rooms().create(newRoom('eu', { hostId }));
      await rooms().end(first.id, new Date());
      await rooms().moveToArchive(first.id);
      await rooms().create(newRoom('eu', { hostId }));
      await expect(rooms().create(newRoom('eu', { hostId }))).rejects.toBeInstanceOf(HostHasLiveRoomError);
    });

    it('moveEndedToArchive moves ended rooms before the cut-off, oldest first, never live ones', async () => {
      // Times before 2000 belong to this test alone: no other test ends a room then.
      const old = (day: number) => new Date(Date.UTC(1999, 0, day));
      const cutoff = new Date(Date.UTC(1999, 6, 1));
      const endedEarly = await Promise.all(
        [1, 2, 3].map(async (day) => {
          const room = await rooms().create(newRoom('eu', { startedAt: old(day) }));
          return rooms().end(room.id, old(day + 1));
        }),
      );
      const endedLate = await rooms().create(newRoom('eu', { startedAt: old(1) }));
      await rooms().end(endedLate.id, new Date(Date.UTC(1999, 11, 31)));
      const ancientLive = await rooms().create(newRoom('eu', { startedAt: old(1) }));

      expect(await rooms().moveEndedToArchive('eu', { endedBefore: cutoff, limit: 2 })).toBe(2);
      expect(await rooms().moveEndedToArchive('eu', { endedBefore: cutoff, limit: 2 })).toBe(1);
      expect(await rooms().moveEndedToArchive('eu', { endedBefore: cutoff, limit: 2 })).toBe(0);
      for (const room of endedEarly) expect(await rooms().get(room?.id ?? '')).toEqual(room);
      expect((await rooms().get(ancientLive.id))?.status).toBe('live');
      expect((await rooms().get(endedLate.id))?.status).toBe('ended');
      // The later cut-off takes the late room too, and still not the live one.
      expect(
        await rooms().moveEndedToArchive('eu', { endedBefore: new Date(Date.UTC(2000, 0, 1)), limit: 10 }),
      ).toBe(1);
      expect((await rooms().get(ancientLive.id))?.status).toBe('live');
    });

    it('concurrent moveEndedToArchive runs move every room exactly once between them', async () => {
      const old = (minute: number) => new Date(Date.UTC(1998, 4, 1, 0, minute));
      const ended = await Promise.all(
        Array.from({ length: 30 }, async (_, i) => {
          const room = await rooms().create(newRoom('ap', { startedAt: old(i) }));
          return rooms().end(room.id, old(i + 1));
        }),
      );
      const live = await rooms().create(newRoom('ap', { startedAt: old(0) }));
      const endedBefore = new Date(Date.UTC(1998, 5, 1));
      const workers = Array.from({ length: 4 }, async () => {
        let moved = 0;
        for (;;) {
          const n = await rooms().moveEndedToArchive('ap', { endedBefore, limit: 4 });
          moved += n;
          if (n === 0) return moved;
        }
      });
      const counts = await Promise.all(workers);
      expect(counts.reduce((a, b) => a + b, 0)).toBe(30);
      for (const room of ended) expect(await rooms().get(room?.id ?? '')).toEqual(room);
      expect((await rooms().get(live.id))?.status).toBe('live');
    });

    it('listLive merges every region newest first, without ended rooms, up to limit', async () => {
      const base = Date.now() + 3650 * DAY_MS;
      const at = (offsetMs: number) => new Date(base + offsetMs);
      const us1 = await rooms().create(newRoom('us', { startedAt: at(1000) }));
      const eu3 = await rooms().create(newRoom('eu', { startedAt: at(3000) }));
      const ap2 = await rooms().create(newRoom('ap', { startedAt: at(2000) }));
      const ap5 = await rooms().create(newRoom('ap', { startedAt: at(5000) }));
      const eu4 = await rooms().create(newRoom('eu', { startedAt: at(4000) }));
      await rooms().end(eu4.id, at(6000));

      expect(await rooms().listLive(4)).toEqual({ rooms: [ap5, eu3, ap2, us1], unavailableRegions: [] });
      expect((await rooms().listLive(2)).rooms).toEqual([ap5, eu3]);
      expect(await rooms().listLive(0)).toEqual({ rooms: [], unavailableRegions: [] });
      const many = (await rooms().listLive(1000)).rooms;
      expect(many.every((r) => r.status === 'live')).toBe(true);
      expect(many.map((r) => r.id)).not.toContain(eu4.id);
      const starts = many.map((r) => Date.parse(r.startedAt));
      expect(starts).toEqual([...starts].sort((a, b) => b - a));
    });

    it('listLive pages with a cursor: no room skipped or repeated, ties broken by ID', async () => {
      const base = Date.now() + 5000 * DAY_MS;
      const same = new Date(base);
      const created = await Promise.all([
        rooms().create(newRoom('us', { startedAt: new Date(base + 1) })),
        rooms().create(newRoom('eu', { startedAt: same })),
        rooms().create(newRoom('ap', { startedAt: same })),
        rooms().create(newRoom('us', { startedAt: same })),
        rooms().create(newRoom('ap', { startedAt: new Date(base - 1) })),
      ]);
      const expected = [...created].sort(
        (a, b) => Date.parse(b.startedAt) - Date.parse(a.startedAt) || (a.id < b.id ? 1 : -1),
      );
      const seen: Room[] = [];
      let after: LiveRoomsCursor | undefined;
      for (let page = 0; page < 5; page++) {
        const { rooms: got } = await rooms().listLive(2, after);
        seen.push(...got);
        const last = got.at(-1);
        if (last === undefined) break;
        after = { startedAt: new Date(last.startedAt), id: last.id };
      }
      // Other tests' live rooms start years earlier, so they sort after these five.
      expect(seen.slice(0, 5)).toEqual(expected);
    });

    it("listEndedInShard lists one region's ended rooms still on its shard, oldest end first, with a cursor", async () => {
      // Ends two centuries ahead: every other test's ended rooms sort before these.
      const base = new Date('2200-01-01T00:00:00.000Z').getTime();
      const at = (offsetMs: number) => new Date(base + offsetMs);
      const make = async (region: string, endedAt?: Date) => {
        const room = await rooms().create(newRoom(region));
        return endedAt === undefined ? room : ((await rooms().end(room.id, endedAt)) as Room);
      };
      const late = await make('eu', at(2));
      const tiedA = await make('eu', at(1));
      const tiedB = await make('eu', at(1));
      const moved = await make('eu', at(1));
      await make('eu');
      await make('us', at(1));
      await rooms().moveToArchive(moved.id);
      const ties = [tiedA, tiedB].sort((a, b) => (a.id < b.id ? -1 : 1));

      const after = { endedAt: at(0), id: '' };
      const first = await rooms().listEndedInShard('eu', 2, after);
      const last = first.at(-1) as Room;
      const rest = await rooms().listEndedInShard('eu', 2, {
        endedAt: new Date(last.endedAt as string),
        id: last.id,
      });

      expect(first).toEqual(ties);
      expect(rest).toEqual([late]);
      expect(await rooms().listEndedInShard('eu', 0)).toEqual([]);
      const all = await rooms().listEndedInShard('eu', 10_000);
      expect(all.every((room) => room.status === 'ended' && room.id.startsWith('eu_'))).toBe(true);
      expect(all.map((room) => room.id)).not.toContain(moved.id);
    });

    it('ping resolves while every shard answers', async () => {
      await expect(rooms().ping()).resolves.toBeUndefined();
    });

    it('reserve gives a room its first seq range, then the ranges after it', async () => {
      const id = newRoom('us').id;
      const first = await rooms().reserve(id, 0, 100);
      const second = await rooms().reserve(id, 40, 100);
      expect([first, second]).toEqual([
        { floor: 0, ceiling: 100 },
        { floor: 100, ceiling: 200 },
      ]);
    });

    it('reserve starts above `above` when that is past the stored ceiling', async () => {
      const id = newRoom('eu').id;
      await rooms().reserve(id, 0, 10);
      expect(await rooms().reserve(id, 5_000, 10)).toEqual({ floor: 5_000, ceiling: 5_010 });
    });

    it('reserve gives 20 concurrent callers disjoint ranges', async () => {
      const id = newRoom('ap').id;
      const ranges = await Promise.all(Array.from({ length: 20 }, () => rooms().reserve(id, 0, 7)));
      const floors = ranges.map((r) => r.floor).sort((a, b) => a - b);
      expect(floors).toEqual(Array.from({ length: 20 }, (_, i) => i * 7));
      expect(ranges.every((r) => r.ceiling === r.floor + 7)).toBe(true);
    });

    it('reserve keeps counting for a room that ended and moved to the archive', async () => {
      const room = newRoom('us');
      await rooms().create(room);
      await rooms().reserve(room.id, 0, 50);
      await rooms().end(room.id, new Date('1991-01-01T00:00:00Z'));
      await rooms().moveToArchive(room.id);
      expect(await rooms().reserve(room.id, 0, 50)).toEqual({ floor: 50, ceiling: 100 });
    });
  });
}

function suffix(): string {
  return randomUUID().slice(0, 12);
}

/** A new room in `region` with a fresh host (unless given) and a fresh ID. */
function newRoom(region: string, fields: Partial<NewRoom> = {}): NewRoom {
  return {
    id: `${region}_room-${suffix()}`,
    hostId: `${region}_host-${suffix()}`,
    title: 'contract room',
    visibility: 'public',
    startedAt: new Date(),
    ...fields,
  };
}
