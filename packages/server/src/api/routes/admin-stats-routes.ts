import type { FastifyInstance } from 'fastify';
import { fail } from '../../core/errors.ts';
import { isAdmin } from '../../core/identity.ts';
import { collectAdminStats, type GatewayStatus } from '../admin-stats.ts';
import { adminStatsShape } from '../api-shapes.ts';
import { clusterGatewayStats } from '../cluster-gateway-stats.ts';
import type { RouteContext } from '../http-app.ts';
import { routeDoc } from '../openapi.ts';

/**
 * `GET /v1/admin/stats` (admin only): the operations dashboard's data, the same figures as
 * `/metrics` as JSON plus the live rooms with online counts. Never cached.
 */
export function registerAdminStatsRoutes(
  app: FastifyInstance,
  ctx: RouteContext,
  gateways: readonly GatewayStatus[],
): void {
  const doc = routeDoc({
    tag: 'admin',
    summary: "The operations dashboard's data",
    description:
      "Admins only. This process's `/metrics` counters as JSON (cumulative: two samples make a rate), its gateways " +
      "(on a process without one, every announced gateway, each asked with the caller's token for 1 s) and the live " +
      'rooms with their online counts. Never cached.',
    answers: {
      200: {
        description: '`AdminStats` (packages/protocol/src/admin-stats.ts)',
        body: adminStatsShape,
        headers: { 'Cache-Control': '`no-store`' },
      },
    },
    errors: [
      ['forbidden', 'the caller lacks the `admin` role'],
      ['unavailable', 'a store the figures come from is unreachable'],
    ],
  });
  app.get('/v1/admin/stats', doc, async (request, reply) => {
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
