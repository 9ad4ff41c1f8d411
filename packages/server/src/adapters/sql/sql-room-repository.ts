import { type Room, regionOf } from '@roomcast/protocol';
import type { SeqRange } from '../../core/ports/room-history.ts';
import {
  ArchiveUnavailableError,
  type EndedRoomsCursor,
  HostHasLiveRoomError,
  type LiveRoomsCursor,
  type LiveRoomsPage,
  type NewRoom,
  type RoomRepository,
  ShardUnavailableError,
} from '../../core/ports/rooms.ts';
import type { SeqReservations } from '../../core/ports/seq-reservations.ts';
import { loadMigrationSet, type MigrationSet, migrate, quoteSchema } from './migrations.ts';
import { newestFirst, type RoomRow, SHARD_COLUMNS, toRoom } from './room-rows.ts';
import { isConnectionFailure, type SqlClient, sqlStateOf } from './sql-client.ts';
import { type ArchiveLocation, SqlRoomArchive } from './sql-room-archive.ts';

/** Where one region's rooms live: a client and the schema holding its `rooms` table. */
export interface RoomShard {
  client: SqlClient;
  schema: string;
}

/** A shard with its table name resolved once: `"region_us".rooms`. */
interface ResolvedShard {
  region: string;
  client: SqlClient;
  schema: string;
  table: string;
  /** `"region_us".room_seq_ceilings` */
  ceilings: string;
  /** Settles when the shard's migrations are applied; reset after a failure so the next call retries. */
  ready: Promise<void> | undefined;
}

/** The migrations a repository applies to databases that were down when it opened. */
export interface RoomStoreMigrations {
  rooms: MigrationSet;
  archive: MigrationSet;
}

/** Must match the partial unique index in migrations/rooms/001_rooms.sql. */
const ONE_LIVE_PER_HOST_INDEX = 'rooms_one_live_per_host';

/**
 * SqlRoomRepository: RoomRepository on PostgreSQL (or PGlite), one schema per region shard plus an
 * archive schema (SqlRoomArchive), which may live in the same database as the shards or another.
 *
 * Routes each ID to its shard by its region prefix; an unconfigured region is a programming error
 * (the core validates IDs first) and throws a plain Error. The database enforces one live room per
 * host through a partial unique index. Failures to reach a shard reject with ShardUnavailableError,
 * failures to reach the archive with ArchiveUnavailableError; statements the database refuses
 * reject with the driver's error. A shard that is down when the repository opens is migrated on
 * first use once it answers. The repository owns its clients: `close` closes each distinct client once.
 *
 * A move (see `move`) copies rows into the archive before it deletes them from the shard, with the
 * shard's rows locked meanwhile so concurrent movers split the work instead of repeating it.
 */
export class SqlRoomRepository implements RoomRepository, SeqReservations {
  private readonly shards = new Map<string, ResolvedShard>();
  private readonly archive: SqlRoomArchive;
  private archiveReady: Promise<void> | undefined;

  /**
   * Uses the shards and the archive as they are. With `migrations`, each database is migrated on
   * its first use instead; `open` does that up front.
   */
  constructor(
    shards: ReadonlyMap<string, RoomShard>,
    private readonly archiveLocation: ArchiveLocation,
    private readonly migrations?: RoomStoreMigrations,
  ) {
    for (const [region, { client, schema }] of shards) {
      const table = `${quoteSchema(schema)}.rooms`;
      const ceilings = `${quoteSchema(schema)}.room_seq_ceilings`;
      this.shards.set(region, { region, client, schema, table, ceilings, ready: undefined });
    }
    this.archive = new SqlRoomArchive(archiveLocation);
  }

  /**
   * Applies the rooms migrations to every shard and the archive migrations to the archive, then
   * returns a repository over them. A database that cannot be reached yet does not fail `open`:
   * it is migrated on its first use. Any other migration failure rejects.
   */
  static async open(
    shards: ReadonlyMap<string, RoomShard>,
    archive: ArchiveLocation,
  ): Promise<SqlRoomRepository> {
    const migrations = { rooms: await loadMigrationSet('rooms'), archive: await loadMigrationSet('archive') };
    const repository = new SqlRoomRepository(shards, archive, migrations);
    // One at a time: in dev all shards share one PGlite, which queues everything anyway.
    for (const shard of repository.shards.values()) await tolerateUnavailable(repository.ready(shard));
    await tolerateUnavailable(repository.ensureArchive());
    return repository;
  }

  async create(room: NewRoom): Promise<Room> {
    const shard = this.shardOf(room.id);
    try {
      const { rows } = await this.onShard(shard, () =>
        shard.client.query<RoomRow>(
          `INSERT INTO ${shard.table} (id, host_id, title, visibility, status, started_at)
           VALUES ($1, $2, $3, $4, 'live', $5)
           RETURNING ${SHARD_COLUMNS}`,
          [room.id, room.hostId, room.title, room.visibility, room.startedAt],
        ),
      );
      return toRoom(single(rows));
    } catch (err) {
      if (sqlStateOf(err) === '23505' && constraintOf(err) === ONE_LIVE_PER_HOST_INDEX) {
        throw new HostHasLiveRoomError(room.hostId);
      }
      throw err;
    }
  }

  async get(id: string): Promise<Room | undefined> {
    const shard = this.shardOf(id);
    let shardDown: ShardUnavailableError | undefined;
    try {
      const { rows } = await this.onShard(shard, () =>
        shard.client.query<RoomRow>(`SELECT ${SHARD_COLUMNS} FROM ${shard.table} WHERE id = $1`, [id]),
      );
      if (rows[0]) return toRoom(rows[0]);
    } catch (err) {
      if (!(err instanceof ShardUnavailableError)) throw err;
      shardDown = err;
    }
    // Shard first, archive second: a move commits the archive copy before the shard delete, so a
    // room missing from the shard when we looked is in the archive by the time we look there.
    try {
      const archived = await this.onArchive(() => this.archive.get(id));
      // Rows in the archive never change, so an archived room is the answer even with its shard down.
      if (archived !== undefined || shardDown === undefined) return archived;
    } catch (err) {
      if (shardDown === undefined || !(err instanceof ArchiveUnavailableError)) throw err;
    }
    throw shardDown;
  }

  async end(id: string, endedAt: Date): Promise<Room | undefined> {
    const shard = this.shardOf(id);
    const { rows } = await this.onShard(shard, () =>
      shard.client.query<RoomRow>(
        `UPDATE ${shard.table} SET status = 'ended', ended_at = $2
         WHERE id = $1 AND status = 'live'
         RETURNING ${SHARD_COLUMNS}`,
        [id, endedAt],
      ),
    );
    if (rows[0]) return toRoom(rows[0]);
    // Not live: unknown, or already ended (on the shard or in the archive) and returned unchanged.
    return this.get(id);
  }

  async retitle(id: string, title: string): Promise<Room | undefined> {
    const shard = this.shardOf(id);
    const { rows } = await this.onShard(shard, () =>
      shard.client.query<RoomRow>(
        `UPDATE ${shard.table} SET title = $2 WHERE id = $1 AND status = 'live' RETURNING ${SHARD_COLUMNS}`,
        [id, title],
      ),
    );
    return rows[0] ? toRoom(rows[0]) : undefined;
  }

  async moveToArchive(id: string): Promise<boolean> {
    const shard = this.shardOf(id);
    if ((await this.move(shard, { id })) > 0) return true;
    // Nothing ended on the shard: already archived (true), or live or unknown (false).
    return (await this.onArchive(() => this.archive.get(id))) !== undefined;
  }

  async moveEndedToArchive(region: string, options: { endedBefore: Date; limit: number }): Promise<number> {
    const shard = this.shards.get(region);
    if (!shard) throw new Error(`no rooms shard configured for region ${region}`);
    if (!Number.isInteger(options.limit) || options.limit < 1) {
      throw new RangeError(`limit must be a positive whole number, got ${options.limit}`);
    }
    return this.move(shard, options);
  }

  async listLive(limit: number, after?: LiveRoomsCursor): Promise<LiveRoomsPage> {
    if (!Number.isInteger(limit) || limit < 0)
      throw new RangeError(`limit must be a whole number, got ${limit}`);
    if (limit === 0) return { rooms: [], unavailableRegions: [] };
    // Each shard's newest `limit` after the cursor suffice: the global page is among their union.
    const shards = [...this.shards.values()];
    const results = await Promise.allSettled(
      shards.map((shard) =>
        this.onShard(shard, () =>
          after === undefined
            ? shard.client.query<RoomRow>(
                `SELECT ${SHARD_COLUMNS} FROM ${shard.table}
                 WHERE status = 'live'
                 ORDER BY started_at DESC, id DESC
                 LIMIT $1`,
                [limit],
              )
            : shard.client.query<RoomRow>(
                `SELECT ${SHARD_COLUMNS} FROM ${shard.table}
                 WHERE status = 'live' AND (started_at, id) < ($2, $3)
                 ORDER BY started_at DESC, id DESC
                 LIMIT $1`,
                [limit, after.startedAt, after.id],
              ),
        ),
      ),
    );
    const rooms: Room[] = [];
    const unavailableRegions: string[] = [];
    results.forEach((result, i) => {
      if (result.status === 'fulfilled') rooms.push(...result.value.rows.map(toRoom));
      else if (result.reason instanceof ShardUnavailableError)
        unavailableRegions.push(shards[i]?.region ?? '?');
      else throw result.reason;
    });
    return { rooms: rooms.sort(newestFirst).slice(0, limit), unavailableRegions };
  }

  async listEndedInShard(region: string, limit: number, after?: EndedRoomsCursor): Promise<Room[]> {
    const shard = this.shards.get(region);
    if (!shard) throw new Error(`no rooms shard configured for region ${region}`);
    if (!Number.isInteger(limit) || limit < 0)
      throw new RangeError(`limit must be a whole number, got ${limit}`);
    if (limit === 0) return [];
    // The partial index rooms_ended_oldest_first serves both forms.
    const { rows } = await this.onShard(shard, () =>
      after === undefined
        ? shard.client.query<RoomRow>(
            `SELECT ${SHARD_COLUMNS} FROM ${shard.table}
             WHERE status = 'ended' ORDER BY ended_at, id LIMIT $1`,
            [limit],
          )
        : shard.client.query<RoomRow>(
            `SELECT ${SHARD_COLUMNS} FROM ${shard.table}
             WHERE status = 'ended' AND (ended_at, id) > ($2, $3)
             ORDER BY ended_at, id LIMIT $1`,
            [limit, after.endedAt, after.id],
          ),
    );
    return rows.map(toRoom);
  }

  /** SeqReservations, in the room's region shard: one upsert, atomic and durable at COMMIT. */
  async reserve(room: string, above: number, count: number): Promise<SeqRange> {
    const shard = this.shardOf(room);
    const { rows } = await this.onShard(shard, () =>
      shard.client.query<{ ceiling: string | number }>(
        `INSERT INTO ${shard.ceilings} AS c (room_id, ceiling) VALUES ($1, $2::bigint + $3::bigint)
         ON CONFLICT (room_id) DO UPDATE SET ceiling = GREATEST(c.ceiling, $2::bigint) + $3::bigint
         RETURNING ceiling`,
        [room, above, count],
      ),
    );
    const ceiling = Number(rows[0]?.ceiling);
    if (!Number.isSafeInteger(ceiling))
      throw new Error(`room ${room}: the seq ceiling is ${rows[0]?.ceiling}`);
    return { floor: ceiling - count, ceiling };
  }

  async ping(): Promise<void> {
    await Promise.all([
      ...[...this.shards.values()].map((shard) => this.onShard(shard, () => shard.client.query('SELECT 1'))),
      this.onArchive(() => this.archive.ping()),
    ]);
  }

  async close(): Promise<void> {
    const clients = new Set([...[...this.shards.values()].map((s) => s.client), this.archive.client]);
    await Promise.all([...clients].map((c) => c.close()));
  }

  /**
   * Moves ended rooms of one shard to the archive: one room by ID (waiting for a mover that holds
   * it), or the oldest ended before a cut-off (skipping rooms another mover holds). Returns how
   * many it moved. In one shard transaction: lock the rows, copy them into the archive (a no-op for
   * rows already there), delete them from the shard, commit. A crash before the copy commits leaves
   * the shard as it was; a crash after it leaves the room in both places, identical, until the next
   * move deletes the shard's row — re-running never loses a room nor archives it twice.
   */
  private move(
    shard: ResolvedShard,
    which: { id: string } | { endedBefore: Date; limit: number },
  ): Promise<number> {
    // In dev the archive is a schema of the shards' own PGlite, whose one connection the shard
    // transaction holds: there the copy runs in that transaction, and the move is atomic.
    const colocated = shard.client === this.archive.client;
    return this.onShard(shard, () =>
      shard.client.transaction(async (tx) => {
        const { rows } =
          'id' in which
            ? await tx.query<RoomRow>(
                `SELECT ${SHARD_COLUMNS} FROM ${shard.table} WHERE id = $1 AND status = 'ended' FOR UPDATE`,
                [which.id],
              )
            : await tx.query<RoomRow>(
                `SELECT ${SHARD_COLUMNS} FROM ${shard.table}
                 WHERE status = 'ended' AND ended_at < $1
                 ORDER BY ended_at, id
                 LIMIT $2
                 FOR UPDATE SKIP LOCKED`,
                [which.endedBefore, which.limit],
              );
        if (rows.length === 0) return 0;
        if (colocated) await this.archive.append(rows, tx);
        else await this.onArchive(() => this.archive.append(rows));
        await tx.query(`DELETE FROM ${shard.table} WHERE id = ANY($1::text[]) AND status = 'ended'`, [
          rows.map((r) => r.id),
        ]);
        return rows.length;
      }),
    );
  }

  /** Runs one call on a shard (migrating it first if it was down at open), mapping unreachability. */
  private async onShard<T>(shard: ResolvedShard, call: () => Promise<T>): Promise<T> {
    try {
      await this.ready(shard);
      return await call();
    } catch (err) {
      if (err instanceof ShardUnavailableError || err instanceof ArchiveUnavailableError) throw err;
      throw isUnreachable(err) ? new ShardUnavailableError(shard.region, err) : err;
    }
  }

  private async onArchive<T>(call: () => Promise<T>): Promise<T> {
    try {
      await this.ensureArchive();
      return await call();
    } catch (err) {
      if (err instanceof ArchiveUnavailableError) throw err;
      throw isUnreachable(err) ? new ArchiveUnavailableError(err) : err;
    }
  }

  private ready(shard: ResolvedShard): Promise<void> {
    const set = this.migrations?.rooms;
    if (set === undefined) return Promise.resolve();
    shard.ready ??= migrate(shard.client, shard.schema, set).then(
      () => undefined,
      (err: unknown) => {
        shard.ready = undefined;
        throw isUnreachable(err) ? new ShardUnavailableError(shard.region, err) : err;
      },
    );
    return shard.ready;
  }

  private ensureArchive(): Promise<void> {
    const set = this.migrations?.archive;
    if (set === undefined) return Promise.resolve();
    const { client, schema } = this.archiveLocation;
    this.archiveReady ??= migrate(client, schema, set).then(
      () => undefined,
      (err: unknown) => {
        this.archiveReady = undefined;
        throw isUnreachable(err) ? new ArchiveUnavailableError(err) : err;
      },
    );
    return this.archiveReady;
  }

  private shardOf(id: string): ResolvedShard {
    const region = regionOf(id);
    const shard = region === undefined ? undefined : this.shards.get(region);
    if (!shard) throw new Error(`no rooms shard configured for region ${region ?? '(none)'} of ID ${id}`);
    return shard;
  }
}

/**
 * Unreachable, or too slow to count as available: a connection failure, or a statement the server
 * cancelled at `statement_timeout` (57014), which under load means the shard is not keeping up.
 */
function isUnreachable(err: unknown): boolean {
  return isConnectionFailure(err) || sqlStateOf(err) === '57014';
}

/** Lets `open` go on past a database that is down; it is migrated on first use instead. */
async function tolerateUnavailable(work: Promise<void>): Promise<void> {
  try {
    await work;
  } catch (err) {
    if (!(err instanceof ShardUnavailableError || err instanceof ArchiveUnavailableError)) throw err;
  }
}

function constraintOf(err: unknown): unknown {
  return typeof err === 'object' && err !== null ? (err as { constraint?: unknown }).constraint : undefined;
}

function single(rows: RoomRow[]): RoomRow {
  const row = rows[0];
  if (!row) throw new Error('INSERT … RETURNING returned no row');
  return row;
}
