import type { Logger } from 'pino';
import { buildHttpApp } from '../api/http-app.ts';
import type { RoomcastConfig } from '../config/config-schema.ts';

import { fail } from '../core/errors.ts';
import { OnlineCountJob } from '../core/online-count-job.ts';
import { OutboxRelay } from '../core/outbox-relay.ts';
import { RoomRetentionJob } from '../core/room-retention-job.ts';
import { RoomcastMetrics } from '../observability/metrics.ts';
import { assertClusterConfig, createCoreOn, openInfrastructure } from './infrastructure.ts';
import { createVerifier, listen } from './role-http.ts';

/** A running `roomcast worker`. */
export interface RunningWorker {
  /** http://host:port of its ops endpoints (`/healthz`, `/readyz`, `/metrics`). */
  url: string;
  port: number;
  retention: RoomRetentionJob;
  relay: OutboxRelay;
  /** Stops the jobs after their run in progress, then the ops server and the engines. */
  close(): Promise<void>;
}

/**
 * `roomcast worker`: the periodic jobs — the online count broadcast (from the gateways' presence
 * reports), hot-window retention of the rooms shards, and the gift outbox relay — plus its ops
 * endpoints. The relay and retention are safe to run in several workers (leases, transactions);
 * the online broadcast is not sharded yet, so run one worker or accept one `online` event per
 * worker per interval.
 */
export async function startWorker(config: RoomcastConfig, logger: Logger): Promise<RunningWorker> {
  assertClusterConfig(config, 'worker');
  const metrics = new RoomcastMetrics();
  const infra = await openInfrastructure(config, logger);
  try {
    const core = createCoreOn(infra, config, metrics, logger);
    const workerLogger = logger.child({ component: 'worker' });
    const onlineCounts = new OnlineCountJob({
      presence: infra.collections.presence,
      events: core.events,
      intervalMs: config.worker.onlineIntervalMs,
      logger: workerLogger,
    });
    const retention = new RoomRetentionJob({
      repository: infra.repository,
      regions: config.regions,
      hotWindowDays: config.rooms.hotWindowDays,
      batchSize: config.rooms.retentionBatchSize,
      intervalMs: config.rooms.retentionIntervalMs,
      logger: logger.child({ component: 'rooms' }),
      metrics,
    });
    const relay = new OutboxRelay({
      outbox: infra.ledger.outbox,
      publisher: core.giftEvents,
      leaseMs: config.ledger.outboxLeaseMs,
      batchSize: config.ledger.relayBatchSize,
      intervalMs: config.ledger.relayIntervalMs,
      logger: logger.child({ component: 'ledger' }),
      metrics,
    });
    const app = buildHttpApp({
      config,
      core,
      // Only admin stats take a token; a worker configured without a way to verify refuses them.
      verifier:
        config.jwt.secret === undefined && config.jwt.jwksUrl === undefined
          ? { verify: async () => fail('unauthorized', 'this worker verifies no tokens') }
          : createVerifier(config, config.jwt.secret),
      metrics,
      logger,
      readiness: [],
      webRoot: null,
      routes: 'ops',
    });
    const { port, url } = await listen(app, config);
    onlineCounts.start();
    retention.start();
    relay.start();
    let closing: Promise<void> | undefined;
    return {
      url,
      port,
      retention,
      relay,
      close: () => {
        closing ??= (async () => {
          await onlineCounts.stop();
          await retention.stop();
          await relay.stop();
          await app.close();
          await infra.close();
        })();
        return closing;
      },
    };
  } catch (err) {
    await infra.close().catch(() => undefined);
    throw err;
  }
}
