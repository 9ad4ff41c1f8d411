import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { loadMigrationSet } from '../src/adapters/sql/migrations.ts';
import { openPgPool, type PgPoolClient } from '../src/adapters/sql/pg-client.ts';
import { createPostgresRoomRepository, type RoomsSettings } from '../src/adapters/sql/room-repositories.ts';
import { configSchema } from '../src/config/config-schema.ts';
import { ShardUnavailableError } from '../src/core/ports/rooms.ts';
import { describeRoomsContract } from './contracts/rooms-contract.ts';
import { describeSqlArchiveContract } from './contracts/sql-archive-contract.ts';
import { type LaunchedPostgres, launchPostgres } from './helpers/postgres-launcher.ts';

// One private PostgreSQL for this file, started by the first suite that needs it; each suite gets
// databases of its own.
let launching: Promise<LaunchedPostgres> | undefined;
const cluster = (): Promise<LaunchedPostgres> => {
  launching ??= launchPostgres({
    databases: [
      'c_us',
      'c_eu',
      'c_ap',
      'c_archive',
      'm_us',
      'm_eu',
      'm_ap',
      'm_archive',
      'shared',
      's_archive',
    ],
  });
  return launching;
};
afterAll(async () => {
  await (await launching?.catch(() => undefined))?.stop();
});

const defaults: RoomsSettings = configSchema.parse({}).rooms;
/**
 * How long getting a connection may take, waiting for a free one of the pool included: a limit for
 * a busy machine, not a measure (20 concurrent creates on a pool of 10 once took over 1 s in CI).
 * The shard-down test is unaffected: a refused connection fails at once.
 */
const CONNECT_TIMEOUT_MS = 10_000;

function settings(
  pgServer: LaunchedPostgres,
  shards: Record<string, string>,
  archive: string,
): RoomsSettings {
  return { ...defaults, connectTimeoutMs: CONNECT_TIMEOUT_MS, shards, archive: pgServer.dsn(archive) };
}

function pool(pgServer: LaunchedPostgres, database: string): PgPoolClient {
  return openPgPool({
    connectionString: pgServer.dsn(database),
    max: 8,
    connectTimeoutMs: CONNECT_TIMEOUT_MS,
    statementTimeoutMs: 5000,
  });
}

describeRoomsContract('PostgreSQL 15 (three region databases and an archive database)', async (regions) => {
  const pgServer = await cluster();
  const shards = Object.fromEntries(regions.map((r) => [r, pgServer.dsn(`c_${r}`)]));
  const rooms = await createPostgresRoomRepository(settings(pgServer, shards, 'c_archive'), regions);
  return { rooms, close: () => rooms.close() };
});

describeSqlArchiveContract('PostgreSQL 15 (archive in its own database)', async () => {
  const pgServer = await cluster();
  const shards = new Map(['us', 'eu', 'ap'].map((r) => [r, pool(pgServer, `m_${r}`)]));
  const archive = pool(pgServer, 'm_archive');
  return {
    shards,
    archive,
    close: async () => {
      await Promise.all([...shards.values(), archive].map((c) => c.close()));
    },
  };
});

describe('PostgreSQL rooms store', () => {
  it('keeps regions that share a database apart, in one schema each, over one pool', async () => {
    const pgServer = await cluster();
    const url = pgServer.dsn('shared');
    const rooms = await createPostgresRoomRepository(settings(pgServer, { us: url, eu: url }, 's_archive'), [
      'us',
      'eu',
    ]);
    try {
      const us = await rooms.create(room('us'));
      const eu = await rooms.create(room('eu'));
      const check = new pg.Client({ connectionString: url });
      await check.connect();
      try {
        const { rows } = await check.query<{ schema: string; id: string }>(
          `SELECT 'region_us' AS schema, id FROM region_us.rooms UNION ALL SELECT 'region_eu', id FROM region_eu.rooms`,
        );
        expect(rows).toEqual(
          expect.arrayContaining([
            { schema: 'region_us', id: us.id },
            { schema: 'region_eu', id: eu.id },
          ]),
        );
        expect(rows).toHaveLength(2);
      } finally {
        await check.end();
      }
      expect((await rooms.listLive(10)).rooms.map((r) => r.id).sort()).toEqual([us.id, eu.id].sort());
    } finally {
      await rooms.close();
    }
  });

  it('opens with a shard down, fails that region fast, and migrates the shard once it answers', async () => {
    const pgServer = await cluster();
    // A region whose server is not there yet: a loopback port nobody listens on.
    const down = `postgresql://roomcast@127.0.0.1:1/nowhere`;
    const rooms = await createPostgresRoomRepository(
      settings(pgServer, { us: pgServer.dsn('shared'), ap: down }, 's_archive'),
      ['us', 'ap'],
    );
    try {
      // It answers with the error instead of waiting for the shard (a hang would end at the test's timeout).
      await expect(rooms.create(room('ap'))).rejects.toBeInstanceOf(ShardUnavailableError);
      await expect(rooms.get('ap_room-x')).rejects.toBeInstanceOf(ShardUnavailableError);
      expect((await rooms.listLive(5)).unavailableRegions).toEqual(['ap']);
      await expect(rooms.create(room('us'))).resolves.toMatchObject({ status: 'live' });
    } finally {
      await rooms.close();
    }
  });

  it('runs every statement with the extended protocol: a script of two statements is refused', async () => {
    const pgServer = await cluster();
    const client = pool(pgServer, 'shared');
    try {
      await expect(client.query('SELECT 1; SELECT 2')).rejects.toMatchObject({ code: '42601' });
      expect((await client.query<{ n: number }>('SELECT $1::int AS n', [7])).rows).toEqual([{ n: 7 }]);
      // A failed transaction rolls back and gives its connection back in a usable state.
      await client.query('CREATE TABLE IF NOT EXISTS tx_probe (n int)');
      await expect(
        client.transaction(async (tx) => {
          await tx.query('INSERT INTO tx_probe VALUES (1)');
          await tx.query('SELECT 1/0');
        }),
      ).rejects.toMatchObject({ code: '22012' });
      expect((await client.query('SELECT * FROM tx_probe')).rows).toEqual([]);
      // The pool's timeouts reach the server.
      const { rows } = await client.query<{ statement_timeout: string }>('SHOW statement_timeout');
      expect(rows[0]?.statement_timeout).toBe('5s');
    } finally {
      await client.close();
    }
  });

  it('records the archive migration set in the archive database', async () => {
    const pgServer = await cluster();
    const client = pool(pgServer, 'c_archive');
    try {
      const { rows } = await client.query<{ version: number }>(
        `SELECT version FROM archive.schema_migrations WHERE migration_set = 'archive' ORDER BY version`,
      );
      expect(rows.map((r) => r.version)).toEqual(
        (await loadMigrationSet('archive')).migrations.map((m) => m.version),
      );
    } finally {
      await client.close();
    }
  });
});

function room(region: string) {
  const id = randomUUID().slice(0, 12);
  return {
    id: `${region}_room-${id}`,
    hostId: `${region}_host-${id}`,
    title: 'pg',
    visibility: 'public' as const,
    startedAt: new Date(),
  };
}
