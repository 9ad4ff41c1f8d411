import { userInfo } from 'node:os';
import pg from 'pg';
import { tcpAnswers } from '../engines/engine-process.ts';

const HOST = '127.0.0.1';
const PORT = 5432;

/** The machine's PostgreSQL with this run's fresh databases. */
export interface MachinePostgres {
  /** `roomcast_<stamp>_`: every database of this run starts with it. */
  readonly prefix: string;
  /** A connection string for the run's database `name` (`rooms_us` → `roomcast_<stamp>_rooms_us`). */
  dsn(name: string): string;
  /** Drops the run's databases (closing their connections); idempotent. */
  dropDatabases(): Promise<void>;
}

/**
 * Opens the PostgreSQL the machine runs on 127.0.0.1:5432 as `PGUSER` (default: the OS user;
 * `PGPASSWORD` when it needs one, inherited by the roles too) and creates `databases` under a
 * prefix unique to this run, so two runs, or a run and the machine's own data, never meet.
 */
export async function openMachinePostgres(opts: {
  prefix: string;
  databases: readonly string[];
}): Promise<{ ok: true; server: MachinePostgres } | { ok: false; reason: string }> {
  if (!(await tcpAnswers(PORT))) return { ok: false, reason: `no PostgreSQL listens on ${HOST}:${PORT}` };
  const user = process.env.PGUSER ?? userInfo().username;
  const dsn = (name: string) =>
    `postgresql://${encodeURIComponent(user)}@${HOST}:${PORT}/${name === 'postgres' ? name : opts.prefix + name}`;
  const admin = new pg.Client({ connectionString: dsn('postgres') });
  try {
    await admin.connect();
  } catch (err) {
    return {
      ok: false,
      reason: `PostgreSQL on ${HOST}:${PORT} refused user "${user}" (${(err as Error).message}; set PGUSER/PGPASSWORD)`,
    };
  }
  // The rooms change feed (roomcast ongoing) reads the shards through logical replication.
  const level = await admin.query<{ wal_level: string }>('SHOW wal_level').catch(() => undefined);
  if (level?.rows[0]?.wal_level !== 'logical') {
    await admin.end().catch(() => undefined);
    return {
      ok: false,
      reason: `PostgreSQL on ${HOST}:${PORT} runs wal_level = ${level?.rows[0]?.wal_level ?? 'unknown'}, and the rooms change feed needs logical`,
    };
  }
  const created: string[] = [];
  const drop = async (client: pg.Client) => {
    for (const db of created.splice(0)) {
      // A database with replication slots cannot be dropped: stop their readers, drop the slots.
      await client.query(
        `SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE database = $1 AND active_pid IS NOT NULL`,
        [db],
      );
      await client.query(
        `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1 AND NOT active`,
        [db],
      );
      await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(db)} WITH (FORCE)`);
    }
  };
  try {
    for (const name of opts.databases) {
      const db = opts.prefix + name;
      await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(db)}`);
      created.push(db);
    }
  } catch (err) {
    await drop(admin).catch(() => undefined);
    await admin.end().catch(() => undefined);
    return {
      ok: false,
      reason: `user "${user}" cannot create databases on ${HOST}:${PORT} (${(err as Error).message})`,
    };
  }
  await admin.end();
  return {
    ok: true,
    server: {
      prefix: opts.prefix,
      dsn,
      dropDatabases: async () => {
        if (created.length === 0) return;
        const client = new pg.Client({ connectionString: dsn('postgres') });
        await client.connect();
        try {
          await drop(client);
        } finally {
          await client.end();
        }
      },
    },
  };
}
