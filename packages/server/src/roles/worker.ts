import type { Logger } from 'pino';
import { buildHttpApp } from '../api/http-app.ts';
import type { RoomcastConfig } from '../config/config-schema.ts';

import { fail } from '../core/errors.ts';
import { OutboxRelay } from '../core/outbox-relay.ts';
import type { JobMembership } from '../core/ports/worker-membership.ts';
import type { RoomRetentionJob } from '../core/room-retention-job.ts';
import { RoomcastMetrics } from '../observability/metrics.ts';
import {
  assertClusterConfig,
  createCoreOn,
  createReplayPruningJob,
  openInfrastructure,
} from './infrastructure.ts';
import { createRoomJobs, openJobMembership, openOngoingRooms } from './job-wiring.ts';
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
 * `roomcast worker`: the periodic jobs. The room jobs — the online count broadcast (from the
 * gateways' presence reports), the idle-room check and the hot-window retention — are sharded
 * jobs (PartitionedRoomJob): each worker registers in the job's membership (`coordination.engine`
 * zookeeper; with `single`, a warning, this worker takes every room, so run only one) and asks
 * the `roomcast ongoing` instances (`ongoing.urls`) for its share. The gift outbox relay and the
 * replay pruning are safe on several workers as they are (leases, transactions).
 */
export async function startWorker(config: RoomcastConfig, logger: Logger): Promise<RunningWorker> {
  assertClusterConfig(config, 'worker');
  const ongoing = openOngoingRooms(config, 'worker');
  const metrics = new RoomcastMetrics();
  const infra = await openInfrastructure(config, logger, metrics);
  let membership: JobMembership | undefined;
  try {
    const core = createCoreOn(infra, config, metrics, logger);
    membership = await openJobMembership(config, logger.child({ component: 'worker' }), 'worker');
    const { onlineCounts, idleRooms, retention } = await createRoomJobs({
      config,
      core,
      collections: infra.collections,
      repository: infra.repository,
      membership,
      ongoing,
      logger,
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
    const pruning = createReplayPruningJob(infra.ledger, config, logger, metrics);
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
    const jobs = [onlineCounts, idleRooms, retention, relay, pruning];
    for (const job of jobs) job.start();
    let closing: Promise<void> | undefined;
    return {
      url,
      port,
      retention,
      relay,
      close: () => {
        closing ??= (async () => {
          for (const job of jobs) await job.stop();
          await membership?.close();
          await app.close();
          await infra.close();
        })();
        return closing;
      },
    };
  } catch (err) {
    await membership?.close().catch(() => undefined);
    await infra.close().catch(() => undefined);
    throw err;
  }
}
