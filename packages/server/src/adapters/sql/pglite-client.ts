import { mkdir } from 'node:fs/promises';
import type { PGlite, Transaction } from '@electric-sql/pglite';
import type { SqlClient, SqlResult } from './sql-client.ts';

/** The subset of PGlite's `query` both the instance and its transactions share. */
interface PgliteQueryable {
  query<R>(text: string, params?: unknown[]): Promise<SqlResult<R>>;
}

async function runQuery<R>(
  target: PgliteQueryable,
  text: string,
  params: readonly unknown[] | undefined,
): Promise<SqlResult<R>> {
  // PGlite's `query` always uses the extended protocol, so even a parameterless call is one statement.
  const result = await target.query<R>(text, params === undefined ? undefined : [...params]);
  return result.affectedRows === undefined
    ? { rows: result.rows }
    : { rows: result.rows, affectedRows: result.affectedRows };
}

/** The client handed to `transaction` callbacks: queries only, no nesting, closed by its owner. */
class PgliteTransactionClient implements SqlClient {
  constructor(private readonly tx: Transaction) {}

  query<R>(text: string, params?: readonly unknown[]): Promise<SqlResult<R>> {
    return runQuery<R>(this.tx, text, params);
  }

  transaction<T>(): Promise<T> {
    return Promise.reject(new Error('nested transactions are not supported'));
  }

  close(): Promise<void> {
    return Promise.reject(new Error('a transaction client cannot be closed; close its PgliteClient'));
  }
}

/**
 * PgliteClient: a SqlClient over one embedded PGlite instance (PostgreSQL compiled to WASM).
 *
 * PGlite has a single connection: statements from concurrent callers are queued, and a transaction
 * holds the connection until it ends. The client owns the instance and closes it on `close`.
 */
export class PgliteClient implements SqlClient {
  constructor(private readonly db: PGlite) {}

  query<R>(text: string, params?: readonly unknown[]): Promise<SqlResult<R>> {
    return runQuery<R>(this.db, text, params);
  }

  transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T> {
    return this.db.transaction((tx) => fn(new PgliteTransactionClient(tx)));
  }

  /** Closes the instance, flushing a persisted data dir; idempotent. */
  async close(): Promise<void> {
    if (!this.db.closed) await this.db.close();
  }
}

/** Shared buffers of the embedded database (measured: 128 MB → 32 MB saves about 100 MiB of RSS). */
const PGLITE_SHARED_BUFFERS = '32MB';

/**
 * Starts PGlite and wraps it. Without `dataDir` the database lives in memory and is gone on close;
 * with it the database persists in that directory (created when missing). `roomcast dev` passes
 * `<dataDir>/pg`. One directory must be opened by at most one instance at a time. Startup takes
 * about a second, so share one instance (one schema per region) rather than open one per shard.
 */
export async function openPglite(dataDir?: string): Promise<PgliteClient> {
  if (dataDir !== undefined) await mkdir(dataDir, { recursive: true });
  // Loaded here, not at the top: only `roomcast dev` opens PGlite, and its WASM costs every other
  // role tens of MiB and a slower start when imported eagerly.
  const { PGlite } = await import('@electric-sql/pglite');
  const db = await PGlite.create({
    ...(dataDir === undefined ? {} : { dataDir }),
    // PostgreSQL's default 128 MB of shared buffers is most of what PGlite adds to a dev process
    // beyond its code; an embedded development database does well with far less.
    startParams: [...PGlite.defaultStartParams, '-c', `shared_buffers=${PGLITE_SHARED_BUFFERS}`],
  });
  return new PgliteClient(db);
}
