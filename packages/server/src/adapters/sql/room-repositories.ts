import { join } from 'node:path';
import type { RoomcastConfig } from '../../config/config-schema.ts';
import { openPgPool, type PgPoolClient } from './pg-client.ts';
import { openPglite, type PgliteClient } from './pglite-client.ts';
import type { SqlClient } from './sql-client.ts';
import { type RoomShard, SqlRoomRepository } from './sql-room-repository.ts';

/** The `rooms` settings: shard and archive URLs, pool size, timeouts, hot window. */
export type RoomsSettings = RoomcastConfig['rooms'];

/** The schema of a region's rooms, in PGlite and in PostgreSQL alike. */
export function shardSchemaOf(region: string): string {
  return `region_${region}`;
}

/** The schema of the archive, in PGlite and in PostgreSQL alike. */
export const ARCHIVE_SCHEMA = 'archive';

/**
 * Opens one PGlite (in memory, or persisted in `dataDir`) holding one schema per region,
 * `region_<name>`, and the `archive` schema, migrated and wrapped in a SqlRoomRepository. The
 * repository owns the client; it is returned too so tests and the dev role can reach the database.
 */
export async function createPgliteRoomRepository(opts: {
  dataDir?: string;
  regions: readonly string[];
  /** An open PGlite to use instead of opening one (`roomcast dev` shares it with the ledger); the repository then owns it. */
  client?: PgliteClient;
}): Promise<{ repository: SqlRoomRepository; client: PgliteClient }> {
  const client = opts.client ?? (await openPglite(opts.dataDir));
  try {
    const shards = new Map(opts.regions.map((region) => [region, { client, schema: shardSchemaOf(region) }]));
    const repository = await SqlRoomRepository.open(shards, { client, schema: ARCHIVE_SCHEMA });
    return { repository, client };
  } catch (err) {
    await client.close();
    throw err;
  }
}

/**
 * Opens a SqlRoomRepository on PostgreSQL: one pool per distinct URL among `settings.shards` and
 * `settings.archive` (regions that share a database share its pool), each region in its own schema.
 * Pools connect lazily, so a database that is down now fails only its own region's calls until it
 * returns. `onPoolError` hears about idle connections that broke (a server restart).
 */
export async function createPostgresRoomRepository(
  settings: RoomsSettings,
  regions: readonly string[],
  opts: { onPoolError?: (err: Error, url: string) => void } = {},
): Promise<SqlRoomRepository> {
  const archiveUrl = settings.archive;
  if (archiveUrl === undefined) throw new Error('rooms.archive is required with rooms.shards');
  const pools = new Map<string, PgPoolClient>();
  const poolFor = (url: string): SqlClient => {
    let pool = pools.get(url);
    if (pool === undefined) {
      pool = openPgPool({
        connectionString: url,
        max: settings.poolSize,
        connectTimeoutMs: settings.connectTimeoutMs,
        statementTimeoutMs: settings.statementTimeoutMs,
        onIdleError: (err) => opts.onPoolError?.(err, redactUrl(url)),
      });
      pools.set(url, pool);
    }
    return pool;
  };
  const shards = new Map<string, RoomShard>();
  for (const region of regions) {
    const url = settings.shards[region];
    if (url === undefined) throw new Error(`rooms.shards has no URL for region ${region}`);
    shards.set(region, { client: poolFor(url), schema: shardSchemaOf(region) });
  }
  try {
    return await SqlRoomRepository.open(shards, { client: poolFor(archiveUrl), schema: ARCHIVE_SCHEMA });
  } catch (err) {
    await Promise.all([...pools.values()].map((p) => p.close()));
    throw err;
  }
}

/**
 * The rooms store a role's configuration asks for: PostgreSQL when `rooms.shards` is set, else the
 * embedded PGlite in `<dataDir>/pg` (what `roomcast dev` runs with no setup), or `opts.pglite`
 * when the caller opened that already.
 */
export async function createRoomRepository(
  config: Pick<RoomcastConfig, 'rooms' | 'regions' | 'dataDir'>,
  opts: { onPoolError?: (err: Error, url: string) => void; pglite?: PgliteClient | undefined } = {},
): Promise<SqlRoomRepository> {
  if (Object.keys(config.rooms.shards).length === 0) {
    const { repository } = await createPgliteRoomRepository({
      dataDir: join(config.dataDir, 'pg'),
      regions: config.regions,
      ...(opts.pglite === undefined ? {} : { client: opts.pglite }),
    });
    return repository;
  }
  return createPostgresRoomRepository(config.rooms, config.regions, opts);
}

/** A database URL without its password, for logs. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}
