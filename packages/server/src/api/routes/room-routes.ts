import { RoomcastError } from '@roomcast/protocol';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ROOM_LOOKUP_ERRORS, roomParams, roomShape, VISIBLE_ROOM_ERRORS } from '../api-shapes.ts';
import type { RouteContext } from '../http-app.ts';
import { routeDoc } from '../openapi.ts';
import { optionalCount, parse } from '../validation.ts';

const createBody = z.object({
  // The service's rule (core.ts `titleMaxChars`) is what the document states; 1000 only bounds
  // the work before it.
  title: z
    .string()
    .max(1000)
    .meta({ minLength: 1, maxLength: 200, description: '1–200 characters, no control characters' }),
  visibility: z
    .enum(['public', 'private'])
    .default('public')
    .describe('private rooms are seen and joined only by users whose token lists them'),
});

const listQuery = z.object({
  status: z.enum(['live']).default('live'),
  limit: z.int().min(0).default(50).describe('rooms per page, at most `limits.listMaxLimit` (200)'),
  cursor: z.string().optional().describe('`next` of the previous page'),
});

const room = z.object({ room: roomShape });

/** Rooms: start, read, end, list live, and dispatch (which gateways serve a room). */
export function registerRoomRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.post(
    '/v1/rooms',
    routeDoc({
      tag: 'rooms',
      summary: 'Start a room',
      description: 'The caller hosts it; a host has at most one live room.',
      body: createBody,
      answers: { 201: { description: 'the room, live', body: room } },
      errors: [
        [
          'bad_request',
          'a title that is empty, over 200 characters or holds control characters; a caller of an unserved region',
        ],
        ['conflict', 'the caller already hosts a live room'],
        ['unavailable', "the caller's region shard is unreachable"],
      ],
    }),
    async (request, reply) => {
      const identity = await ctx.authenticate(request);
      const body = parse(createBody, request.body, 'body');
      const room = await ctx.core.rooms.create(identity, body);
      return reply.code(201).send({ room });
    },
  );

  app.get<{ Querystring: { status?: string; limit?: string; cursor?: string } }>(
    '/v1/rooms',
    routeDoc({
      tag: 'rooms',
      summary: 'List live rooms',
      description:
        'Newest first, paged by keyset: a room still live is never shown twice nor skipped. Private rooms are ' +
        'listed only to users who may join them, so a page may hold fewer than `limit` rooms and still have a `next`.',
      query: listQuery,
      answers: {
        200: {
          description: 'a page of live rooms',
          body: z.object({
            rooms: z.array(roomShape),
            next: z.string().nullable().describe('pass as `cursor` for the next page; null on the last'),
            unavailableRegions: z
              .array(z.string())
              .describe('regions whose shard is down: their rooms are missing'),
          }),
        },
      },
      errors: [
        [
          'bad_request',
          'a `status` other than `live`, a `limit` that is not a whole number, a `cursor` this server did not make',
        ],
        ['unavailable', 'every region shard is unreachable'],
      ],
    }),
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

  app.get<{ Params: { room: string } }>(
    '/v1/rooms/:room',
    routeDoc({
      tag: 'rooms',
      summary: 'Read a room',
      description: 'Live rooms from their region shard, ended rooms from the archive.',
      params: roomParams,
      answers: { 200: { description: 'the room, live or ended', body: room } },
      errors: VISIBLE_ROOM_ERRORS,
    }),
    async (request) => {
      const identity = await ctx.authenticate(request);
      return { room: await ctx.core.rooms.getVisible(identity, request.params.room) };
    },
  );

  app.post<{ Params: { room: string } }>(
    '/v1/rooms/:room/end',
    routeDoc({
      tag: 'rooms',
      summary: 'End a room',
      description:
        'By the host or an admin. Idempotent; the room moves to the archive (later, if the archive is down now).',
      params: roomParams,
      answers: { 200: { description: 'the room, ended', body: room } },
      errors: [...ROOM_LOOKUP_ERRORS, ['forbidden', 'the caller is neither the host nor an admin']],
    }),
    async (request) => {
      const identity = await ctx.authenticate(request);
      return { room: await ctx.core.rooms.end(identity, request.params.room) };
    },
  );

  app.get<{ Params: { room: string } }>(
    '/v1/rooms/:room/endpoint',
    routeDoc({
      tag: 'rooms',
      summary: 'Which gateways serve a room',
      description:
        "The WebSocket URLs of the gateways of the room's dispatch group(s); connect to any one of them.",
      params: roomParams,
      answers: {
        200: {
          description: 'WebSocket URLs (`ws://…/v1/ws`)',
          body: z.object({ ws: z.array(z.string()).min(1) }),
        },
      },
      errors: [...VISIBLE_ROOM_ERRORS, ['unavailable', 'no gateway is announced']],
    }),
    async (request) => {
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
    },
  );
}
