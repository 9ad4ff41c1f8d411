import type { RoomcastConfig } from '../../config/config-schema.ts';
import { LEDGER_SCHEMA } from './ledger/ledger-stores.ts';
import { loadMigrationSet, migrate } from './migrations.ts';
import { openPgPool } from './pg-client.ts';
import { ARCHIVE_SCHEMA, redactUrl, shardSchemaOf } from './room-repositories.ts';

/** One PostgreSQL schema that `roomcast migrate` brings up to date. */
export interface MigrationTarget {
  /** `rooms us`, `archive`, `ledger shard 0`. */
  readonly label: string;
  readonly url: string;
  readonly schema: string;
  readonly set: 'rooms' | 'archive' | 'ledger';
}

/** What migrating one target did. */
export interface MigrationOutcome {
  readonly target: MigrationTarget;
  /** The versions applied now; empty when it was up to date. */
  readonly applied: readonly number[];
  /** Why it could not be migrated (unreachable, a failed migration); absent on success. */
  readonly error?: string;
}

/**
 * Every PostgreSQL schema the configuration names: one per region's rooms shard (`region_<r>`),
 * the archive, and each balance shard (`ledger`). Embedded stores (no URLs) are not targets:
 * `roomcast dev` migrates its PGlite itself.
 */
export function migrationTargets(
  config: Pick<RoomcastConfig, 'regions' | 'rooms' | 'ledger'>,
): MigrationTarget[] {
  const targets: MigrationTarget[] = [];
  for (const region of config.regions) {
    const url = config.rooms.shards[region];
    if (url !== undefined)
      targets.push({ label: `rooms ${region}`, url, schema: shardSchemaOf(region), set: 'rooms' });
  }
  if (config.rooms.archive !== undefined) {
    targets.push({ label: 'archive', url: config.rooms.archive, schema: ARCHIVE_SCHEMA, set: 'archive' });
  }
  config.ledger.shards.forEach((url, i) => {
    targets.push({ label: `ledger shard ${i}`, url, schema: LEDGER_SCHEMA, set: 'ledger' });
  });
  return targets;
}

/**
 * Applies what each target lacks, one target after another, and reports every outcome; a target
 * that fails does not stop the others. Safe to run while roles run and from several places at
 * once: each schema's migrations take an advisory lock and are recorded once.
 */
export async function migrateTargets(
  targets: readonly MigrationTarget[],
  options: { connectTimeoutMs: number; statementTimeoutMs: number },
): Promise<MigrationOutcome[]> {
  const sets = {
    rooms: await loadMigrationSet('rooms'),
    archive: await loadMigrationSet('archive'),
    ledger: await loadMigrationSet('ledger'),
  };
  const outcomes: MigrationOutcome[] = [];
  for (const target of targets) {
    const pool = openPgPool({
      connectionString: target.url,
      max: 1,
      connectTimeoutMs: options.connectTimeoutMs,
      // Migrations may rewrite big tables: give each statement longer than a request gets.
      statementTimeoutMs: Math.max(options.statementTimeoutMs, 600_000),
      applicationName: 'roomcast-migrate',
    });
    try {
      outcomes.push({ target, applied: await migrate(pool, target.schema, sets[target.set]) });
    } catch (err) {
      outcomes.push({ target, applied: [], error: `${redactUrl(target.url)}: ${(err as Error).message}` });
    } finally {
      await pool.close();
    }
  }
  return outcomes;
}
