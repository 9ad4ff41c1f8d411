import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { fail } from '../../core/errors.ts';
import { isAdmin } from '../../core/identity.ts';
import type { RouteContext } from '../http-app.ts';
import { routeDoc } from '../openapi.ts';

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
  const doc = routeDoc({
    tag: 'admin',
    summary: 'Drain a gateway of this process',
    description:
      'Admins only; served by processes that run a gateway. The gateway stops accepting joins, sends its clients ' +
      '`reconnect` in paced batches, closes what is left with 1001 after `gateway.drainDeadlineMs` (10 s) and exits.',
    params: z.object({ id: z.string().describe('the gateway ID (`gatewayId`)') }),
    answers: {
      202: {
        description: 'the drain has begun',
        body: z.object({ gateway: z.string(), draining: z.literal(true) }),
      },
    },
    errors: [
      ['forbidden', 'the caller lacks the `admin` role'],
      ['not_found', 'no gateway of that ID runs in this process'],
    ],
  });
  app.post<{ Params: { id: string } }>('/v1/admin/gateways/:id/drain', doc, async (request, reply) => {
    const identity = await ctx.authenticate(request);
    if (!isAdmin(identity)) fail('forbidden', 'admin only');
    if (!drain(request.params.id)) fail('not_found', `no gateway ${request.params.id} in this process`);
    return reply.code(202).send({ gateway: request.params.id, draining: true });
  });
}
