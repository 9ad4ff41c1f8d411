import type { FastifyInstance } from 'fastify';
import { fail } from '../../core/errors.ts';
import { isAdmin } from '../../core/identity.ts';
import { collectAdminStats, type GatewayStatus } from '../admin-stats.ts';
import { clusterGatewayStats } from '../cluster-gateway-stats.ts';
import type { RouteContext } from '../http-app.ts';

/**
 * `GET /v1/admin/stats` (admin only): the operations dashboard's data, the same figures as
 * `/metrics` as JSON plus the live rooms with online counts. Never cached.
 */
export function registerAdminStatsRoutes(
  app: FastifyInstance,
  ctx: RouteContext,
  gateways: readonly GatewayStatus[],
): void {
  app.get('/v1/admin/stats', async (request, reply) => {
    const identity = await ctx.authenticate(request);
    if (!isAdmin(identity)) fail('forbidden', 'admin only');
    const stats = await collectAdminStats(
      {
        core: ctx.core,
        metrics: ctx.metrics,
        gateways,
        ...(gateways.length === 0
          ? {
              clusterGateways: () =>
                clusterGatewayStats(ctx.core.collections.gateways, request.headers.authorization ?? ''),
            }
          : {}),
        sendQueueSoftBytes: ctx.config.gateway.sendQueueSoftBytes,
        maxRooms: ctx.config.limits.listMaxLimit,
      },
      identity,
    );
    return reply.header('Cache-Control', 'no-store').send(stats);
  });
}
