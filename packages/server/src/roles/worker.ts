import type { Logger } from 'pino';
import { SingleMemberMembership } from '../adapters/memory/single-member-membership.ts';
import { ZookeeperMembership } from '../adapters/zookeeper/zookeeper-membership.ts';
import { buildHttpApp } from '../api/http-app.ts';
import type { RoomcastConfig } from '../config/config-schema.ts';

import { fail } from '../core/errors.ts';
import { ONLINE_COUNT_JOB, OnlineCountJob } from '../core/online-count-job.ts';
import { OutboxRelay } from '../core/outbox-relay.ts';
import type { JobMembership, MembershipView } from '../core/ports/worker-membership.ts';
import { RoomRetentionJob } from '../core/room-retention-job.ts';
import { RoomcastMetrics } from '../observability/metrics.ts';
import {
  assertClusterConfig,
  createCoreOn,
  createReplayPruningJob,
  openInfrastructure,
} from './infrastructure.ts';
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
 * the online broadcast is sharded: with `coordination.engine` zookeeper each worker takes its
 * partition of the rooms; with `single` (a warning) this worker takes all, so run only one.
 */
export async function startWorker(config: RoomcastConfig, logger: Logger): Promise<RunningWorker> {
  assertClusterConfig(config, 'worker');
  const metrics = new RoomcastMetrics();
  const infra = await openInfrastructure(config, logger, metrics);
  let membership: JobMembership | undefined;
  try {
    const core = createCoreOn(infra, config, metrics, logger);
    const workerLogger = logger.child({ component: 'worker' });
    membership = await openJobMembership(config, workerLogger);
    const onlineMember = await membership.join(ONLINE_COUNT_JOB);
    const showView = (view: MembershipView | undefined) => {
      metrics.workerMembers.set({ job: ONLINE_COUNT_JOB }, view?.count ?? 0);
      metrics.workerIndex.set({ job: ONLINE_COUNT_JOB }, view?.index ?? -1);
      workerLogger.info({ job: ONLINE_COUNT_JOB, view: view ?? null }, 'job membership changed');
    };
    showView(onlineMember.view());
    onlineMember.onChange(showView);
    const onlineCounts = new OnlineCountJob({
      presence: infra.collections.presence,
      events: core.events,
      membership: onlineMember,
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
    onlineCounts.start();
    retention.start();
    relay.start();
    pruning.start();
    let closing: Promise<void> | undefined;
    return {
      url,
      port,
      retention,
      relay,
      close: () => {
        closing ??= (async () => {
          await onlineCounts.stop();
          await membership?.close();
          await retention.stop();
          await relay.stop();
          await pruning.stop();
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

/** The coordination store `coordination.engine` names, for the sharded jobs. */
async function openJobMembership(config: RoomcastConfig, logger: Logger): Promise<JobMembership> {
  const { coordination } = config;
  if (coordination.engine === 'single') {
    logger.warn(
      'coordination.engine is single: this worker broadcasts every room, so run only one worker (or set ROOMCAST_COORDINATION_ENGINE=zookeeper)',
    );
    return new SingleMemberMembership();
  }
  return ZookeeperMembership.open({
    connect: coordination.zookeeperConnect,
    pathPrefix: coordination.pathPrefix,
    sessionTimeoutMs: coordination.sessionTimeoutMs,
    onError: (err, job) => logger.warn({ err, job }, 'ZooKeeper membership call failed; retrying'),
  });
}
