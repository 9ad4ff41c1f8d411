import { mkdir } from 'node:fs/promises';
import type { Logger } from 'pino';
import { DevTokenIssuer } from '../adapters/auth/dev-token-issuer.ts';
import {
  InProcessRoomChangeFeed,
  ObservedRoomRepository,
} from '../adapters/memory/in-process-room-change-feed.ts';
import { SingleMemberMembership } from '../adapters/memory/single-member-membership.ts';
import type { LedgerStores } from '../adapters/sql/ledger/ledger-stores.ts';
import { buildHttpApp } from '../api/http-app.ts';
import type { RoomcastConfig } from '../config/config-schema.ts';
import type { RoomcastCore } from '../core/core.ts';
import { OngoingQuery } from '../core/ongoing-query.ts';
import { OutboxRelay } from '../core/outbox-relay.ts';
import type { RoomRepository } from '../core/ports/rooms.ts';
import type { RoomIdleJob } from '../core/room-idle-job.ts';
import type { RoomRetentionJob } from '../core/room-retention-job.ts';
import type { SettlementPickup } from '../core/settlement-pickup.ts';
import { Settler } from '../core/settler.ts';
import type { Gateway } from '../gateway/gateway.ts';
import { RoomcastMetrics } from '../observability/metrics.ts';
import { devJwtSecret } from './dev-secret.ts';
import { createCoreOn, createReplayPruningJob, openInfrastructure } from './infrastructure.ts';
import { createRoomJobs, createSettlementPickup } from './job-wiring.ts';
import { createVerifier, listen, serveWebSocket, startGatewayCore } from './role-http.ts';

/** A running roomcast server. */
export interface RunningServer {
  /** http://host:port */
  url: string;
  port: number;
  gateway: Gateway;
  /** The domain services, for embedding and tests. */
  core: RoomcastCore;
  /** The hot-window retention job, running on its interval; tests may call `runOnce`. */
  retention: RoomRetentionJob;
  /** The rooms store, as the core writes it (every write reaches OngoingQuery's feed). */
  repository: RoomRepository;
  /** OngoingQuery, in-process: the live and ended rooms every room job takes its share of. */
  ongoing: OngoingQuery;
  /** The idle-room check, running on its interval; tests may call `tick`. */
  idleRooms: RoomIdleJob;
  /** The settlement pick-up, running on the settler's interval; tests may call `tick`. */
  settlementPickup: SettlementPickup;
  /** The gift outbox relay, running on its interval; tests may call `runOnce`. */
  relay: OutboxRelay;
  /** The settler, running on its interval; tests may call `runOnce`. */
  settler: Settler;
  /** The balance shards' stores, for embedding and tests. */
  ledger: LedgerStores;
  /** Graceful stop: clients are told to reconnect, stores are closed. */
  close(options?: { drain?: boolean }): Promise<void>;
}

/**
 * `roomcast dev`: every role in one process on embedded stores — one PGlite for rooms and balances
 * (persisted in the data directory; one schema per region, one for the archive, one per balance
 * shard), in-process bus and collections — serving HTTP and WebSocket on one port, with the
 * outbox relay and the settler on timers. With `rooms.shards` or `ledger.shards` set, rooms or
 * balances live in those PostgreSQL databases instead (tests use this to run on real shards); with
 * `collections.engine` or `bus.engine` set, collections or the bus live on Redis or NATS
 * (infrastructure.ts opens whatever the settings name).
 */
export async function startDev(config: RoomcastConfig, logger: Logger): Promise<RunningServer> {
  const dataDir = config.dataDir;
  await mkdir(dataDir, { recursive: true });
  const secret =
    config.jwt.secret ?? (config.jwt.jwksUrl === undefined ? await devJwtSecret(dataDir) : undefined);
  const metrics = new RoomcastMetrics();
  const roomsLogger = logger.child({ component: 'rooms' });
  const opened = await openInfrastructure(config, logger, metrics);
  // Every room write of this process reaches the in-process change feed OngoingQuery follows.
  const feed = new InProcessRoomChangeFeed();
  const repository = new ObservedRoomRepository(opened.repository, feed);
  const infra = { ...opened, repository };
  const { ledger, collections } = infra;
  const core = createCoreOn(infra, config, metrics, logger);
  const verifier = createVerifier(config, secret);
  const gateway = await startGatewayCore(config, core, metrics, logger, verifier);
  const ongoing = new OngoingQuery({
    repository,
    feed,
    regions: config.regions,
    rescanMs: config.ongoing.rescanMs,
    endedKeepMs: config.ongoing.endedKeepMs,
    logger: roomsLogger,
  });
  await ongoing.start();
  // One process: it is the only member of every sharded job.
  const membership = new SingleMemberMembership();
  const { onlineCounts, idleRooms, retention } = await createRoomJobs({
    config,
    core,
    collections,
    repository,
    membership,
    ongoing,
    logger,
    metrics,
  });
  const ledgerLogger = logger.child({ component: 'ledger' });
  const relay = new OutboxRelay({
    outbox: ledger.outbox,
    publisher: core.giftEvents,
    leaseMs: config.ledger.outboxLeaseMs,
    batchSize: config.ledger.relayBatchSize,
    intervalMs: config.ledger.relayIntervalMs,
    logger: ledgerLogger,
    metrics,
  });
  const pruning = createReplayPruningJob(ledger, config, logger, metrics);
  const settlerLogger = logger.child({ component: 'settler' });
  const settler = new Settler({
    store: ledger.settlements,
    ledger: ledger.ledger,
    rooms: repository,
    ...config.settler,
    logger: settlerLogger,
    metrics,
  });
  const settlementPickup = await createSettlementPickup({
    config,
    ledger: ledger.ledger,
    membership,
    ongoing,
    logger: settlerLogger,
    metrics,
  });
  const jobs = [onlineCounts, idleRooms, retention, relay, pruning, settler, settlementPickup];
  for (const job of jobs) job.start();

  const app = buildHttpApp({
    config,
    core,
    verifier,
    metrics,
    logger,
    ...(config.devMode && secret !== undefined ? { devTokens: new DevTokenIssuer(secret) } : {}),
    readiness: [],
    gateways: [gateway],
  });
  const ws = serveWebSocket(app, { config, gateway, verifier, metrics, logger });
  const { port, url } = await listen(app, config);

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    gateway,
    core,
    retention,
    repository,
    ongoing,
    idleRooms,
    settlementPickup,
    relay,
    settler,
    ledger,
    close: (options = {}) => {
      closing ??= (async () => {
        for (const job of jobs) await job.stop();
        await membership.close();
        await ongoing.close();
        if (options.drain === true) await gateway.drain(config.gateway.drainDeadlineMs);
        await gateway.stop();
        await ws.close();
        await app.close();
        await infra.close();
      })();
      return closing;
    },
  };
}
