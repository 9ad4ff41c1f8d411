import type { Logger } from 'pino';
import { listFeedSlots, PostgresRoomChangeFeed } from '../adapters/sql/postgres-room-change-feed.ts';
import { createPostgresRoomRepository, shardSchemaOf } from '../adapters/sql/room-repositories.ts';
import { buildHttpServer } from '../api/http-server.ts';
import { registerOpsEndpoints } from '../api/routes/ops-routes.ts';
import type { RoomcastConfig } from '../config/config-schema.ts';
import { fail } from '../core/errors.ts';
import { isPrivileged } from '../core/identity.ts';
import { OngoingQuery } from '../core/ongoing-query.ts';
import { RoomcastMetrics } from '../observability/metrics.ts';
import { createVerifier, listen } from './role-http.ts';

/** A running `roomcast ongoing`. */
export interface RunningOngoing {
  query: OngoingQuery;
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Thrown when the configuration lacks the rooms shards. */
export class OngoingConfigError extends Error {
  override readonly name = 'OngoingConfigError';
}

/** Partitions a caller may ask for at most. */
const MAX_PARTITIONS = 1_024;

/**
 * `roomcast ongoing`: OngoingQuery as a role. Holds the live rooms of every region shard (a full
 * scan every `ongoing.rescanMs`, the rooms change feed in between, through this instance's
 * replication slots) and answers `GET /v1/ongoing?index=I&count=N` — partition I of N of the live
 * rooms (`rooms`) and of the ended rooms still on a shard or ended within `ongoing.endedKeepMs`
 * (`ended`), for an admin or service token — from memory. Serves `/healthz`, `/readyz` (ready once a scan completed)
 * and `/metrics` (`roomcast_ongoing_rooms`, `roomcast_feed_slot_lag_bytes{region}`).
 */
export async function startOngoing(config: RoomcastConfig, logger: Logger): Promise<RunningOngoing> {
  if (Object.keys(config.rooms.shards).length === 0) {
    throw new OngoingConfigError(
      'roomcast ongoing needs rooms.shards and rooms.archive (ROOMCAST_ROOMS_SHARDS, ROOMCAST_ROOMS_ARCHIVE)',
    );
  }
  const rooms = await createPostgresRoomRepository(config.rooms, config.regions, {
    onPoolError: (err, url) => logger.warn({ err, url }, 'idle PostgreSQL connection lost'),
  });
  const shards = new Map(
    Object.entries(config.rooms.shards).map(([region, url]) => [
      region,
      { url, schema: shardSchemaOf(region) },
    ]),
  );
  const consumer = config.ongoing.consumer;
  const feed = new PostgresRoomChangeFeed({
    shards,
    consumer,
    logger: logger.child({ component: 'rooms-feed' }),
  });
  const query = new OngoingQuery({
    repository: rooms,
    feed,
    regions: config.regions,
    rescanMs: config.ongoing.rescanMs,
    endedKeepMs: config.ongoing.endedKeepMs,
    logger,
  });
  const metrics = new RoomcastMetrics();
  const verifier = createVerifier(config, config.jwt.secret);
  const app = buildHttpServer({ config, metrics, logger });
  registerOpsEndpoints(app, {
    metrics,
    checks: () => [
      { name: 'rooms', ping: () => rooms.ping() },
      {
        name: 'ongoing',
        ping: async () => {
          if (!query.ready) throw new Error('no complete scan yet');
        },
      },
    ],
  });
  app.get<{ Querystring: { index?: string; count?: string } }>('/v1/ongoing', async (request) => {
    const header = request.headers.authorization;
    if (header === undefined || !header.startsWith('Bearer '))
      fail('unauthorized', 'send Authorization: Bearer <token>');
    const identity = await verifier.verify(header.slice(7).trim());
    if (!isPrivileged(identity)) fail('forbidden', 'only admins and services read the ongoing rooms');
    const count = Number(request.query.count ?? 1);
    const index = Number(request.query.index ?? 0);
    if (
      !Number.isInteger(count) ||
      count < 1 ||
      count > MAX_PARTITIONS ||
      !Number.isInteger(index) ||
      index < 0 ||
      index >= count
    ) {
      fail('bad_request', `index and count must be integers with 0 ≤ index < count ≤ ${MAX_PARTITIONS}`);
    }
    metrics.ongoingRooms.set(query.size);
    return {
      ready: query.ready,
      total: query.size,
      rooms: query.partition(index, count),
      endedTotal: query.endedSize,
      ended: query.endedPartition(index, count),
    };
  });
  const lag = setInterval(() => {
    void listFeedSlots(shards)
      .then((slots) => {
        for (const slot of slots)
          if (slot.slot.startsWith(`roomcast_${consumer}_`))
            metrics.feedSlotLag.set({ region: slot.region }, slot.lagBytes);
        metrics.ongoingRooms.set(query.size);
      })
      .catch((err: unknown) => logger.warn({ err }, 'feed slot lag not read'));
  }, config.ongoing.slotLagIntervalMs);
  lag.unref();
  let address: { port: number; url: string };
  try {
    address = await listen(app, config);
    await query.start();
  } catch (err) {
    clearInterval(lag);
    await app.close();
    await query.close().catch(() => undefined);
    await rooms.close();
    throw err;
  }
  metrics.ongoingRooms.set(query.size);
  let closing: Promise<void> | undefined;
  return {
    query,
    ...address,
    close: () => {
      closing ??= (async () => {
        clearInterval(lag);
        await app.close();
        await query.close();
        await rooms.close();
      })();
      return closing;
    },
  };
}
