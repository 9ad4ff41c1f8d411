import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { RouteContext } from '../http-app.ts';
import { optionalCount, parse } from '../validation.ts';

const peerBody = z.object({ to: z.unknown(), type: z.unknown(), data: z.unknown().optional() });

/** Peer signals: send to chosen users of a room, and each user's inbox for pull clients. */
export function registerPeerRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.post<{ Params: { room: string } }>('/v1/rooms/:room/peer', async (request, reply) => {
    const identity = await ctx.authenticate(request);
    const body = parse(peerBody, request.body, 'body');
    const result = await ctx.core.peers.send(identity, request.params.room, body);
    return reply.code(202).send(result);
  });

  app.get<{ Querystring: { cursor?: string; limit?: string } }>('/v1/inbox', async (request, reply) => {
    const identity = await ctx.authenticate(request);
    const cursor = optionalCount(request.query.cursor, 'cursor') ?? 0;
    const limit = optionalCount(request.query.limit, 'limit') ?? 100;
    const page = await ctx.core.peers.inbox(identity, cursor, limit);
    const last = page.messages[page.messages.length - 1];
    reply.header('Cache-Control', 'private, no-store');
    return { messages: page.messages, cursor: last === undefined ? Math.min(cursor, page.top) : last.seq };
  });
}
