import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  InProcessRoomChangeFeed,
  ObservedRoomRepository,
} from '../src/adapters/memory/in-process-room-change-feed.ts';
import { PostgresRoomChangeFeed } from '../src/adapters/sql/postgres-room-change-feed.ts';
import {
  createPgliteRoomRepository,
  createPostgresRoomRepository,
  shardSchemaOf,
} from '../src/adapters/sql/room-repositories.ts';
import { configSchema } from '../src/config/config-schema.ts';
import { partitionOf } from '../src/core/job-partition.ts';
import { OngoingQuery, type OngoingQueryOptions } from '../src/core/ongoing-query.ts';
import type { RoomChangeFeed, RoomChangeHandler } from '../src/core/ports/room-change-feed.ts';
import type { LiveRoomsCursor, RoomRepository } from '../src/core/ports/rooms.ts';
import { newRoomId } from '../src/core/room-ids.ts';
import { eventually } from './helpers/eventually.ts';
import { type LaunchedPostgres, launchPostgres } from './helpers/postgres-launcher.ts';

const REGIONS = ['us', 'eu'];
/** Never on its own in these tests: each scan is asked for. */
const NO_RESCAN = 3_600_000;
/** Ended rooms are kept this long after they left their shard (tests move the clock past it). */
const KEEP_ENDED = 600_000;

/** A feed in front of another that can be cut: while cut, changes are lost, as a broken feed loses them. */
class CuttableFeed implements RoomChangeFeed {
  cut = false;
  constructor(private readonly inner: RoomChangeFeed) {}
  start(handler: RoomChangeHandler): Promise<void> {
    return this.inner.start((change) => (this.cut ? undefined : handler(change)));
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

async function startRoom(repository: RoomRepository, region = 'us') {
  const hostId = `${region}_h${randomUUID().replace(/-/g, '').slice(0, 16)}`;
  return repository.create({
    id: newRoomId(hostId),
    hostId,
    title: 'live',
    visibility: 'public',
    startedAt: new Date(),
  });
}

describe('OngoingQuery over the in-process feed', () => {
  let base: RoomRepository;
  let repository: RoomRepository;
  let feed: InProcessRoomChangeFeed;
  beforeAll(async () => {
    base = (await createPgliteRoomRepository({ regions: REGIONS })).repository;
  });
  afterAll(async () => {
    await base.close();
  });
  /** OngoingQuery on the shared store behind `feed`, scanning only when asked. */
  const queryOver = (feed: RoomChangeFeed, extra: Partial<OngoingQueryOptions> = {}) =>
    new OngoingQuery({
      repository: base,
      feed,
      regions: REGIONS,
      rescanMs: NO_RESCAN,
      endedKeepMs: KEEP_ENDED,
      ...extra,
    });
  const fresh = () => {
    feed = new InProcessRoomChangeFeed(10);
    repository = new ObservedRoomRepository(base, feed);
    return new CuttableFeed(feed);
  };

  it('starts with every live room of every region, then follows rooms started and ended through the feed', async () => {
    const cuttable = fresh();
    const before = [await startRoom(repository, 'us'), await startRoom(repository, 'eu')];
    const ongoing = queryOver(cuttable, { pageSize: 7 });
    await ongoing.start();
    try {
      expect(ongoing.ready).toBe(true);
      const ids = () => new Set(ongoing.all().map((r) => r.id));
      for (const room of before) expect(ids()).toContain(room.id);
      expect(ongoing.all().find((r) => r.id === before[1]?.id)?.region).toBe('eu');
      const later = await startRoom(repository);
      await eventually('the new room to join', () => ids().has(later.id));
      await repository.end(later.id, new Date());
      await eventually('the ended room to leave', () => !ids().has(later.id));
    } finally {
      await ongoing.close();
    }
  });

  it('is repaired by the next scan when the feed lost changes', async () => {
    const cuttable = fresh();
    const ongoing = queryOver(cuttable);
    await ongoing.start();
    try {
      const ending = await startRoom(repository);
      await eventually('the room to join', () => ongoing.all().some((r) => r.id === ending.id));
      cuttable.cut = true;
      await repository.end(ending.id, new Date());
      const unseen = await startRoom(repository);
      expect(ongoing.all().some((r) => r.id === ending.id)).toBe(true);
      expect(ongoing.all().some((r) => r.id === unseen.id)).toBe(false);
      await ongoing.scan();
      expect(ongoing.all().some((r) => r.id === ending.id)).toBe(false);
      expect(ongoing.all().some((r) => r.id === unseen.id)).toBe(true);
    } finally {
      await ongoing.close();
    }
  });

  it('loses no change that arrives while a scan runs', async () => {
    const cuttable = fresh();
    let hold: Promise<void> | undefined;
    let release: () => void = () => {};
    let snapshotTaken = false;
    // A scan whose first page is read before a room ends, and handed over after the end was applied.
    const slow: Pick<RoomRepository, 'listLive' | 'listEndedInShard'> = {
      listLive: async (limit: number, after?: LiveRoomsCursor) => {
        const page = await base.listLive(limit, after);
        snapshotTaken = true;
        await hold;
        return page;
      },
      listEndedInShard: (region, limit, after) => base.listEndedInShard(region, limit, after),
    };
    const ongoing = queryOver(cuttable, { repository: slow, pageSize: 100_000 });
    await ongoing.start();
    try {
      const room = await startRoom(repository);
      await eventually('the room to join', () => ongoing.all().some((r) => r.id === room.id));
      hold = new Promise((resolve) => {
        release = resolve;
      });
      snapshotTaken = false;
      const scanning = ongoing.scan();
      await eventually('the scan to read its page', () => snapshotTaken);
      await repository.end(room.id, new Date());
      await eventually('the end to arrive', () => !ongoing.all().some((r) => r.id === room.id));
      release();
      await scanning;
      // The scan's page still listed the room as live; the end that came meanwhile wins.
      expect(ongoing.all().some((r) => r.id === room.id)).toBe(false);
    } finally {
      release();
      await ongoing.close();
    }
  });

  it('keeps an ended room in the ended set while it is on its shard, then for endedKeepMs after its move', async () => {
    const cuttable = fresh();
    let now = Date.now();
    const ongoing = queryOver(cuttable, { now: () => now });
    await ongoing.start();
    try {
      const room = await startRoom(repository, 'eu');
      const ended = () => ongoing.allEnded().find((r) => r.id === room.id);
      await repository.end(room.id, new Date());
      await eventually('the end to arrive', () => ended()?.onShard === true);
      expect(ongoing.all().some((r) => r.id === room.id)).toBe(false);
      // A scan finds it on its shard too.
      await ongoing.scan();
      expect(ended()).toMatchObject({ region: 'eu', hostId: room.hostId, onShard: true });

      await repository.moveToArchive(room.id);
      await eventually('the move to arrive', () => ended()?.onShard === false);
      await ongoing.scan();
      expect(ended()?.onShard).toBe(false);
      now += KEEP_ENDED + 1;
      expect(ended()).toBeUndefined();
      expect(ongoing.endedPartition(0, 1).some((r) => r.id === room.id)).toBe(false);
    } finally {
      await ongoing.close();
    }
  });

  it('infers from the next scan that a room ended and left its shard while the feed was cut', async () => {
    const cuttable = fresh();
    const ongoing = queryOver(cuttable);
    await ongoing.start();
    try {
      const room = await startRoom(repository);
      await eventually('the room to join', () => ongoing.all().some((r) => r.id === room.id));
      cuttable.cut = true;
      await repository.end(room.id, new Date());
      await repository.moveToArchive(room.id);
      await ongoing.scan();
      expect(ongoing.all().some((r) => r.id === room.id)).toBe(false);
      expect(ongoing.allEnded().find((r) => r.id === room.id)).toMatchObject({ onShard: false });
    } finally {
      await ongoing.close();
    }
  });

  it('splits the rooms into disjoint partitions whose union is every ongoing room', async () => {
    const cuttable = fresh();
    for (let i = 0; i < 30; i++) await startRoom(repository, i % 2 === 0 ? 'us' : 'eu');
    const ongoing = queryOver(cuttable);
    await ongoing.start();
    try {
      const every = ongoing
        .all()
        .map((r) => r.id)
        .sort();
      for (const count of [1, 2, 3]) {
        const parts = Array.from({ length: count }, (_, i) => ongoing.partition(i, count).map((r) => r.id));
        expect(parts.flat().sort()).toEqual(every);
        expect(new Set(parts.flat()).size).toBe(every.length);
        // The same split as every job member's own (core/job-partition.ts).
        for (const [i, ids] of parts.entries()) {
          expect(ids.every((id) => partitionOf(id, count) === i)).toBe(true);
        }
      }
      expect(() => ongoing.partition(3, 3)).toThrow(RangeError);
    } finally {
      await ongoing.close();
    }
  });
});

describe('OngoingQuery over PostgreSQL logical replication', () => {
  let postgres: LaunchedPostgres | undefined;
  let repository: RoomRepository | undefined;
  beforeAll(async () => {
    postgres = await launchPostgres({ databases: ['oq_us', 'oq_eu', 'oq_archive'] });
    const pgServer = postgres;
    repository = await createPostgresRoomRepository(
      {
        ...configSchema.parse({}).rooms,
        shards: { us: pgServer.dsn('oq_us'), eu: pgServer.dsn('oq_eu') },
        archive: pgServer.dsn('oq_archive'),
      },
      REGIONS,
    );
  });
  afterAll(async () => {
    await repository?.close();
    await postgres?.stop();
  });

  it('sees a room start and end through the change feed, with no scan in between', async () => {
    const rooms = repository as RoomRepository;
    const pgServer = postgres as LaunchedPostgres;
    const shards = new Map(
      REGIONS.map((r) => [r, { url: pgServer.dsn(`oq_${r}`), schema: shardSchemaOf(r) }]),
    );
    const ongoing = new OngoingQuery({
      repository: rooms,
      feed: new PostgresRoomChangeFeed({ shards, consumer: 'ongoing', retryMs: 50, heartbeatMs: 500 }),
      regions: REGIONS,
      rescanMs: NO_RESCAN,
      endedKeepMs: KEEP_ENDED,
    });
    await ongoing.start();
    try {
      const room = await startRoom(rooms, 'eu');
      await eventually('the room to join', () =>
        ongoing.all().some((r) => r.id === room.id && r.region === 'eu'),
      );
      await rooms.end(room.id, new Date());
      await eventually('the room to leave', () => !ongoing.all().some((r) => r.id === room.id));
      expect(ongoing.allEnded().find((r) => r.id === room.id)?.onShard).toBe(true);
      await rooms.moveToArchive(room.id);
      await eventually(
        'the move to the archive to arrive',
        () => ongoing.allEnded().find((r) => r.id === room.id)?.onShard === false,
      );
    } finally {
      await ongoing.close();
    }
  });
});
