import { RoomcastError } from '@roomcast/protocol';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { RouteContext } from '../http-app.ts';
import { optionalCount, parse } from '../validation.ts';

const createBody = z.object({
  title: z.string().max(1000),
  visibility: z.enum(['public', 'private']).default('public'),
});

/** Rooms: start, read, end, list live, and dispatch (which gateways serve a room). */
export function registerRoomRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.post('/v1/rooms', async (request, reply) => {
    const identity = await ctx.authenticate(request);
    const body = parse(createBody, request.body, 'body');
    const room = await ctx.core.rooms.create(identity, body);
    return reply.code(201).send({ room });
  });

  app.get<{ Querystring: { status?: string; limit?: string; cursor?: string } }>(
    '/v1/rooms',
    async (request) => {
      const identity = await ctx.authenticate(request);
      const status = request.query.status ?? 'live';
      if (status !== 'live') throw new RoomcastError('bad_request', 'status must be live');
      const max = ctx.config.limits.listMaxLimit;
      const limit = Math.min(optionalCount(request.query.limit, 'limit') ?? 50, max);
      const cursor: unknown = request.query.cursor;
      if (cursor !== undefined && typeof cursor !== 'string')
        throw new RoomcastError('bad_request', 'one cursor');
      return ctx.core.rooms.listLive(identity, Math.max(1, limit), cursor === '' ? undefined : cursor);
    },
  );

  app.get<{ Params: { room: string } }>('/v1/rooms/:room', async (request) => {
    const identity = await ctx.authenticate(request);
    return { room: await ctx.core.rooms.getVisible(identity, request.params.room) };
  });

  app.post<{ Params: { room: string } }>('/v1/rooms/:room/end', async (request) => {
    const identity = await ctx.authenticate(request);
    return { room: await ctx.core.rooms.end(identity, request.params.room) };
  });

  app.get<{ Params: { room: string } }>('/v1/rooms/:room/endpoint', async (request) => {
    const identity = await ctx.authenticate(request);
    await ctx.core.rooms.getVisible(identity, request.params.room);
    const ws = await ctx.core.dispatch.endpoints(request.params.room);
    if (ws.length > 0) return { ws };
    // No gateway announced itself: only a process that serves WebSockets itself (roomcast dev)
    // can name one, its own address.
    if ((ctx.gateways ?? []).length === 0) {
      throw new RoomcastError('unavailable', 'no gateway is available; try again shortly');
    }
    const base = ctx.config.publicUrl ?? `${request.protocol}://${request.host}`;
    return { ws: [`${base.replace(/^http/, 'ws').replace(/\/$/, '')}/v1/ws`] };
  });
}
