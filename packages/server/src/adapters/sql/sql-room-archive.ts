import type { Room } from '@roomcast/protocol';
import { quoteSchema } from './migrations.ts';
import { ARCHIVE_COLUMNS, type RoomRow, toRoom } from './room-rows.ts';
import type { SqlClient } from './sql-client.ts';

/** Where the archive lives: a client and the schema holding its partitioned `rooms` table. */
export interface ArchiveLocation {
  client: SqlClient;
  schema: string;
}

const PARTITION_NAME = /^rooms_p\d{4}_\d{2}$/;

/**
 * SqlRoomArchive: the append-only archive of ended rooms, one schema of one database.
 *
 * It only ever SELECTs, INSERTs … ON CONFLICT DO NOTHING, and creates the monthly partition a row
 * needs (range on `ended_at`, UTC months) the first time one arrives, idempotently and safely
 * when several processes do it at once. It never updates or deletes, and the schema's triggers
 * refuse it anyway. Connection failures reject with the driver's error: the repository maps them.
 */
export class SqlRoomArchive {
  readonly client: SqlClient;
  private readonly schema: string;
  private readonly table: string;
  /** Partitions this process created or saw committed, so the common case costs no extra query. */
  private readonly knownPartitions = new Set<string>();

  /** Uses the archive as it is: SqlRoomRepository applies its migrations. */
  constructor(location: ArchiveLocation) {
    this.client = location.client;
    this.schema = quoteSchema(location.schema);
    this.table = `${this.schema}.rooms`;
  }

  async get(id: string): Promise<Room | undefined> {
    const { rows } = await this.client.query<RoomRow>(
      `SELECT ${ARCHIVE_COLUMNS} FROM ${this.table} WHERE id = $1 ORDER BY ended_at LIMIT 1`,
      [id],
    );
    return rows[0] && toRoom(rows[0]);
  }

  /**
   * Copies ended rooms in; a room already archived with the same `ended_at` is left as it is, so
   * appending the same rows again changes nothing. Pass `tx` when the caller holds a transaction
   * on this same database (dev: shards and archive share one PGlite), so everything runs in it.
   */
  async append(rows: readonly RoomRow[], tx?: SqlClient): Promise<void> {
    if (rows.length === 0) return;
    const endedAts = rows.map((row) => {
      if (row.ended_at === null) throw new Error(`room ${row.id} has not ended and cannot be archived`);
      return new Date(row.ended_at);
    });
    for (const month of new Set(endedAts.map(monthOf))) await this.ensurePartition(new Date(month), tx);
    // One statement for the whole batch; arrays travel as parameters like any other value.
    await (tx ?? this.client).query(
      `INSERT INTO ${this.table} (id, host_id, title, visibility, started_at, ended_at)
       SELECT id, host_id, title, visibility, started_at::timestamptz, ended_at::timestamptz
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
         AS r(id, host_id, title, visibility, started_at, ended_at)
       ON CONFLICT (id, ended_at) DO NOTHING`,
      [
        rows.map((r) => r.id),
        rows.map((r) => r.host_id),
        rows.map((r) => r.title),
        rows.map((r) => r.visibility),
        rows.map((r) => new Date(r.started_at).toISOString()),
        endedAts.map((d) => d.toISOString()),
      ],
    );
  }

  async ping(): Promise<void> {
    await this.client.query('SELECT 1');
  }

  /** Creates the partition of the UTC month starting at `month` unless it exists. */
  private async ensurePartition(month: Date, tx: SqlClient | undefined): Promise<void> {
    const name = `rooms_p${month.toISOString().slice(0, 7).replace('-', '_')}`;
    if (this.knownPartitions.has(name)) return;
    if (!PARTITION_NAME.test(name))
      throw new RangeError(`cannot archive a room ended at ${month.toISOString()}`);
    const next = new Date(Date.UTC(month.getUTCFullYear(), month.getUTCMonth() + 1, 1));
    const create = async (db: SqlClient): Promise<void> => {
      // Serialises concurrent creators: without it two CREATE … IF NOT EXISTS can still collide.
      await db.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
        `roomcast.archive.${this.schema}.${name}`,
      ]);
      const { rows } = await db.query<{ present: boolean }>('SELECT to_regclass($1) IS NOT NULL AS present', [
        `${this.schema}.${name}`,
      ]);
      if (rows[0]?.present === true) return;
      // Bounds are ISO timestamps made above, not input: DDL takes no bind parameters.
      await db.query(
        `CREATE TABLE IF NOT EXISTS ${this.schema}.${name} PARTITION OF ${this.table}
         FOR VALUES FROM ('${month.toISOString()}') TO ('${next.toISOString()}')`,
      );
    };
    if (tx !== undefined) {
      // Inside the caller's transaction, which may still roll back: check again next time.
      await create(tx);
      return;
    }
    await this.client.transaction(create);
    this.knownPartitions.add(name);
  }
}

/** The first instant of `date`'s UTC month, as a number so that a Set removes duplicates. */
function monthOf(date: Date): number {
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1);
}
