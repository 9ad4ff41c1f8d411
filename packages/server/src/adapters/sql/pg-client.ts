import pg from 'pg';
import type { SqlClient, SqlResult } from './sql-client.ts';

/** Pool settings of one PostgreSQL database (a region shard or the archive). */
export interface PgPoolOptions {
  /** A libpq-style URL: postgresql://user:password@host:port/database?… */
  connectionString: string;
  /** Connections at most. */
  max: number;
  /** Connecting (or waiting for a free pooled connection) longer than this fails: a down shard fails fast. */
  connectTimeoutMs: number;
  /** The server cancels a statement running longer than this (`statement_timeout`). */
  statementTimeoutMs: number;
  /** Shown in pg_stat_activity. */
  applicationName?: string;
  /** Called with errors of idle pooled connections (a server restart); they are replaced on demand. */
  onIdleError?: (err: Error) => void;
}

/** `queryMode` is a `pg` option its type definitions do not list yet. */
type ExtendedQueryConfig = pg.QueryConfig<unknown[]> & { queryMode: 'extended' };

/** The subset of `pg.Pool` and `pg.PoolClient` that queries share. */
interface PgQueryable {
  query<R extends pg.QueryResultRow>(config: ExtendedQueryConfig): Promise<pg.QueryResult<R>>;
}

async function runQuery<R>(
  target: PgQueryable,
  text: string,
  params?: readonly unknown[],
): Promise<SqlResult<R>> {
  // queryMode 'extended' keeps even a parameterless call to one statement (the simple protocol
  // would run a whole script), as the SqlClient contract promises.
  const result = await target.query<pg.QueryResultRow>({
    text,
    values: params === undefined ? [] : [...params],
    queryMode: 'extended',
  });
  const rows = result.rows as R[];
  return result.rowCount === null ? { rows } : { rows, affectedRows: result.rowCount };
}

/** The client handed to `transaction` callbacks: one pooled connection, no nesting. */
class PgTransactionClient implements SqlClient {
  constructor(private readonly connection: pg.PoolClient) {}

  query<R>(text: string, params?: readonly unknown[]): Promise<SqlResult<R>> {
    return runQuery<R>(this.connection, text, params);
  }

  transaction<T>(): Promise<T> {
    return Promise.reject(new Error('nested transactions are not supported'));
  }

  close(): Promise<void> {
    return Promise.reject(new Error('a transaction client cannot be closed; close its PgPoolClient'));
  }
}

/**
 * PgPoolClient: a SqlClient over a `pg` connection pool to one PostgreSQL database.
 *
 * Connections are made on demand and a broken one is dropped, so the client recovers by itself
 * when a server that was down comes back: no reconnect logic above it. Connect and statement
 * timeouts bound how long a caller waits on a shard that is down or stuck. The client owns the pool.
 */
export class PgPoolClient implements SqlClient {
  private closed = false;

  constructor(private readonly pool: pg.Pool) {}

  query<R>(text: string, params?: readonly unknown[]): Promise<SqlResult<R>> {
    return runQuery<R>(this.pool, text, params);
  }

  async transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T> {
    const connection = await this.pool.connect();
    let broken: Error | undefined;
    // The pool listens for errors of idle connections only: one checked out for a transaction
    // that loses its server (a restart, kill -9) emits 'error', which unheard would crash the
    // process. Heard, the pending query rejects, the request answers 503, the connection is dropped.
    const onError = (err: Error) => {
      broken = err;
    };
    connection.on('error', onError);
    try {
      await connection.query('BEGIN');
      const result = await fn(new PgTransactionClient(connection));
      await connection.query('COMMIT');
      return result;
    } catch (err) {
      // A connection that cannot even roll back is broken: it is dropped instead of going back to
      // the pool, and the server rolls the transaction back when it sees the connection go.
      await connection.query('ROLLBACK').catch((rollbackErr: unknown) => {
        broken = asError(rollbackErr);
      });
      throw err;
    } finally {
      connection.release(broken);
      // Dropped connections may still emit once more; keep a no-op listener on those.
      if (broken === undefined) connection.removeListener('error', onError);
    }
  }

  /** Ends every connection of the pool; idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/** Makes a pool for one database; it connects lazily, so this never fails on a down server. */
export function openPgPool(options: PgPoolOptions): PgPoolClient {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.max,
    connectionTimeoutMillis: options.connectTimeoutMs,
    statement_timeout: options.statementTimeoutMs,
    // The client gives up a little after the server would have: a server that stopped answering
    // (network partition) cannot hold a request longer than that.
    query_timeout: options.statementTimeoutMs + options.connectTimeoutMs,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
    application_name: options.applicationName ?? 'roomcast',
  });
  // Without a listener an idle connection killed by a server restart would crash the process.
  pool.on('error', (err) => options.onIdleError?.(err));
  return new PgPoolClient(pool);
}
