import type { Logger } from 'pino';
import { DevTokenIssuer } from '../adapters/auth/dev-token-issuer.ts';
import { SingleMemberMembership } from '../adapters/memory/single-member-membership.ts';
import { HttpOngoingRooms } from '../adapters/ongoing/http-ongoing-rooms.ts';
import { ZookeeperMembership } from '../adapters/zookeeper/zookeeper-membership.ts';
import type { RoomcastConfig } from '../config/config-schema.ts';
import type { RoomcastCore } from '../core/core.ts';
import { ONLINE_COUNT_JOB, OnlineCountJob } from '../core/online-count-job.ts';
import type { Collections } from '../core/ports/collections.ts';
import type { Ledger } from '../core/ports/ledger.ts';
import type { OngoingRooms } from '../core/ports/ongoing-rooms.ts';
import type { RoomRepository } from '../core/ports/rooms.ts';
import type { JobMembership } from '../core/ports/worker-membership.ts';
import { ROOM_IDLE_JOB, RoomIdleJob } from '../core/room-idle-job.ts';
import { ROOM_RETENTION_JOB, RoomRetentionJob } from '../core/room-retention-job.ts';
import { SETTLEMENT_PICKUP_JOB, SettlementPickup } from '../core/settlement-pickup.ts';
import type { RoomcastMetrics } from '../observability/metrics.ts';
import { RoleConfigError } from './infrastructure.ts';

/** Service tokens the worker signs for itself live this long, and are renewed well before. */
const SERVICE_TOKEN_SECONDS = 3_600;

/**
 * Where a role's sharded jobs ask for their share of the rooms: the `ongoing.urls` instances, with
 * `ongoing.token` or a service token signed with `jwt.secret`. Refuses to start without either.
 */
export function openOngoingRooms(config: RoomcastConfig, role: string): OngoingRooms {
  const { ongoing } = config;
  if (ongoing.urls.length === 0) {
    throw new RoleConfigError(
      `roomcast ${role} needs ongoing.urls (ROOMCAST_ONGOING_URLS): the roomcast ongoing instances its jobs ask for their share of the rooms`,
    );
  }
  let token: () => Promise<string>;
  if (ongoing.token !== undefined) {
    const fixed = ongoing.token;
    token = async () => fixed;
  } else if (config.jwt.secret !== undefined) {
    const issuer = new DevTokenIssuer(config.jwt.secret);
    let cached: { token: Promise<string>; renewAt: number } | undefined;
    token = () => {
      if (cached === undefined || Date.now() >= cached.renewAt) {
        const fresh = issuer.issue({
          user: `${config.regions[0]}_roomcast-${role}`,
          roles: ['service'],
          expiresInSeconds: SERVICE_TOKEN_SECONDS,
        });
        cached = { token: fresh, renewAt: Date.now() + (SERVICE_TOKEN_SECONDS * 1000) / 2 };
        // A failed signing is not kept: the next round signs again.
        fresh.catch(() => {
          cached = undefined;
        });
      }
      return cached.token;
    };
  } else {
    throw new RoleConfigError(
      `roomcast ${role} needs ongoing.token (ROOMCAST_ONGOING_TOKEN) or jwt.secret (ROOMCAST_JWT_SECRET) to call roomcast ongoing`,
    );
  }
  return new HttpOngoingRooms({ urls: ongoing.urls, token, timeoutMs: ongoing.requestTimeoutMs });
}

/** The coordination store `coordination.engine` names, for the sharded jobs. */
export async function openJobMembership(
  config: RoomcastConfig,
  logger: Logger,
  role: string,
): Promise<JobMembership> {
  const { coordination } = config;
  if (coordination.engine === 'single') {
    logger.warn(
      `coordination.engine is single: this ${role} takes every room of its sharded jobs, so run only one (or set ROOMCAST_COORDINATION_ENGINE=zookeeper)`,
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

/** What the room jobs of a worker (or of `roomcast dev`) work with. */
export interface RoomJobsDeps {
  config: RoomcastConfig;
  core: RoomcastCore;
  collections: Pick<Collections, 'presence' | 'registry'>;
  repository: Pick<RoomRepository, 'moveToArchive'>;
  membership: JobMembership;
  ongoing: OngoingRooms;
  logger: Logger;
  metrics: RoomcastMetrics;
}

/** The worker's room jobs, each joined to its membership, not started yet. */
export async function createRoomJobs(deps: RoomJobsDeps): Promise<{
  onlineCounts: OnlineCountJob;
  idleRooms: RoomIdleJob;
  retention: RoomRetentionJob;
}> {
  const { config, core, collections, membership, ongoing, metrics } = deps;
  const workerLogger = deps.logger.child({ component: 'worker' });
  return {
    onlineCounts: new OnlineCountJob({
      presence: collections.presence,
      events: core.events,
      membership: await membership.join(ONLINE_COUNT_JOB),
      ongoing,
      intervalMs: config.worker.onlineIntervalMs,
      logger: workerLogger,
      metrics,
    }),
    idleRooms: new RoomIdleJob({
      rooms: core.rooms,
      registry: collections.registry,
      membership: await membership.join(ROOM_IDLE_JOB),
      ongoing,
      intervalMs: config.rooms.idleCheckIntervalMs,
      maxLiveMs: config.rooms.maxLiveHours * 3_600_000,
      hostAbsentMs: config.rooms.hostAbsentEndMs,
      logger: workerLogger,
      metrics,
    }),
    retention: new RoomRetentionJob({
      repository: deps.repository,
      membership: await membership.join(ROOM_RETENTION_JOB),
      ongoing,
      hotWindowDays: config.rooms.hotWindowDays,
      batchSize: config.rooms.retentionBatchSize,
      intervalMs: config.rooms.retentionIntervalMs,
      logger: deps.logger.child({ component: 'rooms' }),
      metrics,
    }),
  };
}

/** The settler's pick-up of the rooms OngoingQuery saw end, joined to its membership. */
export async function createSettlementPickup(deps: {
  config: RoomcastConfig;
  ledger: Pick<Ledger, 'closeRoom'>;
  membership: JobMembership;
  ongoing: OngoingRooms;
  logger: Logger;
  metrics: RoomcastMetrics;
}): Promise<SettlementPickup> {
  return new SettlementPickup({
    ledger: deps.ledger,
    membership: await deps.membership.join(SETTLEMENT_PICKUP_JOB),
    ongoing: deps.ongoing,
    intervalMs: deps.config.settler.intervalMs,
    concurrency: deps.config.settler.concurrency,
    logger: deps.logger,
    metrics: deps.metrics,
  });
}
