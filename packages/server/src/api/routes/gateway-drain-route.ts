import type { FastifyInstance } from 'fastify';
import { fail } from '../../core/errors.ts';
import { isAdmin } from '../../core/identity.ts';
import type { RouteContext } from '../http-app.ts';

/**
 * `POST /v1/admin/gateways/:id/drain` (admin only): the gateway `id` of this process stops
 * accepting joins, tells its clients in paced batches to reconnect elsewhere and then exits.
 * Answers 202 at once (the drain takes a while); 404 when no gateway of that ID runs here.
 */
export function registerGatewayDrainRoute(
  app: FastifyInstance,
  ctx: RouteContext,
  drain: (id: string) => boolean,
): void {
  app.post<{ Params: { id: string } }>('/v1/admin/gateways/:id/drain', async (request, reply) => {
    const identity = await ctx.authenticate(request);
    if (!isAdmin(identity)) fail('forbidden', 'admin only');
    if (!drain(request.params.id)) fail('not_found', `no gateway ${request.params.id} in this process`);
    return reply.code(202).send({ gateway: request.params.id, draining: true });
  });
}
