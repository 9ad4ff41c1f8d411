import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RoomChange, RoomChangeFeed } from '../../src/core/ports/room-change-feed.ts';
import type { RoomRepository } from '../../src/core/ports/rooms.ts';
import { newRoomId } from '../../src/core/room-ids.ts';
import { eventually } from '../helpers/eventually.ts';

export interface RoomChangeFeedFixture {
  /** Where the test writes rooms (regions `us` and `eu`). */
  repository: RoomRepository;
  /** A feed for consumer `name`: the same name resumes where the last one stopped (durable adapters). */
  open(name: string): RoomChangeFeed;
  /** Whether a consumer resumes across a close and a new start (a log behind the feed). */
  durable: boolean;
  close(): Promise<void>;
}

/** Collects what a feed delivers. */
function collector() {
  const changes: RoomChange[] = [];
  return { changes, handle: (change: RoomChange) => void changes.push(change) };
}

/**
 * The RoomChangeFeed contract (core/ports/room-change-feed.ts). `make` is called once; every test
 * uses its own consumer name and its own hosts, so one engine serves them all.
 */
export function describeRoomChangeFeedContract(
  adapterName: string,
  make: () => Promise<RoomChangeFeedFixture>,
): void {
  describe(`RoomChangeFeed contract (${adapterName})`, () => {
    let fixture: RoomChangeFeedFixture | undefined;
    const fx = (): RoomChangeFeedFixture => {
      if (fixture === undefined) throw new Error('the RoomChangeFeed factory failed');
      return fixture;
    };
    const opened: RoomChangeFeed[] = [];
    const open = (name: string) => {
      const feed = fx().open(name);
      opened.push(feed);
      return feed;
    };
    const consumer = () => `c${randomUUID().replace(/-/g, '').slice(0, 12)}`;
    const startRoom = async (region: 'us' | 'eu', title = 'live') => {
      const hostId = `${region}_h${randomUUID().replace(/-/g, '').slice(0, 16)}`;
      return fx().repository.create({
        id: newRoomId(hostId),
        hostId,
        title,
        visibility: 'public',
        startedAt: new Date(),
      });
    };

    beforeAll(async () => {
      fixture = await make();
    });
    afterAll(async () => {
      await Promise.all(opened.map((f) => f.close()));
      await fixture?.close();
    });

    it('delivers a room started, retitled and ended, whole and in order, with its region', async () => {
      const seen = collector();
      await open(consumer()).start(seen.handle);
      const room = await startRoom('us', 'first title');
      await fx().repository.retitle(room.id, 'second title');
      await fx().repository.end(room.id, new Date());
      const mine = () => seen.changes.filter((c) => c.room.id === room.id);
      await eventually('three changes of the room', () => mine().length >= 3, { seen: () => mine() });
      expect(mine().map((c) => [c.region, c.room.status, c.room.title])).toEqual([
        ['us', 'live', 'first title'],
        ['us', 'live', 'second title'],
        ['us', 'ended', 'second title'],
      ]);
      const ended = mine()[2]?.room;
      expect(ended).toMatchObject({
        id: room.id,
        hostId: room.hostId,
        visibility: 'public',
        startedAt: room.startedAt,
      });
      expect(ended?.endedAt).not.toBeNull();
    });

    it('tells when an ended room leaves its shard for the archive, with its last record', async () => {
      const seen = collector();
      await open(consumer()).start(seen.handle);
      const room = await startRoom('eu');
      const ended = await fx().repository.end(room.id, new Date());
      await fx().repository.moveToArchive(room.id);
      const mine = () => seen.changes.filter((c) => c.room.id === room.id);
      await eventually('the move', () => mine().some((c) => c.leftShard === true), { seen: () => mine() });
      expect(mine().map((c) => [c.room.status, c.leftShard ?? false])).toEqual([
        ['live', false],
        ['ended', false],
        ['ended', true],
      ]);
      expect(mine()[2]).toEqual({ region: 'eu', room: ended, leftShard: true });
    });

    it('keeps commit order within a region, and delivers every region', async () => {
      const seen = collector();
      await open(consumer()).start(seen.handle);
      const us: string[] = [];
      for (let i = 0; i < 10; i++) us.push((await startRoom('us')).id);
      const eu = await startRoom('eu');
      await eventually(
        'every room',
        () =>
          us.every((id) => seen.changes.some((c) => c.room.id === id)) &&
          seen.changes.some((c) => c.room.id === eu.id),
      );
      expect(seen.changes.filter((c) => us.includes(c.room.id)).map((c) => c.room.id)).toEqual(us);
      expect(seen.changes.find((c) => c.room.id === eu.id)?.region).toBe('eu');
    });

    it('gives a change again to a handler that failed, before any later one', async () => {
      const got: string[] = [];
      let failures = 0;
      await open(consumer()).start((change) => {
        if (change.room.title === 'fails once' && failures === 0) {
          failures += 1;
          throw new Error('handler down');
        }
        got.push(change.room.title);
      });
      const first = await startRoom('us', 'fails once');
      const second = await startRoom('us', 'after it');
      await eventually('both rooms after the retry', () => got.includes('after it'), { seen: () => got });
      expect(failures).toBe(1);
      expect(got.filter((t) => t === 'fails once' || t === 'after it')).toEqual(['fails once', 'after it']);
      expect([first.id, second.id]).toHaveLength(2);
    });

    it('resumes a consumer that stopped with what was committed meanwhile (durable feeds)', async ({
      skip,
    }) => {
      if (!fx().durable) skip();
      const name = consumer();
      const before = collector();
      const feed = open(name);
      await feed.start(before.handle);
      const early = await startRoom('us', 'before the stop');
      await eventually('the first room', () => before.changes.some((c) => c.room.id === early.id));
      await feed.close();
      const late = await startRoom('us', 'while stopped');
      const after = collector();
      await open(name).start(after.handle);
      await eventually(
        'the room started while stopped',
        () => after.changes.some((c) => c.room.id === late.id),
        {
          seen: () => after.changes.map((c) => c.room.title),
        },
      );
    });
  });
}
