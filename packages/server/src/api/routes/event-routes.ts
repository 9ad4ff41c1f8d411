import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { requireIdempotencyKey } from '../../core/idempotency.ts';
import type { RouteContext } from '../http-app.ts';
import { optionalCount, optionalParam, parse } from '../validation.ts';
import { cacheHeaders } from './pull-cache.ts';

const publishBody = z.object({ type: z.string(), data: z.unknown().optional() });

/** Time-series events: publish, and cursor pull for pull and CDN-style clients. */
export function registerEventRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.post<{ Params: { room: string } }>('/v1/rooms/:room/events', async (request, reply) => {
    const identity = await ctx.authenticate(request);
    const body = parse(publishBody, request.body, 'body');
    const header = request.headers['idempotency-key'];
    const key = header === undefined ? undefined : requireIdempotencyKey(header);
    const receipt = await ctx.core.events.publish(identity, request.params.room, body.type, body.data, key);
    if (receipt.replayed) reply.header('Idempotent-Replayed', 'true');
    return reply.code(201).send({ seq: receipt.seq });
  });

  app.get<{ Params: { room: string }; Querystring: { cursor?: string; limit?: string; epoch?: string } }>(
    '/v1/rooms/:room/events',
    async (request, reply) => {
      const identity = await ctx.authenticate(request);
      const cursor = optionalCount(request.query.cursor, 'cursor');
      const limit = optionalCount(request.query.limit, 'limit') ?? 100;
      const epoch = optionalParam(request.query.epoch, 'epoch');
      if (epoch !== undefined && epoch.length > 64)
        return reply.code(400).send({ error: { code: 'bad_request', message: 'epoch too long' } });
      const page = await ctx.core.events.read(identity, request.params.room, cursor, epoch, limit);
      // A pull client reading a room is in it, as a WebSocket join would be: the host may address it.
      await ctx.core.membership.mark(page.room.id, identity.userId);
      const body = { events: page.events, cursor: page.cursor, reset: page.reset, epoch: page.epoch };
      return cacheHeaders(
        request,
        reply,
        page.room,
        `${page.epoch}.${page.cursor}.${page.reset ? 1 : 0}.${cursor ?? 'n'}.${limit}`,
        body,
        ctx.config.pull.sharedCache,
      );
    },
  );
}
