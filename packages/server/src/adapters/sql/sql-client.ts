/** The result of one statement: its rows and, for INSERT/UPDATE/DELETE, how many rows it changed. */
export interface SqlResult<R> {
  rows: R[];
  affectedRows?: number;
}

/**
 * SqlClient: the smallest surface the SQL adapters need from a PostgreSQL driver, so the same
 * repositories and migrations run on PGlite (dev, tests) and on a `pg` Pool (production).
 *
 * Guarantees an implementation must give:
 * - `query` runs exactly one statement with the extended protocol: values travel only as `$1, $2 …`
 *   parameters, never spliced into `text`. Callers interpolate nothing but validated, quoted
 *   identifiers (see `quoteIdent` in migrations.ts).
 * - Database errors reject with the driver's error object unchanged, carrying the SQLSTATE in `code`
 *   and a `severity` (as `pg` and PGlite both do), so adapters can map them (see `sqlStateOf`).
 *   Connection failures reject with anything else (a Node system error, a "closed" error …).
 * - `transaction` runs `fn` inside BEGIN … COMMIT on one connection and rolls back when `fn`
 *   rejects. Inside `fn` use only `tx`: the outer client may wait for the transaction to end
 *   (PGlite has a single connection), so using it there deadlocks. `tx` does not nest.
 * - `close` releases the connections; calling it again is a no-op. The owner of a client closes it.
 */
export interface SqlClient {
  query<R>(text: string, params?: readonly unknown[]): Promise<SqlResult<R>>;
  transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/**
 * The SQLSTATE of an error the database raised, or undefined for anything else (connection
 * failures, programming errors). Both `pg` and PGlite throw errors with `code` and `severity`;
 * `severity` is what tells a SQLSTATE apart from a Node error code such as `EPIPE`.
 */
export function sqlStateOf(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const { code, severity } = err as { code?: unknown; severity?: unknown };
  return typeof code === 'string' && typeof severity === 'string' && /^[0-9A-Z]{5}$/.test(code)
    ? code
    : undefined;
}

/**
 * True when `err` means the database could not be reached or dropped the session, as opposed to a
 * statement the database refused. SQLSTATE classes 08 (connection exception), 53 (insufficient
 * resources, e.g. too many connections) and 57P01–57P03 (shutdown, cannot connect now) count as
 * unreachable: https://www.postgresql.org/docs/current/errcodes-appendix.html
 */
export function isConnectionFailure(err: unknown): boolean {
  const state = sqlStateOf(err);
  if (state === undefined) return true;
  return state.startsWith('08') || state.startsWith('53') || /^57P0[1-3]$/.test(state);
}
