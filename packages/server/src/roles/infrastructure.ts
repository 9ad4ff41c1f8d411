import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { PeerClusterCache } from '../adapters/memcached/peer-cluster-cache.ts';
import { LruKvCache } from '../adapters/memory/lru-kv-cache.ts';
import { MemoryBus } from '../adapters/memory/memory-bus.ts';
import { createMemoryCollections } from '../adapters/memory/memory-collections.ts';
import { MemoryRateLimits } from '../adapters/memory/memory-rate-limits.ts';
import { NatsBus } from '../adapters/nats/nats-bus.ts';
import { proxyAddresses, proxyListConnector } from '../adapters/redis/proxy-list-connector.ts';
import { type BusConnectionOptions, RedisBus } from '../adapters/redis/redis-bus.ts';
import { createRedisCollections, TWEMPROXY_SAFE_OPTIONS } from '../adapters/redis/redis-collections.ts';
import { createLedgerStores, type LedgerStores } from '../adapters/sql/ledger/ledger-stores.ts';
import { openPglite, type PgliteClient } from '../adapters/sql/pglite-client.ts';
import { createRoomRepository } from '../adapters/sql/room-repositories.ts';
import { memcachedClustersOf, type RoomcastConfig } from '../config/config-schema.ts';
import { createCore, type RoomcastCore } from '../core/core.ts';
import type { GiftEventPublisher } from '../core/gift-event-publisher.ts';
import type { GiftService } from '../core/gift-service.ts';
import { BusClosedError, type MessageBus } from '../core/ports/bus.ts';
import type { Collections } from '../core/ports/collections.ts';
import type { KvCache } from '../core/ports/kv-cache.ts';
import type { RoomRepository } from '../core/ports/rooms.ts';
import type { SeqReservations } from '../core/ports/seq-reservations.ts';
import { RateLimitsWithFallback } from '../core/rate-limits-with-fallback.ts';
import { ReplayPruningJob } from '../core/replay-pruning-job.ts';
import { guardUnavailable } from '../core/unavailable-guard.ts';
import { kvCacheObserver } from '../observability/kv-cache-metrics.ts';
import type { RoomcastMetrics } from '../observability/metrics.ts';

/** The roles that run as processes of a cluster, sharing state only through real engines. */
export type ClusterRole = 'gateway' | 'api' | 'worker';

/**
 * A role's configuration cannot work: the message names the setting (and its env var). Thrown at
 * start, before any engine is contacted, so a misconfigured process fails at once and says why.
 */
export class RoleConfigError extends Error {
  override readonly name = 'RoleConfigError';
  readonly code = 'invalid_config';
}

/**
 * The adapters a role runs on, opened from its configuration; `close` releases all of them. The
 * ledger is there unless the role opened without it (`Infrastructure<undefined>`: the gateway).
 */
export interface Infrastructure<L extends LedgerStores | undefined = LedgerStores> {
  repository: RoomRepository;
  ledger: L;
  collections: Collections;
  bus: MessageBus;
  kvCache: KvCache;
  /** Closes the bus, the collections' connection, the KvCache's connections, the ledger and rooms pools and the embedded PGlite. */
  close(): Promise<void>;
}

/**
 * Refuses a cluster role's configuration that names an embedded engine: an in-process bus or
 * collections, or rooms/balances in a PGlite, would silently split the cluster into islands that
 * never see each other's events. Also requires a way to verify tokens (no dev secret is generated).
 */
export function assertClusterConfig(config: RoomcastConfig, role: ClusterRole): void {
  const need = (ok: boolean, what: string): void => {
    if (!ok) throw new RoleConfigError(`roomcast ${role} needs ${what}`);
  };
  need(
    config.collections.engine !== 'memory',
    'collections.engine redis and collections.redisUrl (ROOMCAST_COLLECTIONS_ENGINE=redis, ROOMCAST_COLLECTIONS_REDIS_URL); memory collections are for roomcast dev only',
  );
  need(
    config.bus.engine !== 'memory',
    'bus.engine nats or redis and bus.url (ROOMCAST_BUS_ENGINE, ROOMCAST_BUS_URL); the memory bus is for roomcast dev only',
  );
  need(
    Object.keys(config.rooms.shards).length > 0,
    'rooms.shards and rooms.archive (ROOMCAST_ROOMS_SHARDS, ROOMCAST_ROOMS_ARCHIVE); embedded rooms are for roomcast dev only',
  );
  need(
    config.ledger.shards.length > 0,
    'ledger.shards (ROOMCAST_LEDGER_SHARDS); embedded balances are for roomcast dev only',
  );
  if (role !== 'worker') {
    need(
      config.jwt.secret !== undefined || config.jwt.jwksUrl !== undefined,
      'jwt.secret or jwt.jwksUrl (ROOMCAST_JWT_SECRET, ROOMCAST_JWKS_URL) to verify tokens',
    );
  }
}

/** ioredis options for one Redis server from `redis://[user:password@]host:port[/db]`. */
export function redisOptionsFromUrl(url: string): BusConnectionOptions {
  const u = new URL(url);
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : undefined;
  return {
    host: u.hostname,
    port: u.port === '' ? 6379 : Number(u.port),
    ...(u.username === '' ? {} : { username: decodeURIComponent(u.username) }),
    ...(u.password === '' ? {} : { password: decodeURIComponent(u.password) }),
    ...(db === undefined || !Number.isInteger(db) ? {} : { db }),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

/** Runs every closer even when one fails, in order; rethrows the first failure. */
async function closeAll(closers: ReadonlyArray<() => Promise<unknown>>): Promise<void> {
  let first: unknown;
  for (const close of closers) {
    try {
      await close();
    } catch (err) {
      first ??= err;
    }
  }
  if (first !== undefined) throw first;
}

/**
 * Opens the adapters the configuration names: rooms and balances on PostgreSQL or the embedded
 * PGlite of the data directory (opened once, only when something lives in it), collections in
 * memory or on Redis (through Twemproxy), the bus in memory, on Redis Pub/Sub or on NATS. What was
 * opened before a failure is closed again before the error is rethrown.
 */
export async function openInfrastructure(
  config: RoomcastConfig,
  logger: Logger,
  metrics?: RoomcastMetrics,
): Promise<Infrastructure>;
/** Without the ledger: no balance-shard pools, no ledger migrations (the gateway moves no money). */
export async function openInfrastructure(
  config: RoomcastConfig,
  logger: Logger,
  metrics: RoomcastMetrics | undefined,
  options: { ledger: false },
): Promise<Infrastructure<undefined>>;
export async function openInfrastructure(
  config: RoomcastConfig,
  logger: Logger,
  metrics?: RoomcastMetrics,
  options: { ledger?: boolean } = {},
): Promise<Infrastructure<LedgerStores | undefined>> {
  const withLedger = options.ledger !== false;
  const closers: Array<() => Promise<unknown>> = [];
  // Released in reverse order of opening: the bus and collections before the databases.
  const close = () => closeAll([...closers].reverse());
  try {
    const roomsLogger = logger.child({ component: 'rooms' });
    const onPoolError = (err: Error, url: string) =>
      roomsLogger.warn({ err, url }, 'idle PostgreSQL connection lost');
    // One embedded PGlite for whatever is not on PostgreSQL: its startup costs about a second.
    let embedded: PgliteClient | undefined;
    if (Object.keys(config.rooms.shards).length === 0 || (withLedger && config.ledger.shards.length === 0)) {
      const pglite = await openPglite(join(config.dataDir, 'pg'));
      closers.push(() => pglite.close());
      embedded = pglite;
    }
    const repository = await createRoomRepository(config, { onPoolError, pglite: embedded });
    closers.push(() => repository.close());
    let ledger: LedgerStores | undefined;
    if (withLedger) {
      const stores = await createLedgerStores(config, { onPoolError, pglite: embedded });
      closers.push(() => stores.close());
      ledger = stores;
    }
    const collections = openCollections(config, logger, closers, repository, metrics);
    closers.push(() => collections.close());
    const bus = await openBus(config, logger, metrics);
    closers.push(() => bus.close());
    const kvCache = openKvCache(config, logger, metrics);
    closers.push(() => kvCache.close());
    return { repository, ledger, collections, bus, kvCache, close };
  } catch (err) {
    await close().catch(() => undefined);
    throw err;
  }
}

function openCollections(
  config: RoomcastConfig,
  logger: Logger,
  closers: Array<() => Promise<unknown>>,
  reservations: SeqReservations,
  metrics: RoomcastMetrics | undefined,
): Collections {
  const sizes = {
    historyCapacity: config.history.capacity,
    historyIdleTtlMs: config.history.idleTtlSeconds * 1000,
    inboxCapacity: config.inbox.capacity,
    inboxTtlMs: config.inbox.ttlSeconds * 1000,
    // Seq ranges are reserved in the rooms database, so a lost history never reuses a seq.
    reservations,
    seqBlock: config.history.seqBlock,
  };
  const { redisUrl } = config.collections;
  if (config.collections.engine === 'memory' || redisUrl === undefined) return createMemoryCollections(sizes);
  const log = logger.child({ component: 'collections' });
  const proxies = config.collections.redisProxies;
  const redis = new Redis({
    ...redisOptionsFromUrl(redisUrl),
    // Several equivalent proxies: each reconnect goes to the next (adapters/redis/proxy-list-connector.ts).
    ...(proxies.length === 0
      ? {}
      : { Connector: proxyListConnector(proxyAddresses([redisUrl, ...proxies])) }),
    ...TWEMPROXY_SAFE_OPTIONS,
    // Fail a command after a few reconnect attempts (the request answers 503) instead of hanging.
    maxRetriesPerRequest: 3,
    // Commands issued in one tick (a gateway's presence round, many publishes) leave in one write:
    // fewer syscalls on both ends; Twemproxy takes pipelined commands like any others.
    enableAutoPipelining: true,
  });
  redis.on('error', (err: Error) => log.warn({ err: err.message }, 'collections Redis connection error'));
  // disconnect, not QUIT: Twemproxy does not proxy QUIT.
  closers.push(async () => redis.disconnect());
  const collections = createRedisCollections({
    redis,
    keyPrefix: config.collections.keyPrefix,
    failoverFence: config.collections.failoverFence,
    ...sizes,
    onUnavailable: (store, err) => {
      metrics?.engineErrors.inc({ engine: 'redis' });
      log.warn({ store, err: errorMessage(err) }, 'collections Redis unreachable');
    },
  });
  let warned = 0;
  return {
    ...collections,
    // A user's limit key may live on a dead shard: limit in this process until it is back.
    rateLimits: new RateLimitsWithFallback(collections.rateLimits, new MemoryRateLimits(), () => {
      metrics?.rateLimitFallbacks.inc();
      const now = Date.now();
      if (now - warned > 10_000) {
        warned = now;
        log.warn('rate limits: the shared store is unreachable, limiting per process meanwhile');
      }
    }),
  };
}

/**
 * The KvCache the configuration names: memcached peer clusters (connections open lazily, so a
 * cluster that is down now only costs misses), or an LRU in this process.
 */
export function openKvCache(config: RoomcastConfig, logger: Logger, metrics?: RoomcastMetrics): KvCache {
  const settings = config.kvCache;
  const observer = kvCacheObserver(metrics, logger.child({ component: 'kv-cache' }));
  if (settings.engine === 'memory') {
    return new LruKvCache({
      maxBytes: settings.memoryMaxBytes,
      maxValueBytes: settings.maxValueBytes,
      observer,
    });
  }
  return new PeerClusterCache({
    clusters: memcachedClustersOf(settings.clusters),
    zone: settings.zone,
    keyPrefix: settings.keyPrefix,
    timeoutMs: settings.timeoutMs,
    backoffMs: settings.backoffMs,
    backoffMaxMs: settings.backoffMaxMs,
    missedDeletesMax: settings.missedDeletesMax,
    maxValueBytes: settings.maxValueBytes,
    redeleteAfterMs: settings.redeleteAfterMs,
    observer,
  });
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function openBus(
  config: RoomcastConfig,
  logger: Logger,
  metrics?: RoomcastMetrics,
): Promise<MessageBus> {
  const { engine, url, redisMode } = config.bus;
  if (engine === 'memory' || url === undefined) return new MemoryBus();
  const log = logger.child({ component: 'bus' });
  const onHandlerError = (err: unknown, channel: string) =>
    log.error({ err, channel }, 'a bus handler threw');
  const bus =
    engine === 'nats'
      ? await NatsBus.connect({ nats: { servers: url.split(',').map((s) => s.trim()) }, onHandlerError })
      : new RedisBus({
          redis: redisOptionsFromUrl(url),
          mode: redisMode,
          onHandlerError,
          onConnectionError: (err) => log.warn({ err: err.message }, 'bus Redis connection error'),
        });
  // Every failure of a bus that is not closed is the engine being away: 503, not 500.
  return guardUnavailable(
    bus,
    'bus',
    (err) => !(err instanceof BusClosedError),
    (_store, err) => {
      metrics?.engineErrors.inc({ engine });
      log.warn({ err: errorMessage(err) }, 'bus unreachable');
    },
  );
}

/** A core whose role opened the ledger: it has gifts. */
export type CoreWithGifts = RoomcastCore & { gifts: GiftService; giftEvents: GiftEventPublisher };

/** The domain core wired to an opened infrastructure: what every role runs on. */
export function createCoreOn(
  infra: Infrastructure,
  config: RoomcastConfig,
  metrics: RoomcastMetrics,
  logger: Logger,
): CoreWithGifts;
export function createCoreOn(
  infra: Infrastructure<undefined>,
  config: RoomcastConfig,
  metrics: RoomcastMetrics,
  logger: Logger,
): RoomcastCore;
export function createCoreOn(
  infra: Infrastructure<LedgerStores | undefined>,
  config: RoomcastConfig,
  metrics: RoomcastMetrics,
  logger: Logger,
): RoomcastCore {
  return createCore({
    config,
    repository: infra.repository,
    collections: infra.collections,
    bus: infra.bus,
    kvCache: infra.kvCache,
    money:
      infra.ledger === undefined ? undefined : { ledger: infra.ledger.ledger, outbox: infra.ledger.outbox },
    metrics,
    logger,
  });
}

/** The replay-window pruning of the balance shards, as configured (`ledger.replayWindowHours` …). */
export function createReplayPruningJob(
  ledger: LedgerStores,
  config: RoomcastConfig,
  logger: Logger,
  metrics: RoomcastMetrics,
): ReplayPruningJob {
  return new ReplayPruningJob({
    records: ledger.replayRecords,
    windowMs: config.ledger.replayWindowHours * 3_600_000,
    batchSize: config.ledger.pruneBatchSize,
    intervalMs: config.ledger.pruneIntervalMs,
    logger: logger.child({ component: 'ledger' }),
    metrics,
  });
}
