import {
  type MigrationOutcome,
  migrateTargets,
  migrationTargets,
} from '../adapters/sql/schema-migrations.ts';
import { ConfigError, loadConfig } from '../config/load-config.ts';

/** One line per target: `rooms us   region_us   applied 1, 2, 3` / `up to date` / `FAILED: …`. */
export function describeOutcome(outcome: MigrationOutcome): string {
  const { label, schema } = outcome.target;
  const what =
    outcome.error !== undefined
      ? `FAILED: ${outcome.error}`
      : outcome.applied.length === 0
        ? 'up to date'
        : `applied ${outcome.applied.join(', ')}`;
  return `${label.padEnd(16)} ${schema.padEnd(12)} ${what}`;
}

/** How `migrateConfigured` ended: every schema up to date, nothing to migrate, or some failed. */
export type MigrationResult =
  | { readonly kind: 'done' }
  | { readonly kind: 'nothing_configured'; readonly reason: string }
  | { readonly kind: 'failed'; readonly reason: string };

/**
 * Migrates every PostgreSQL schema the settings in `env` name, printing a line per schema through
 * `print`.
 */
export async function migrateConfigured(
  env: NodeJS.ProcessEnv,
  print: (line: string) => void,
  argv: string[] = [],
): Promise<MigrationResult> {
  const config = loadConfig({ argv, env });
  const targets = migrationTargets(config);
  if (targets.length === 0) {
    return {
      kind: 'nothing_configured',
      reason:
        'no PostgreSQL database is configured (rooms.shards, rooms.archive, ledger.shards); `roomcast dev` migrates its embedded store itself',
    };
  }
  const outcomes = await migrateTargets(targets, {
    connectTimeoutMs: config.rooms.connectTimeoutMs,
    statementTimeoutMs: config.rooms.statementTimeoutMs,
  });
  for (const outcome of outcomes) print(describeOutcome(outcome));
  const failed = outcomes.filter((o) => o.error !== undefined);
  if (failed.length === 0) return { kind: 'done' };
  return { kind: 'failed', reason: `migrations failed on ${failed.map((o) => o.target.label).join(', ')}` };
}

/**
 * `roomcast migrate [settings]`: brings every configured schema (rooms shards, archive, balance
 * shards) up to date and exits 0, or 1 naming what failed, or 2 for bad settings or none at all.
 * Roles also migrate what they use on first use; this makes it one explicit deploy step that says
 * what it did.
 */
export async function runMigrateCommand(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  try {
    const result = await migrateConfigured(env, (line) => console.log(line), argv);
    if (result.kind === 'done') return 0;
    console.error(`roomcast migrate: ${result.reason}`);
    return result.kind === 'nothing_configured' ? 2 : 1;
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`roomcast: ${err.message}`);
      return 2;
    }
    throw err;
  }
}
