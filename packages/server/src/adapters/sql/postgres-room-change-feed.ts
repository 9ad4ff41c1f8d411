import type { Room } from '@roomcast/protocol';
import pg from 'pg';
import { LogicalReplicationService, type Pgoutput, PgoutputPlugin } from 'pg-logical-replication';
import type { Logger } from 'pino';
import type { RoomChangeFeed, RoomChangeHandler } from '../../core/ports/room-change-feed.ts';

/** One region shard the feed reads: its database and the schema its rooms table is in. */
export interface FeedShard {
  url: string;
  schema: string;
}

export interface PostgresRoomChangeFeedOptions {
  shards: ReadonlyMap<string, FeedShard>;
  /** Names this consumer's replication slots (`roomcast_<consumer>_<region>`): 1–32 of [a-z0-9_]. */
  consumer: string;
  /** After a failed handler or a lost connection, the feed starts again from the slot this much later. */
  retryMs?: number;
  /** How often a logical message is written so the slot advances over WAL that is not rooms. */
  heartbeatMs?: number;
  logger?: Logger;
}

const CONSUMER = /^[a-z0-9_]{1,32}$/;
/** The publication of a region's rooms table (every consumer of that region reads it). */
export function roomsPublication(region: string): string {
  return `roomcast_rooms_${region}`;
}
/** The prefix of the feed's heartbeat messages (`pg_logical_emit_message`). */
const HEARTBEAT_PREFIX = 'roomcast.feed.heartbeat';

/** The replication slot of `consumer` on `region`'s shard. */
export function feedSlotName(consumer: string, region: string): string {
  return `roomcast_${consumer}_${region}`;
}

/**
 * The rooms change feed on PostgreSQL logical replication (`pgoutput`, through
 * pg-logical-replication): per region shard, a publication on the rooms table and a replication
 * slot for this consumer, both created here when missing. Each change is acknowledged (the slot's
 * confirmed position moves) only after the handler resolved for it; a handler that fails, or a
 * connection that drops, restarts the stream from the slot after `retryMs`, so the change comes
 * again. Every `heartbeatMs` a transactional logical message is written to each shard and
 * acknowledged when it comes back: the slot then advances over the WAL of other tables, which the
 * publication does not send, instead of keeping it until the next room change.
 */
export class PostgresRoomChangeFeed implements RoomChangeFeed {
  private readonly services = new Set<LogicalReplicationService>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(private readonly options: PostgresRoomChangeFeedOptions) {
    if (!CONSUMER.test(options.consumer))
      throw new RangeError(`feed consumer ${options.consumer} is not 1–32 of [a-z0-9_]`);
  }

  async start(handler: RoomChangeHandler): Promise<void> {
    for (const [region, shard] of this.options.shards) {
      await ensureSlot(shard, roomsPublication(region), feedSlotName(this.options.consumer, region));
      await this.stream(region, shard, handler);
      const heartbeat = setInterval(() => {
        void emitHeartbeat(shard).catch((err: unknown) =>
          this.options.logger?.warn({ err, region }, 'rooms feed heartbeat not written'),
        );
      }, this.options.heartbeatMs ?? 10_000);
      heartbeat.unref();
      this.timers.add(heartbeat);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.timers) clearInterval(timer);
    this.timers.clear();
    await Promise.all([...this.services].map((s) => s.destroy()));
    this.services.clear();
  }

  /**
   * Streams one region from its slot's confirmed position. Resolves once streaming began; a
   * failure later restarts it (a new service: the library would resume after the failed change).
   */
  private async stream(region: string, shard: FeedShard, handler: RoomChangeHandler): Promise<void> {
    const slot = feedSlotName(this.options.consumer, region);
    const service = new LogicalReplicationService(
      { connectionString: shard.url },
      { acknowledge: { auto: false, timeoutSeconds: 0 }, flowControl: { enabled: true } },
    );
    this.services.add(service);
    let failed = false;
    let acked = '0/0';
    const restart = (err: unknown) => {
      if (failed || this.closed) return;
      failed = true;
      this.options.logger?.warn({ err, region, slot }, 'rooms feed stopped; starting again from the slot');
      this.services.delete(service);
      void service.destroy();
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        if (!this.closed) void this.stream(region, shard, handler).catch(restart);
      }, this.options.retryMs ?? 1_000);
      timer.unref();
      this.timers.add(timer);
    };
    service.on('data', async (lsn: string, message: Pgoutput.Message) => {
      if (failed) return;
      try {
        const change = changeOf(message, shard.schema);
        if (change !== undefined) await handler({ region, ...change });
        acked = lsn;
        await service.acknowledge(lsn);
      } catch (err) {
        restart(err);
      }
    });
    // The server asks for a status now and then; answer with what was handled, never more.
    service.on('heartbeat', async (_lsn: string, _at: number, shouldRespond: boolean) => {
      if (shouldRespond && !failed) await service.acknowledge(acked).catch(() => undefined);
    });
    service.on('error', restart);
    const started = new Promise<void>((resolve) => service.once('start', () => resolve()));
    const plugin = new PgoutputPlugin({
      protoVersion: 1,
      publicationNames: [roomsPublication(region)],
      messages: true,
    });
    service.subscribe(plugin, slot).then(
      () => restart(new Error('the replication stream ended')),
      (err: unknown) => restart(err),
    );
    await Promise.race([started, new Promise<void>((resolve) => service.once('error', () => resolve()))]);
  }
}

/** Creates the shard's publication and this consumer's slot when they do not exist. */
async function ensureSlot(shard: FeedShard, publication: string, slot: string): Promise<void> {
  const client = new pg.Client({ connectionString: shard.url });
  await client.connect();
  try {
    const level = await client.query<{ wal_level: string }>('SHOW wal_level');
    if (level.rows[0]?.wal_level !== 'logical') {
      throw new Error(
        `the rooms change feed needs wal_level = logical on ${shard.url.replace(/\/\/[^@]*@/, '//')} (it is ${level.rows[0]?.wal_level})`,
      );
    }
    // CREATE PUBLICATION has no IF NOT EXISTS; two processes may race to create it.
    const has = await client.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [publication]);
    if (has.rowCount === 0) {
      await client
        .query(
          `CREATE PUBLICATION ${pg.escapeIdentifier(publication)} FOR TABLE ${pg.escapeIdentifier(shard.schema)}.rooms`,
        )
        .catch((err: { code?: string }) => {
          if (err.code !== '42710') throw err; // duplicate_object: another process made it
        });
    }
    const slots = await client.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [slot]);
    if (slots.rowCount === 0) {
      await client
        .query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [slot])
        .catch((err: { code?: string }) => {
          if (err.code !== '42710') throw err;
        });
    }
  } finally {
    await client.end();
  }
}

async function emitHeartbeat(shard: FeedShard): Promise<void> {
  const client = new pg.Client({ connectionString: shard.url });
  await client.connect();
  try {
    await client.query("SELECT pg_logical_emit_message(true, $1, '')", [HEARTBEAT_PREFIX]);
  } finally {
    await client.end();
  }
}

/**
 * Drops this consumer's slots (a consumer retired for good): a slot nobody reads keeps WAL until
 * `max_slot_wal_keep_size`. A slot in use is not dropped (PostgreSQL refuses).
 */
export async function dropFeedSlots(
  shards: ReadonlyMap<string, FeedShard>,
  consumer: string,
): Promise<string[]> {
  const dropped: string[] = [];
  for (const [region, shard] of shards) {
    const slot = feedSlotName(consumer, region);
    const client = new pg.Client({ connectionString: shard.url });
    await client.connect();
    try {
      const result = await client.query(
        'SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1',
        [slot],
      );
      if ((result.rowCount ?? 0) > 0) dropped.push(slot);
    } finally {
      await client.end();
    }
  }
  return dropped;
}

/** A feed slot as PostgreSQL reports it. */
export interface FeedSlot {
  region: string;
  slot: string;
  /** Whether a consumer is reading it now. */
  active: boolean;
  /** WAL the slot keeps: bytes between the server's current position and the consumer's confirmed one. */
  lagBytes: number;
  /** `lost` once PostgreSQL invalidated it (it kept more than `max_slot_wal_keep_size`). */
  walStatus: string;
}

/** Every roomcast feed slot on the shards, with its lag. */
export async function listFeedSlots(shards: ReadonlyMap<string, FeedShard>): Promise<FeedSlot[]> {
  const slots: FeedSlot[] = [];
  for (const [region, shard] of shards) {
    const client = new pg.Client({ connectionString: shard.url });
    await client.connect();
    try {
      const result = await client.query<{
        slot_name: string;
        active: boolean;
        lag: string | null;
        wal_status: string | null;
      }>(
        `SELECT slot_name, active, pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::text AS lag, wal_status
           FROM pg_replication_slots WHERE slot_name LIKE 'roomcast\\_%' AND slot_name LIKE $1 ORDER BY slot_name`,
        [`%\\_${region}`],
      );
      for (const row of result.rows) {
        slots.push({
          region,
          slot: row.slot_name,
          active: row.active,
          lagBytes: Number(row.lag ?? 0),
          walStatus: row.wal_status ?? 'unknown',
        });
      }
    } finally {
      await client.end();
    }
  }
  return slots;
}

/**
 * The room an insert, update or delete of the shard's rooms table wrote or removed; undefined for
 * anything else. Deletes carry the whole old row (the table's REPLICA IDENTITY FULL).
 */
function changeOf(message: Pgoutput.Message, schema: string): { room: Room; leftShard?: true } | undefined {
  if (message.tag !== 'insert' && message.tag !== 'update' && message.tag !== 'delete') return undefined;
  if (message.relation.schema !== schema || message.relation.name !== 'rooms') return undefined;
  if (message.tag === 'delete') {
    if (message.old === null) return undefined;
    return { room: roomOf(message.old as Record<string, unknown>), leftShard: true };
  }
  return { room: roomOf(message.new as Record<string, unknown>) };
}

function roomOf(row: Record<string, unknown>): Room {
  const time = (value: unknown): string =>
    (value instanceof Date ? value : new Date(String(value))).toISOString();
  return {
    id: String(row.id),
    hostId: String(row.host_id),
    title: String(row.title),
    visibility: row.visibility === 'private' ? 'private' : 'public',
    status: row.status === 'ended' ? 'ended' : 'live',
    startedAt: time(row.started_at),
    endedAt: row.ended_at === null || row.ended_at === undefined ? null : time(row.ended_at),
  };
}
