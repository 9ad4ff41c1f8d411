import type { FastifyInstance } from 'fastify';
import { SignJWT } from 'jose';
import pino from 'pino';
import { LruKvCache } from '../../src/adapters/memory/lru-kv-cache.ts';
import { MemoryBus } from '../../src/adapters/memory/memory-bus.ts';
import { createMemoryCollections } from '../../src/adapters/memory/memory-collections.ts';
import { createLedgerStores } from '../../src/adapters/sql/ledger/ledger-stores.ts';
import { openPglite } from '../../src/adapters/sql/pglite-client.ts';
import { createRoomRepository } from '../../src/adapters/sql/room-repositories.ts';
import { buildHttpApp } from '../../src/api/http-app.ts';
import type { RoomcastConfig } from '../../src/config/config-schema.ts';
import { loadConfig } from '../../src/config/load-config.ts';
import type { RoomcastCore } from '../../src/core/core.ts';
import type { Gateway } from '../../src/gateway/gateway.ts';
import { RoomcastMetrics } from '../../src/observability/metrics.ts';
import { createCoreOn, type Infrastructure } from '../../src/roles/infrastructure.ts';
import { createVerifier, listen, serveWebSocket, startGatewayCore } from '../../src/roles/role-http.ts';
import { TEST_JWT_SECRET } from './test-server.ts';

/** One gateway of a fleet: its own core, gateway, HTTP API and WebSocket on its own loopback port. */
export interface FleetGateway {
  id: string;
  /** http://127.0.0.1:port: the whole HTTP API. */
  httpUrl: string;
  /** ws://127.0.0.1:port/v1/ws */
  wsUrl: string;
  gateway: Gateway;
  core: RoomcastCore;
  metrics: RoomcastMetrics;
  app: FastifyInstance;
  /** Stops this gateway only (its clients are closed; the shared stores stay open). */
  close(): Promise<void>;
}

/** Several gateways in this process over one in-process bus and one set of memory collections. */
export interface GatewayFleet {
  config: RoomcastConfig;
  /** What every gateway shares: one MemoryBus, one set of memory collections, one PGlite. */
  infra: Infrastructure;
  gateways: FleetGateway[];
  /** Starts one more gateway on the same shared stores (a test that drains or stops one uses its own). */
  add(id: string): Promise<FleetGateway>;
  /** Mints an HS256 token every gateway accepts. */
  token(user: string, roles?: string[]): Promise<string>;
  /** Stops every gateway, then the shared stores. */
  close(): Promise<void>;
}

/**
 * Starts `ids.length` gateways in this process, as a cluster of `roomcast dev`-like processes would
 * run, except that they share one `MemoryBus`, one `createMemoryCollections()` and one in-memory
 * PGlite instead of NATS, Redis and PostgreSQL. Each has its own core (as each process of a cluster
 * has), announces itself to dispatch and serves the whole API and `/v1/ws` on an ephemeral port.
 * `overrides` are settings by path, as for `startTestServer`.
 */
export async function startGatewayFleet(
  ids: readonly string[],
  overrides: Record<string, unknown> = {},
): Promise<GatewayFleet> {
  const config = loadConfig({
    env: {},
    roleDefaults: { devMode: true },
    overrides: {
      port: 0,
      host: '127.0.0.1',
      jwt: { secret: TEST_JWT_SECRET },
      log: { level: 'silent', pretty: false },
      ...overrides,
    },
  });
  const pglite = await openPglite();
  const repository = await createRoomRepository(config, { pglite });
  const ledger = await createLedgerStores(config, { pglite });
  const collections = createMemoryCollections({
    historyCapacity: config.history.capacity,
    historyIdleTtlMs: config.history.idleTtlSeconds * 1000,
    inboxCapacity: config.inbox.capacity,
    inboxTtlMs: config.inbox.ttlSeconds * 1000,
    reservations: repository,
    seqBlock: config.history.seqBlock,
  });
  const bus = new MemoryBus();
  // One LRU for the whole fleet: what memcached is to the processes of a zone.
  const kvCache = new LruKvCache({ maxBytes: 1 << 24, maxValueBytes: 1 << 18 });
  const infra: Infrastructure = {
    repository,
    ledger,
    collections,
    bus,
    kvCache,
    close: async () => {
      await kvCache.close();
      await bus.close();
      await collections.close();
      await ledger.close();
      await repository.close();
      // The repository owns the PGlite it was given and may have closed it already.
      await pglite.close().catch(() => undefined);
    },
  };
  const key = new TextEncoder().encode(TEST_JWT_SECRET);
  const gateways: FleetGateway[] = [];
  const fleet: GatewayFleet = {
    config,
    infra,
    gateways,
    add: async (id) => {
      const added = await startFleetGateway(id, config, infra);
      gateways.push(added);
      return added;
    },
    token: (user, roles = []) =>
      new SignJWT({ roles })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(user)
        .setIssuedAt()
        .setExpirationTime(Math.floor(Date.now() / 1000) + 3600)
        .sign(key),
    close: async () => {
      for (const g of gateways) await g.close();
      await infra.close();
    },
  };
  try {
    for (const id of ids) gateways.push(await startFleetGateway(id, config, infra));
  } catch (err) {
    await fleet.close().catch(() => undefined);
    throw err;
  }
  return fleet;
}

async function startFleetGateway(
  id: string,
  shared: RoomcastConfig,
  infra: Infrastructure,
): Promise<FleetGateway> {
  const config: RoomcastConfig = { ...shared, gatewayId: id };
  const logger = pino({ level: config.log.level }).child({ gateway: id });
  const metrics = new RoomcastMetrics();
  const core = createCoreOn(infra, config, metrics, logger);
  const verifier = createVerifier(config, config.jwt.secret);
  const gateway = await startGatewayCore(config, core, metrics, logger, verifier);
  const app = buildHttpApp({
    config,
    core,
    verifier,
    metrics,
    logger,
    readiness: [],
    gateways: [gateway],
    webRoot: null,
    drainGateway: (drained) => {
      if (drained !== gateway.id) return false;
      void gateway.drain(config.gateway.drainDeadlineMs);
      return true;
    },
  });
  const ws = serveWebSocket(app, { config, gateway, verifier, metrics, logger });
  const { url } = await listen(app, config);
  const wsUrl = `${url.replace(/^http/, 'ws')}/v1/ws`;
  await gateway.advertise(config.gateway.group, wsUrl);
  let closing: Promise<void> | undefined;
  return {
    id,
    httpUrl: url,
    wsUrl,
    gateway,
    core,
    metrics,
    app,
    close: () => {
      closing ??= (async () => {
        await gateway.stop();
        await ws.close();
        await app.close();
      })();
      return closing;
    },
  };
}
