import type { Logger } from 'pino';
import { DevTokenIssuer } from '../adapters/auth/dev-token-issuer.ts';
import { SingleMemberMembership } from '../adapters/memory/single-member-membership.ts';
import { HttpOngoingRooms } from '../adapters/ongoing/http-ongoing-rooms.ts';
import { ZookeeperMembership } from '../adapters/zookeeper/zookeeper-membership.ts';
import type { RoomcastConfig } from '../config/config-schema.ts';
import type { OngoingRooms } from '../core/ports/ongoing-rooms.ts';
import type { JobMembership } from '../core/ports/worker-membership.ts';
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
