import { LedgerUnavailableError } from '../../../core/ports/ledger.ts';
import { loadMigrationSet, type MigrationSet, migrate, quoteSchema } from '../migrations.ts';
import { isConnectionFailure, type SqlClient, sqlStateOf } from '../sql-client.ts';
import { balanceShardOf } from './balance-shard.ts';

/** Where one balance shard lives: a client and the schema holding its tables. */
export interface LedgerShardLocation {
  client: SqlClient;
  schema: string;
  /** How logs and errors name the shard (a redacted URL, or `pglite`). */
  label: string;
}

/** One balance shard, resolved: `t('balances')` is its quoted, schema-qualified table. */
export interface LedgerShard {
  readonly index: number;
  readonly client: SqlClient;
  readonly label: string;
  /** `"ledger_0".balances` for `t('balances')`. */
  t(table: string): string;
}

interface ResolvedShard extends LedgerShard {
  readonly schema: string;
  /** Settles when the shard is migrated and its identity checked; reset after a failure to reach it. */
  ready: Promise<void> | undefined;
}

/**
 * A ledger error that is not about reaching a shard (an impossible state, a balance that would
 * pass the maximum at settlement): it reaches the caller as it is, never as LedgerUnavailableError.
 */
export class LedgerError extends Error {
  override readonly name: string = 'LedgerError';
  /** A stable code for logs and alerts. */
  readonly code: string = 'ledger_error';
}

/**
 * Thrown at start when a shard was created as another shard, or for another shard count: users
 * would hash to other shards than the ones holding their balances. Re-sharding needs a migration
 * of balances, never a changed config.
 */
export class LedgerShardMismatchError extends LedgerError {
  override readonly name = 'LedgerShardMismatchError';
  override readonly code = 'ledger_shard_mismatch';
}

/**
 * Thrown inside `LedgerShards.tx` to roll the transaction back and make `tx` resolve with
 * `outcome`: how a business refusal (insufficient funds, a closed room) undoes what the
 * transaction already wrote, such as the idempotency key.
 */
export class Rollback extends Error {
  override readonly name = 'Rollback';
  constructor(readonly outcome: unknown) {
    super('rolled back');
  }
}

/**
 * LedgerShards: the balance shards of one deployment, each migrated on first use and checked to
 * be the shard it was created as (index and count in its `ledger_meta` row), routing users by
 * `balanceShardOf`. Maps a shard that cannot be reached to LedgerUnavailableError. Owns the
 * clients it was given only when told to (`ownsClients`): in dev they are PGlite's, shared with rooms.
 */
export class LedgerShards {
  private readonly shards: ResolvedShard[];

  private constructor(
    locations: readonly LedgerShardLocation[],
    private readonly migrations: MigrationSet,
    private readonly ownsClients: boolean,
  ) {
    this.shards = locations.map((location, index) => {
      const q = quoteSchema(location.schema);
      return {
        index,
        client: location.client,
        label: location.label,
        schema: location.schema,
        t: (table: string) => `${q}.${table}`,
        ready: undefined,
      };
    });
  }

  /**
   * Migrates and checks every shard that answers. A shard that cannot be reached does not fail
   * `open` (it is prepared on first use); a shard created for another layout does.
   */
  static async open(
    locations: readonly LedgerShardLocation[],
    options: { ownsClients: boolean },
  ): Promise<LedgerShards> {
    if (locations.length === 0) throw new Error('the ledger needs at least one balance shard');
    const shards = new LedgerShards(locations, await loadMigrationSet('ledger'), options.ownsClients);
    // One at a time: in dev every shard is a schema of one PGlite, which queues everything anyway.
    for (const shard of shards.shards) {
      try {
        await shards.ready(shard);
      } catch (err) {
        if (!(err instanceof LedgerUnavailableError)) throw err;
      }
    }
    return shards;
  }

  get count(): number {
    return this.shards.length;
  }

  at(index: number): LedgerShard {
    const shard = this.shards[index];
    if (shard === undefined) throw new RangeError(`no balance shard ${index} (there are ${this.count})`);
    return shard;
  }

  /** The shard holding `userId`'s balance, keys and outbox rows. */
  ofUser(userId: string): LedgerShard {
    return this.at(balanceShardOf(userId, this.count));
  }

  all(): readonly LedgerShard[] {
    return this.shards;
  }

  /** Runs `call` on a prepared shard; unreachable or timed out → LedgerUnavailableError. */
  async run<T>(shard: LedgerShard, call: (client: SqlClient) => Promise<T>): Promise<T> {
    const resolved = this.shards[shard.index] as ResolvedShard;
    try {
      await this.ready(resolved);
      return await call(resolved.client);
    } catch (err) {
      throw this.mapError(resolved, err);
    }
  }

  /**
   * Runs `fn` in one transaction on one shard (see SqlClient.transaction), errors mapped as `run`.
   * When `fn` throws a Rollback, the transaction rolls back and `tx` resolves with its outcome,
   * which the caller vouches is a `T`.
   */
  async tx<T>(shard: LedgerShard, fn: (tx: SqlClient) => Promise<T>): Promise<T> {
    try {
      return await this.run(shard, (client) => client.transaction(fn));
    } catch (err) {
      if (err instanceof Rollback) return err.outcome as T;
      throw err;
    }
  }

  /** Closes the clients when this object owns them; each distinct client once. */
  async close(): Promise<void> {
    if (!this.ownsClients) return;
    await Promise.all([...new Set(this.shards.map((s) => s.client))].map((c) => c.close()));
  }

  private ready(shard: ResolvedShard): Promise<void> {
    shard.ready ??= this.prepare(shard).catch((err: unknown) => {
      shard.ready = undefined;
      throw this.mapError(shard, err);
    });
    return shard.ready;
  }

  private async prepare(shard: ResolvedShard): Promise<void> {
    await migrate(shard.client, shard.schema, this.migrations);
    await shard.client.query(
      `INSERT INTO ${shard.t('ledger_meta')} (shard_index, shard_count) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
      [shard.index, this.count],
    );
    const { rows } = await shard.client.query<{ shard_index: number; shard_count: number }>(
      `SELECT shard_index, shard_count FROM ${shard.t('ledger_meta')}`,
    );
    const meta = rows[0];
    if (meta === undefined || meta.shard_index !== shard.index || meta.shard_count !== this.count) {
      throw new LedgerShardMismatchError(
        `balance shard ${shard.label} (position ${shard.index} of ${this.count} configured) was created as ` +
          `shard ${meta?.shard_index} of ${meta?.shard_count}: the shard list must keep its length and order ` +
          '(users are placed by a hash of their ID); re-sharding needs a migration of balances',
      );
    }
  }

  private mapError(shard: ResolvedShard, err: unknown): unknown {
    // Ours, or a programming error (a bad amount read back): not a shard that is down.
    if (
      err instanceof LedgerUnavailableError ||
      err instanceof LedgerError ||
      err instanceof Rollback ||
      err instanceof TypeError ||
      err instanceof RangeError
    )
      return err;
    // 57014: statement_timeout; under load the shard is not keeping up, which callers treat as down.
    return isConnectionFailure(err) || sqlStateOf(err) === '57014'
      ? new LedgerUnavailableError(shard.index, err)
      : err;
  }
}
