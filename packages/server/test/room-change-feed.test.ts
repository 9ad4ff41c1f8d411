import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  InProcessRoomChangeFeed,
  ObservedRoomRepository,
} from '../src/adapters/memory/in-process-room-change-feed.ts';
import {
  dropFeedSlots,
  type FeedShard,
  feedSlotName,
  listFeedSlots,
  PostgresRoomChangeFeed,
} from '../src/adapters/sql/postgres-room-change-feed.ts';
import {
  createPgliteRoomRepository,
  createPostgresRoomRepository,
  shardSchemaOf,
} from '../src/adapters/sql/room-repositories.ts';
import { configSchema } from '../src/config/config-schema.ts';
import type { RoomRepository } from '../src/core/ports/rooms.ts';
import { runFeedSlotsCommand } from '../src/local-cluster/feed-slots-command.ts';
import { describeRoomChangeFeedContract } from './contracts/room-change-feed-contract.ts';
import { type LaunchedPostgres, launchPostgres } from './helpers/postgres-launcher.ts';

const REGIONS = ['us', 'eu'];

describeRoomChangeFeedContract('in-process (roomcast dev)', async () => {
  const { repository } = await createPgliteRoomRepository({ regions: REGIONS });
  const feeds = new Set<InProcessRoomChangeFeed>();
  // One repository, every feed told: as in one process, where each consumer gets its own feed.
  const fanout = new InProcessRoomChangeFeed(10);
  const observed = new ObservedRoomRepository(repository, fanout);
  await fanout.start(async (change) => {
    for (const feed of feeds) feed.record(change.region, change.room, change.leftShard === true);
  });
  return {
    repository: observed,
    durable: false,
    open: () => {
      const feed = new InProcessRoomChangeFeed(10);
      feeds.add(feed);
      return feed;
    },
    close: async () => {
      await fanout.close();
      await repository.close();
    },
  };
});

let postgres: LaunchedPostgres | undefined;
let shards: Map<string, FeedShard> = new Map();
let repository: RoomRepository | undefined;

async function postgresFixture() {
  postgres = await launchPostgres({ databases: ['feed_us', 'feed_eu', 'feed_archive'] });
  const pgServer = postgres;
  const defaults = configSchema.parse({}).rooms;
  repository = await createPostgresRoomRepository(
    {
      ...defaults,
      shards: { us: pgServer.dsn('feed_us'), eu: pgServer.dsn('feed_eu') },
      archive: pgServer.dsn('feed_archive'),
    },
    REGIONS,
  );
  shards = new Map(REGIONS.map((r) => [r, { url: pgServer.dsn(`feed_${r}`), schema: shardSchemaOf(r) }]));
  return repository;
}

describeRoomChangeFeedContract('PostgreSQL logical replication (pgoutput)', async () => {
  const rooms = await postgresFixture();
  return {
    repository: rooms,
    durable: true,
    open: (name) => new PostgresRoomChangeFeed({ shards, consumer: name, retryMs: 50, heartbeatMs: 500 }),
    close: async () => {
      await rooms.close();
    },
  };
});

describe('PostgreSQL feed slots', () => {
  afterAll(async () => {
    await postgres?.stop();
  });
  beforeAll(async () => {
    // The contract suite above started the server; this one runs after it in the file.
    if (postgres === undefined) await postgresFixture();
  });

  async function slots(): Promise<string[]> {
    const client = new pg.Client({ connectionString: shards.get('us')?.url });
    await client.connect();
    try {
      return (
        await client.query<{ slot_name: string }>('SELECT slot_name FROM pg_replication_slots ORDER BY 1')
      ).rows.map((r) => r.slot_name);
    } finally {
      await client.end();
    }
  }

  it('creates one slot per consumer and region, and drops a retired consumer’s slots', async () => {
    const feed = new PostgresRoomChangeFeed({ shards, consumer: 'retired', retryMs: 50 });
    await feed.start(() => undefined);
    expect(await slots()).toContain(feedSlotName('retired', 'us'));
    await feed.close();
    expect(await dropFeedSlots(shards, 'retired')).toEqual([
      feedSlotName('retired', 'us'),
      feedSlotName('retired', 'eu'),
    ]);
    expect(await slots()).not.toContain(feedSlotName('retired', 'us'));
  });

  it('lists the slots with their lag, and `roomcast feed-slots` shows and drops them', async () => {
    const feed = new PostgresRoomChangeFeed({ shards, consumer: 'listed', retryMs: 50 });
    await feed.start(() => undefined);
    const listed = await listFeedSlots(shards);
    expect(listed.filter((s) => s.slot.startsWith('roomcast_listed_'))).toEqual([
      expect.objectContaining({ region: 'us', slot: feedSlotName('listed', 'us'), active: true }),
      expect.objectContaining({ region: 'eu', slot: feedSlotName('listed', 'eu'), active: true }),
    ]);
    await feed.close();
    const pgServer = postgres as LaunchedPostgres;
    const env = {
      ROOMCAST_REGIONS: 'us,eu',
      ROOMCAST_ROOMS_SHARDS: `us=${pgServer.dsn('feed_us')},eu=${pgServer.dsn('feed_eu')}`,
      ROOMCAST_ROOMS_ARCHIVE: pgServer.dsn('feed_archive'),
    };
    const lines: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((line: string) => void lines.push(line));
    try {
      expect(await runFeedSlotsCommand([], env)).toBe(0);
      expect(lines.some((l) => l.includes(feedSlotName('listed', 'eu')) && l.includes('lag'))).toBe(true);
      expect(await runFeedSlotsCommand(['--drop', 'listed'], env)).toBe(0);
      expect(lines.at(-1)).toBe(`dropped ${feedSlotName('listed', 'us')}, ${feedSlotName('listed', 'eu')}`);
    } finally {
      log.mockRestore();
    }
    expect(await runFeedSlotsCommand(['--drop', 'Bad-Name'], env)).toBe(2);
  });

  it('refuses a consumer name that is not a slot name', () => {
    expect(() => new PostgresRoomChangeFeed({ shards, consumer: 'Has-Dash' })).toThrow(RangeError);
  });
});
