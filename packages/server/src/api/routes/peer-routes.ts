import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { peerShape, ROOM_LOOKUP_ERRORS, roomParams } from '../api-shapes.ts';
import type { RouteContext } from '../http-app.ts';
import { routeDoc } from '../openapi.ts';
import { optionalCount, parse } from '../validation.ts';

// Types are checked by the service (peer-signals.ts), which names the field and the rule.
const peerBody = z.object({
  to: z.unknown().meta({
    type: 'array',
    items: { type: 'string' },
    description: '1–`limits.peerMaxTargets` (1,000) user IDs',
  }),
  type: z.unknown().meta({ type: 'string', description: 'matching `[a-z][a-z0-9_.-]{0,31}`' }),
  data: z
    .unknown()
    .optional()
    .meta({ type: 'object', description: 'a JSON object of at most `limits.eventDataMaxBytes` (4 KiB)' }),
});

const inboxQuery = z.object({
  cursor: z.int().min(0).default(0).describe('the messages after this inbox seq'),
  limit: z.int().min(0).default(100).describe('at most `limits.pullMaxLimit` (500)'),
});

/** Peer signals: send to chosen users of a room, and each user's inbox for pull clients. */
export function registerPeerRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.post<{ Params: { room: string } }>(
    '/v1/rooms/:room/peer',
    routeDoc({
      tag: 'peers',
      summary: 'Send a peer signal',
      description:
        "By the room's host (to users who have been in the room), an admin or a service (to anyone). Each target " +
        'gets it live (`peer` frame) if connected, and in its inbox.',
      params: roomParams,
      body: peerBody,
      answers: {
        202: {
          description: 'accepted',
          body: z.object({
            id: z.string(),
            online: z.int().describe('targets connected to some gateway right now'),
          }),
        },
      },
      errors: [
        ...ROOM_LOOKUP_ERRORS,
        ['bad_request', '`to` not 1–1,000 user IDs, a malformed `type`, `data` not a JSON object'],
        ['too_large', '`data` is over `limits.eventDataMaxBytes`'],
        [
          'forbidden',
          'the caller is not the host, an admin or a service; the host named a user who has not been in the room',
        ],
        ['rate_limited', "over the caller's high-priority write rate (`limits.userHighPerSecond`)"],
      ],
    }),
    async (request, reply) => {
      const identity = await ctx.authenticate(request);
      const body = parse(peerBody, request.body, 'body');
      const result = await ctx.core.peers.send(identity, request.params.room, body);
      return reply.code(202).send(result);
    },
  );

  app.get<{ Querystring: { cursor?: string; limit?: string } }>(
    '/v1/inbox',
    routeDoc({
      tag: 'peers',
      summary: "Read the caller's peer inbox",
      description: 'Oldest first. An inbox keeps the newest 200 messages for 24 h (`inbox.*`).',
      query: inboxQuery,
      answers: {
        200: {
          description: 'messages after the cursor',
          body: z.object({
            messages: z.array(peerShape),
            cursor: z.int().describe('pass back as `cursor`'),
          }),
          headers: { 'Cache-Control': '`private, no-store`' },
        },
      },
      errors: [
        ['bad_request', '`cursor` or `limit` not a non-negative integer'],
        ['unavailable', 'the inbox store is unreachable'],
      ],
    }),
    async (request, reply) => {
      const identity = await ctx.authenticate(request);
      const cursor = optionalCount(request.query.cursor, 'cursor') ?? 0;
      const limit = optionalCount(request.query.limit, 'limit') ?? 100;
      const page = await ctx.core.peers.inbox(identity, cursor, limit);
      const last = page.messages[page.messages.length - 1];
      reply.header('Cache-Control', 'private, no-store');
      return { messages: page.messages, cursor: last === undefined ? Math.min(cursor, page.top) : last.seq };
    },
  );
}
