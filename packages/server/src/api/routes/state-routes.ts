import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { parseHave } from '../../core/room-state-service.ts';
import type { RouteContext } from '../http-app.ts';
import { optionalParam, parse } from '../validation.ts';
import { cacheHeaders } from './pull-cache.ts';

const putBody = z.object({ value: z.unknown() });

/** State sync: versions for polling, partials since `have`, and writes by the host or admins. */
export function registerStateRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.get<{ Params: { room: string } }>('/v1/rooms/:room/state/version', async (request, reply) => {
    const identity = await ctx.authenticate(request);
    const room = await ctx.core.rooms.getVisible(identity, request.params.room);
    const versions = await ctx.core.state.versions(identity, room.id);
    return cacheHeaders(request, reply, room, `v${versions.total}`, versions, ctx.config.pull.sharedCache);
  });

  app.get<{ Params: { room: string }; Querystring: { have?: string } }>(
    '/v1/rooms/:room/state',
    async (request, reply) => {
      const identity = await ctx.authenticate(request);
      const haveParam = optionalParam(request.query.have, 'have');
      const have = parseHave(haveParam);
      const room = await ctx.core.rooms.getVisible(identity, request.params.room);
      const snapshot = await ctx.core.state.since(identity, room.id, have);
      return cacheHeaders(
        request,
        reply,
        room,
        `s${snapshot.total}.${haveParam ?? ''}`,
        snapshot,
        ctx.config.pull.sharedCache,
      );
    },
  );

  app.put<{ Params: { room: string; name: string } }>('/v1/rooms/:room/state/:name', async (request) => {
    const identity = await ctx.authenticate(request);
    const body = parse(putBody, request.body, 'body');
    return ctx.core.state.set(identity, request.params.room, request.params.name, body.value);
  });
}
