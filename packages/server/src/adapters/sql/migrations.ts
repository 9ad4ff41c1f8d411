import { readdir, readFile } from 'node:fs/promises';
import type { SqlClient } from './sql-client.ts';

/** Schema names the SQL adapters accept: a plain lower-case PostgreSQL identifier. */
export const SCHEMA_NAME_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Validates a schema name and returns it double-quoted for splicing into SQL text. Identifiers
 * cannot be bind parameters, so this is the only thing the adapters interpolate. `pg_` names are
 * reserved by PostgreSQL for system schemas and rejected here with a clearer message.
 */
export function quoteSchema(schema: string): string {
  if (!SCHEMA_NAME_PATTERN.test(schema) || schema.startsWith('pg_')) {
    throw new Error(
      `invalid schema name ${JSON.stringify(schema)}: expected ${SCHEMA_NAME_PATTERN}, not pg_*`,
    );
  }
  return `"${schema}"`;
}

/** One versioned migration file, `NNN_description.sql`, split into its statements. */
export interface Migration {
  version: number;
  name: string;
  statements: string[];
}

/** The migrations of one concern (`rooms`, …), in version order. */
export interface MigrationSet {
  name: string;
  migrations: readonly Migration[];
}

const FILE_PATTERN = /^(\d{3})_([a-z0-9_]+)\.sql$/;

/**
 * Reads `migrations/<name>/*.sql` next to this module. Every `.sql` file must be named
 * `NNN_description.sql` with a unique version, so a misnamed file fails loudly instead of being skipped.
 */
export async function loadMigrationSet(name: string): Promise<MigrationSet> {
  if (!/^[a-z][a-z0-9_]*$/.test(name)) throw new Error(`invalid migration set name ${JSON.stringify(name)}`);
  const dir = new URL(`./migrations/${name}/`, import.meta.url);
  const files = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  const migrations: Migration[] = [];
  for (const file of files) {
    const m = FILE_PATTERN.exec(file);
    if (!m) throw new Error(`migration file ${name}/${file} is not named NNN_description.sql`);
    const version = Number(m[1]);
    if (migrations.some((x) => x.version === version)) {
      throw new Error(`migration set ${name} has two files with version ${version}`);
    }
    const statements = splitStatements(await readFile(new URL(file, dir), 'utf8'));
    migrations.push({ version, name: file, statements });
  }
  return { name, migrations };
}

/**
 * Applies the migrations of `set` that `schema` lacks, in version order, each exactly once, and
 * returns the versions it applied (empty when up to date). Creates the schema when missing.
 *
 * Each migration runs in its own transaction together with its row in `<schema>.schema_migrations`,
 * so a failed migration leaves nothing behind. A transaction-scoped advisory lock per schema makes
 * processes starting at once take turns: the second sees the first's rows and skips. Migration SQL
 * names no schema; it runs under `SET LOCAL search_path`, so the same files serve every shard.
 */
export async function migrate(client: SqlClient, schema: string, set: MigrationSet): Promise<number[]> {
  const q = quoteSchema(schema);
  const lockKey = `roomcast.migrate.${schema}`;
  const applied = await client.transaction(async (tx) => {
    await lock(tx, lockKey);
    await tx.query(`CREATE SCHEMA IF NOT EXISTS ${q}`);
    await tx.query(
      `CREATE TABLE IF NOT EXISTS ${q}.schema_migrations (
        migration_set text NOT NULL,
        version integer NOT NULL,
        name text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (migration_set, version)
      )`,
    );
    const { rows } = await tx.query<{ version: number }>(
      `SELECT version FROM ${q}.schema_migrations WHERE migration_set = $1`,
      [set.name],
    );
    return new Set(rows.map((r) => r.version));
  });

  const done: number[] = [];
  const pending = [...set.migrations]
    .filter((m) => !applied.has(m.version))
    .sort((a, b) => a.version - b.version);
  for (const migration of pending) {
    const ran = await client.transaction(async (tx) => {
      await lock(tx, lockKey);
      // Another process may have applied it between our read and the lock.
      const { rows } = await tx.query(
        `SELECT 1 FROM ${q}.schema_migrations WHERE migration_set = $1 AND version = $2`,
        [set.name, migration.version],
      );
      if (rows.length > 0) return false;
      await tx.query(`SET LOCAL search_path TO ${q}`);
      for (const statement of migration.statements) await tx.query(statement);
      await tx.query(
        `INSERT INTO ${q}.schema_migrations (migration_set, version, name) VALUES ($1, $2, $3)`,
        [set.name, migration.version, migration.name],
      );
      return true;
    });
    if (ran) done.push(migration.version);
  }
  return done;
}

/** Released at COMMIT or ROLLBACK, so a crashed migrator cannot leave it held. */
async function lock(tx: SqlClient, key: string): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [key]);
}

const DOLLAR_TAG = /^\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$/;

/**
 * Splits a SQL script into statements at top-level semicolons, because `SqlClient.query` runs one
 * statement at a time. Understands `--` and (nested) block comments, '…' strings, "…" identifiers
 * and $tag$ … $tag$ bodies; not backslash escapes in E'…' strings. Comment-only pieces are dropped.
 */
export function splitStatements(script: string): string[] {
  const statements: string[] = [];
  let start = 0;
  let hasCode = false;
  let i = 0;
  const n = script.length;
  const flush = (end: number): void => {
    if (hasCode) statements.push(script.slice(start, end).trim());
    start = end + 1;
    hasCode = false;
  };
  while (i < n) {
    const c = script[i];
    const next = script[i + 1];
    if (c === '-' && next === '-') {
      const eol = script.indexOf('\n', i);
      i = eol === -1 ? n : eol + 1;
    } else if (c === '/' && next === '*') {
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        if (script.startsWith('/*', i)) {
          depth++;
          i += 2;
        } else if (script.startsWith('*/', i)) {
          depth--;
          i += 2;
        } else i++;
      }
    } else if (c === "'" || c === '"') {
      // A doubled quote inside is an escaped quote: the scan just re-enters the literal.
      const close = script.indexOf(c, i + 1);
      i = close === -1 ? n : close + 1;
      hasCode = true;
    } else if (c === '$' && DOLLAR_TAG.test(script.slice(i, i + 66))) {
      const tag = script.slice(i, script.indexOf('$', i + 1) + 1);
      const close = script.indexOf(tag, i + tag.length);
      i = close === -1 ? n : close + tag.length;
      hasCode = true;
    } else if (c === ';') {
      flush(i);
      i++;
    } else {
      if (c !== undefined && !/\s/.test(c)) hasCode = true;
      i++;
    }
  }
  flush(n);
  return statements;
}
