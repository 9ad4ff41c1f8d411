import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { requireIdempotencyKey } from '../../core/idempotency.ts';
import {
  eventShape,
  idempotencyHeader,
  ifNoneMatchHeader,
  NOT_MODIFIED,
  PULL_HEADERS,
  roomParams,
  VISIBLE_ROOM_ERRORS,
} from '../api-shapes.ts';
import type { RouteContext } from '../http-app.ts';
import { routeDoc } from '../openapi.ts';
import { optionalCount, optionalParam, parse } from '../validation.ts';
import { cacheHeaders } from './pull-cache.ts';

const publishBody = z.object({
  type: z
    .string()
    .describe('users: `comment` or `like`; admins and services any type matching `[a-z][a-z0-9_.-]{0,31}`'),
  // Checked by the service (room-events.ts), which names the limit it broke.
  data: z.unknown().optional().meta({
    type: 'object',
    description:
      'a JSON object of at most `limits.eventDataMaxBytes` (4 KiB); a comment needs `text`, 1–500 characters without control characters but line breaks and tabs',
  }),
});

const pullQuery = z.object({
  cursor: z.int().min(0).optional().describe('the events after this seq; without it, the newest `limit`'),
  limit: z.int().min(0).default(100).describe('at most `limits.pullMaxLimit` (500)'),
  epoch: z
    .string()
    .max(64)
    .optional()
    .describe(
      'the `epoch` of the previous answer: another epoch (the history was lost) answers `reset` at once',
    ),
});

/** Time-series events: publish, and cursor pull for pull and CDN-style clients. */
export function registerEventRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.post<{ Params: { room: string } }>(
    '/v1/rooms/:room/events',
    routeDoc({
      tag: 'events',
      summary: 'Publish an event',
      description:
        'Acknowledged once the history stored it; live delivery follows on the bus. With `Idempotency-Key`, a retry ' +
        'within `limits.publishReplayWindowSeconds` (300 s) answers the first `seq` and stores nothing.',
      params: roomParams,
      headers: idempotencyHeader(false, 'the publisher and the room'),
      body: publishBody,
      answers: {
        201: {
          description: "the event's seq",
          body: z.object({ seq: z.int() }),
          headers: { 'Idempotent-Replayed': '`true` when this answers a retry and stored nothing' },
        },
      },
      errors: [
        ...VISIBLE_ROOM_ERRORS,
        [
          'bad_request',
          'a malformed `type`, `data` that is not a JSON object or breaks the structural limits, a comment without valid `text`, a malformed `Idempotency-Key`',
        ],
        ['forbidden', 'a type other than `comment` and `like` without the `admin` or `service` role'],
        ['muted', 'the caller is muted in this room'],
        ['banned', 'the caller is banned from this room'],
        ['room_ended', 'the room has ended'],
        ['conflict', 'the `Idempotency-Key` was used for another event'],
        ['too_large', '`data` is over `limits.eventDataMaxBytes`'],
        ['rate_limited', "over the caller's or the room's event rate"],
        ['unavailable', "the room's history store is unreachable"],
      ],
    }),
    async (request, reply) => {
      const identity = await ctx.authenticate(request);
      const body = parse(publishBody, request.body, 'body');
      const header = request.headers['idempotency-key'];
      const key = header === undefined ? undefined : requireIdempotencyKey(header);
      const receipt = await ctx.core.events.publish(identity, request.params.room, body.type, body.data, key);
      if (receipt.replayed) reply.header('Idempotent-Replayed', 'true');
      return reply.code(201).send({ seq: receipt.seq });
    },
  );

  app.get<{ Params: { room: string }; Querystring: { cursor?: string; limit?: string; epoch?: string } }>(
    '/v1/rooms/:room/events',
    routeDoc({
      tag: 'events',
      summary: 'Read events after a cursor',
      description:
        'Oldest first. `reset: true` when the cursor is older than the retained history, ahead of the newest seq ' +
        'or of another epoch: then `events` is empty and `cursor` the newest seq; reload state and go on from it. ' +
        'A pull client reading a room counts as in it (the host may address it).',
      params: roomParams,
      query: pullQuery,
      headers: ifNoneMatchHeader,
      answers: {
        200: {
          description: 'events after the cursor',
          body: z.object({
            events: z.array(eventShape),
            cursor: z.int().describe('pass back as `cursor`'),
            reset: z.boolean(),
            epoch: z.string().describe("the room's history epoch; pass back as `epoch`"),
          }),
          headers: PULL_HEADERS,
        },
        304: NOT_MODIFIED,
      },
      errors: [
        ...VISIBLE_ROOM_ERRORS,
        ['bad_request', '`cursor` or `limit` not a non-negative integer, `epoch` over 64 characters'],
        ['banned', 'the caller is banned from this room'],
      ],
    }),
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

  app.get<{ Params: { room: string } }>(
    '/v1/rooms/:room/access',
    routeDoc({
      tag: 'events',
      summary: 'Check read access to a room',
      description:
        'What an HTTP cache in front asks before it serves a stored copy of a pull answer to a caller ' +
        '(nginx `auth_request`, see docs/nginx.md): 204 when the caller may read the room’s events and ' +
        'state — the room is visible to them and they are not banned — else the error pull would answer. ' +
        'Like a pull, it counts the caller as in the room.',
      params: roomParams,
      answers: {
        204: {
          description: 'the caller may read the room',
          headers: { 'Cache-Control': '`private, no-store`' },
        },
      },
      errors: [...VISIBLE_ROOM_ERRORS, ['banned', 'the caller is banned from this room']],
    }),
    async (request, reply) => {
      const identity = await ctx.authenticate(request);
      const room = await ctx.core.events.readable(identity, request.params.room);
      await ctx.core.membership.mark(room.id, identity.userId);
      return reply.header('Cache-Control', 'private, no-store').code(204).send();
    },
  );
}
