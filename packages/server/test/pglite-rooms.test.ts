import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  loadMigrationSet,
  type MigrationSet,
  migrate,
  quoteSchema,
  splitStatements,
} from '../src/adapters/sql/migrations.ts';
import { openPglite, type PgliteClient } from '../src/adapters/sql/pglite-client.ts';
import { createPgliteRoomRepository } from '../src/adapters/sql/room-repositories.ts';
import type { SqlClient, SqlResult } from '../src/adapters/sql/sql-client.ts';
import { SqlRoomRepository } from '../src/adapters/sql/sql-room-repository.ts';
import { ArchiveUnavailableError, ShardUnavailableError } from '../src/core/ports/rooms.ts';
import { describeRoomsContract } from './contracts/rooms-contract.ts';
import { describeSqlArchiveContract } from './contracts/sql-archive-contract.ts';

describeRoomsContract('PGlite (in memory)', async (regions) => {
  const { repository } = await createPgliteRoomRepository({ regions });
  return { rooms: repository, close: () => repository.close() };
});

describeSqlArchiveContract('PGlite (archive in the same database)', async () => {
  const client = await openPglite();
  return {
    shards: new Map(['us', 'eu', 'ap'].map((r) => [r, client])),
    archive: client,
    close: () => client.close(),
  };
});

/** A SqlClient whose every query rejects with `error`, standing in for a shard that fails. */
function failingClient(error: unknown): SqlClient {
  return {
    query: <R>(): Promise<SqlResult<R>> => Promise.reject(error),
    transaction: () => Promise.reject(error),
    close: () => Promise.resolve(),
  };
}

async function migrationVersions(client: SqlClient, schema: string, set = 'rooms'): Promise<number[]> {
  const { rows } = await client.query<{ version: number }>(
    `SELECT version FROM ${quoteSchema(schema)}.schema_migrations WHERE migration_set = $1 ORDER BY version`,
    [set],
  );
  return rows.map((r) => r.version);
}

let counter = 0;
function newRoom(region: string) {
  counter++;
  return {
    id: `${region}_room-t${counter}`,
    hostId: `${region}_host-t${counter}`,
    title: 't',
    visibility: 'public' as const,
    startedAt: new Date(),
  };
}

describe('PGlite rooms store', () => {
  let repository: SqlRoomRepository;
  let client: PgliteClient;
  let rooms: MigrationSet;
  let archive: { client: SqlClient; schema: string };

  beforeAll(async () => {
    ({ repository, client } = await createPgliteRoomRepository({ regions: ['us', 'eu'] }));
    rooms = await loadMigrationSet('rooms');
    archive = { client, schema: 'archive' };
  });
  afterAll(async () => {
    await repository?.close();
  });

  it('creates one schema per region and an archive schema, with every migration recorded once', async () => {
    const versions = rooms.migrations.map((m) => m.version);
    expect(versions.slice(0, 2)).toEqual([1, 2]);
    expect(await migrationVersions(client, 'region_us')).toEqual(versions);
    expect(await migrationVersions(client, 'region_eu')).toEqual(versions);
    expect(await migrate(client, 'region_us', rooms)).toEqual([]);
    const archiveSet = await loadMigrationSet('archive');
    expect(await migrationVersions(client, 'archive', 'archive')).toEqual(
      archiveSet.migrations.map((m) => m.version),
    );
    expect(await migrate(client, 'archive', archiveSet)).toEqual([]);
  });

  it('applies a migration once when two migrators race on a fresh schema', async () => {
    const results = await Promise.all([migrate(client, 'race_a', rooms), migrate(client, 'race_a', rooms)]);
    expect(results.flat().sort()).toEqual(rooms.migrations.map((m) => m.version));
    expect(await migrationVersions(client, 'race_a')).toEqual(rooms.migrations.map((m) => m.version));
  });

  it('rejects bad schema names before any SQL runs', async () => {
    for (const bad of [
      '',
      'Region_us',
      'us-east',
      '1us',
      'a'.repeat(64),
      'x"; DROP SCHEMA public; --',
      'pg_temp',
    ]) {
      expect(() => quoteSchema(bad), bad).toThrow(/invalid schema name/);
      await expect(migrate(client, bad, rooms)).rejects.toThrow(/invalid schema name/);
      expect(() => new SqlRoomRepository(new Map([['us', { client, schema: bad }]]), archive)).toThrow(
        /invalid schema name/,
      );
      expect(() => new SqlRoomRepository(new Map(), { client, schema: bad })).toThrow(/invalid schema name/);
    }
    expect(quoteSchema('region_us')).toBe('"region_us"');
    expect(quoteSchema(`_${'a'.repeat(62)}`)).toBe(`"_${'a'.repeat(62)}"`);
  });

  it('throws a plain Error naming the region for an ID of an unconfigured region', async () => {
    const error = await repository.get('zz_room-1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(ShardUnavailableError);
    expect((error as Error).message).toMatch(/region zz/);
    await expect(repository.end('not-an-id', new Date())).rejects.toThrow(/no rooms shard/);
  });

  it('lets the database refuse a room whose ID is outside its host region, unwrapped', async () => {
    const error = await repository
      .create({
        id: 'us_room-x1',
        hostId: 'eu_host-x1',
        title: 't',
        visibility: 'public',
        startedAt: new Date(),
      })
      .catch((e: unknown) => e);
    expect(error).not.toBeInstanceOf(ShardUnavailableError);
    expect(error).toMatchObject({ code: '23514', constraint: 'rooms_id_in_host_region' });
  });

  it('wraps connection failures of a shard in ShardUnavailableError and passes SQL errors through', async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const down = new SqlRoomRepository(
      new Map([
        ['us', { client, schema: 'region_us' }],
        ['eu', { client: failingClient(refused), schema: 'region_eu' }],
      ]),
      archive,
    );
    const live = await down.create(newRoom('us'));
    // A listing leaves the down region out and says so, rather than failing.
    const page = await down.listLive(1000);
    expect(page.unavailableRegions).toEqual(['eu']);
    expect(page.rooms.map((r) => r.id)).toContain(live.id);
    const getError = await down.get('eu_room-1').catch((e: unknown) => e);
    expect(getError).toBeInstanceOf(ShardUnavailableError);
    expect(getError).toMatchObject({ region: 'eu', cause: refused });
    await expect(down.end('eu_room-1', new Date())).rejects.toBeInstanceOf(ShardUnavailableError);
    await expect(down.moveEndedToArchive('eu', { endedBefore: new Date(), limit: 5 })).rejects.toBeInstanceOf(
      ShardUnavailableError,
    );
    await expect(down.ping()).rejects.toBeInstanceOf(ShardUnavailableError);
    await expect(down.get('us_room-1')).resolves.toBeUndefined();

    const adminShutdown = { code: '57P01', severity: 'FATAL', message: 'terminating connection' };
    const checkFailed = { code: '23514', severity: 'ERROR', message: 'check constraint' };
    const timedOut = {
      code: '57014',
      severity: 'ERROR',
      message: 'canceling statement due to statement timeout',
    };
    for (const unreachable of [adminShutdown, timedOut]) {
      const repo = new SqlRoomRepository(
        new Map([['us', { client: failingClient(unreachable), schema: 'region_us' }]]),
        archive,
      );
      await expect(repo.get('us_room-1')).rejects.toBeInstanceOf(ShardUnavailableError);
    }
    const refusedRepo = new SqlRoomRepository(
      new Map([['us', { client: failingClient(checkFailed), schema: 'region_us' }]]),
      archive,
    );
    await expect(refusedRepo.get('us_room-1')).rejects.toBe(checkFailed);
  });

  it('reads ended rooms from the archive while their shard is down, and names the archive when it is down', async () => {
    const live = await repository.create(newRoom('eu'));
    const ended = await repository.end(live.id, new Date());
    await repository.moveToArchive(live.id);
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const shardDown = new SqlRoomRepository(
      new Map([['eu', { client: failingClient(refused), schema: 'region_eu' }]]),
      archive,
    );
    expect(await shardDown.get(live.id)).toEqual(ended);
    await expect(shardDown.get('eu_room-unknown')).rejects.toBeInstanceOf(ShardUnavailableError);

    const archiveDown = new SqlRoomRepository(new Map([['eu', { client, schema: 'region_eu' }]]), {
      client: failingClient(refused),
      schema: 'archive',
    });
    await expect(archiveDown.get(live.id)).rejects.toBeInstanceOf(ArchiveUnavailableError);
    const other = await archiveDown.create(newRoom('eu'));
    expect(await archiveDown.get(other.id)).toEqual(other);
    await archiveDown.end(other.id, new Date());
    await expect(archiveDown.moveToArchive(other.id)).rejects.toBeInstanceOf(ArchiveUnavailableError);
    // The end stands on the shard, and the move can be finished once the archive is back.
    expect((await repository.get(other.id))?.status).toBe('ended');
    expect(await repository.moveToArchive(other.id)).toBe(true);
  });

  it('rejects a limit that is not a whole number', async () => {
    await expect(repository.listLive(-1)).rejects.toBeInstanceOf(RangeError);
    await expect(repository.listLive(1.5)).rejects.toBeInstanceOf(RangeError);
    await expect(
      repository.moveEndedToArchive('us', { endedBefore: new Date(), limit: 0 }),
    ).rejects.toBeInstanceOf(RangeError);
    await expect(repository.moveEndedToArchive('zz', { endedBefore: new Date(), limit: 1 })).rejects.toThrow(
      /region zz/,
    );
  });
});

describe('PGlite rooms store on a data dir', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'roomcast-pglite-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps rooms across a reopen and applies no migration twice', async () => {
    const dataDir = join(dir, 'pg');
    const first = await createPgliteRoomRepository({ dataDir, regions: ['us', 'eu'] });
    const live = await first.repository.create({
      id: 'eu_room-persist',
      hostId: 'eu_host-persist',
      title: 'still here',
      visibility: 'public',
      startedAt: new Date('2030-05-06T07:08:09.010Z'),
    });
    const ended = await first.repository.end(live.id, new Date('2030-05-06T08:00:00.000Z'));
    await first.repository.close();

    // A closed client stands for a shard that went away.
    await expect(first.repository.ping()).rejects.toBeInstanceOf(ShardUnavailableError);

    const second = await createPgliteRoomRepository({ dataDir, regions: ['us', 'eu'] });
    try {
      const versions = (await loadMigrationSet('rooms')).migrations.map((m) => m.version);
      expect(await migrationVersions(second.client, 'region_eu')).toEqual(versions);
      expect(await migrationVersions(second.client, 'region_us')).toEqual(versions);
      expect(await second.repository.get(live.id)).toEqual(ended);
      // The one-live-room index survived too: the host can start again, but only once.
      await second.repository.create({ ...live, id: 'eu_room-persist2', startedAt: new Date() });
      await expect(
        second.repository.create({ ...live, id: 'eu_room-persist3', startedAt: new Date() }),
      ).rejects.toMatchObject({ name: 'HostHasLiveRoomError' });
    } finally {
      await second.repository.close();
    }
  });
});

describe('splitStatements', () => {
  it('splits at top-level semicolons only', () => {
    const script = `
      -- a comment; not a statement
      CREATE TABLE t (a text DEFAULT ';');
      /* block; /* nested; */ still comment */
      CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql;
      SELECT "odd;name", $$x;y$$, 'it''s; fine' FROM t
    `;
    expect(splitStatements(script)).toEqual([
      `-- a comment; not a statement
      CREATE TABLE t (a text DEFAULT ';')`,
      `/* block; /* nested; */ still comment */
      CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql`,
      `SELECT "odd;name", $$x;y$$, 'it''s; fine' FROM t`,
    ]);
    expect(splitStatements('-- only a comment\n;\n  ')).toEqual([]);
  });
});
