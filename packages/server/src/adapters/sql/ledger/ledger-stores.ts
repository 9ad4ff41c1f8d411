import type { RoomcastConfig } from '../../../config/config-schema.ts';
import { openPgPool } from '../pg-client.ts';
import type { PgliteClient } from '../pglite-client.ts';
import { redactUrl } from '../room-repositories.ts';
import { type LedgerShardLocation, LedgerShards } from './ledger-shards.ts';
import { SqlGiftOutbox } from './sql-gift-outbox.ts';
import { SqlLedger } from './sql-ledger.ts';
import { SqlReplayRecords } from './sql-replay-records.ts';
import { SqlSettlementStore } from './sql-settlement-store.ts';

/** The money ports over one set of balance shards; `close` releases the shards' clients. */
export interface LedgerStores {
  ledger: SqlLedger;
  outbox: SqlGiftOutbox;
  settlements: SqlSettlementStore;
  replayRecords: SqlReplayRecords;
  shards: LedgerShards;
  close(): Promise<void>;
}

/** The schema of embedded balance shard `index` in PGlite: `ledger_0`, `ledger_1` … */
export function embeddedLedgerSchemaOf(index: number): string {
  return `ledger_${index}`;
}

/** The schema of a balance shard in its own PostgreSQL database. */
export const LEDGER_SCHEMA = 'ledger';

function storesOver(shards: LedgerShards, recheckIntervalMs: number): LedgerStores {
  return {
    ledger: new SqlLedger(shards, { recheckIntervalMs }),
    outbox: new SqlGiftOutbox(shards),
    settlements: new SqlSettlementStore(shards),
    replayRecords: new SqlReplayRecords(shards),
    shards,
    close: () => shards.close(),
  };
}

/**
 * Balance shards as schemas `ledger_0 … ledger_<n−1>` of one PGlite (`roomcast dev`: the same
 * PGlite as the rooms, so one embedded database holds everything). Each shard keeps its own
 * tables and the code never relies on them sharing a database: a transaction still touches one
 * shard, and settlement crosses shards in recorded steps exactly as on PostgreSQL. The caller
 * keeps ownership of `client`.
 */
export async function openPgliteLedger(
  client: PgliteClient,
  options: { shardCount: number; recheckIntervalMs: number },
): Promise<LedgerStores> {
  const locations: LedgerShardLocation[] = Array.from({ length: options.shardCount }, (_, i) => ({
    client,
    schema: embeddedLedgerSchemaOf(i),
    label: `pglite:${embeddedLedgerSchemaOf(i)}`,
  }));
  return storesOver(await LedgerShards.open(locations, { ownsClients: false }), options.recheckIntervalMs);
}

/**
 * Balance shards on PostgreSQL: one database per URL of `ledger.shards`, in that order, each with
 * its tables in schema `ledger`. Pools connect lazily; a shard that is down at start is migrated
 * when it first answers. The stores own the pools.
 */
export async function openPostgresLedger(
  config: Pick<RoomcastConfig, 'ledger' | 'settler'>,
  opts: { onPoolError?: (err: Error, url: string) => void; applicationName?: string } = {},
): Promise<LedgerStores> {
  const settings = config.ledger;
  const locations: LedgerShardLocation[] = settings.shards.map((url) => ({
    client: openPgPool({
      connectionString: url,
      max: settings.poolSize,
      connectTimeoutMs: settings.connectTimeoutMs,
      statementTimeoutMs: settings.statementTimeoutMs,
      applicationName: opts.applicationName ?? 'roomcast-ledger',
      onIdleError: (err) => opts.onPoolError?.(err, redactUrl(url)),
    }),
    schema: LEDGER_SCHEMA,
    label: redactUrl(url),
  }));
  try {
    return storesOver(
      await LedgerShards.open(locations, { ownsClients: true }),
      config.settler.recheckIntervalMs,
    );
  } catch (err) {
    await Promise.all(locations.map((l) => l.client.close()));
    throw err;
  }
}

/**
 * The ledger a role's configuration asks for: PostgreSQL when `ledger.shards` is set, else
 * `ledger.embeddedShards` schemas of `pglite` (which the caller opened and keeps owning).
 */
export async function createLedgerStores(
  config: Pick<RoomcastConfig, 'ledger' | 'settler'>,
  opts: { pglite?: PgliteClient | undefined; onPoolError?: (err: Error, url: string) => void } = {},
): Promise<LedgerStores> {
  if (config.ledger.shards.length > 0) return openPostgresLedger(config, opts);
  if (opts.pglite === undefined) throw new Error('an embedded ledger needs a PGlite client');
  return openPgliteLedger(opts.pglite, {
    shardCount: config.ledger.embeddedShards,
    recheckIntervalMs: config.settler.recheckIntervalMs,
  });
}
