import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ROOM_LOOKUP_ERRORS, roomParams } from '../api-shapes.ts';
import type { RouteContext } from '../http-app.ts';
import { routeDoc } from '../openapi.ts';
import { parse } from '../validation.ts';

// Types are checked by the service (moderation-service.ts), which names the field and the rule.
const moderationBody = z.object({
  action: z.unknown().meta({ type: 'string', enum: ['mute', 'unmute', 'kick', 'ban'] }),
  user: z.unknown().meta({ type: 'string', description: 'the user ID to moderate (never the host)' }),
  seconds: z
    .unknown()
    .optional()
    .meta({
      type: 'integer',
      minimum: 1,
      maximum: 480 * 3600,
      description: 'how long a mute or ban lasts: mute 600 s, ban 480 h when absent',
    }),
});

/** Moderation by the host or an admin: mute, unmute, kick, ban. */
export function registerModerationRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.post<{ Params: { room: string } }>(
    '/v1/rooms/:room/moderation',
    routeDoc({
      tag: 'moderation',
      summary: 'Mute, unmute, kick or ban a user',
      description:
        "By the host or an admin. Kick and ban end the user's subscriptions to the room (`left` with a `reason`); " +
        'the user gets a `moderation` peer signal.',
      params: roomParams,
      body: moderationBody,
      answers: { 200: { description: 'applied', body: z.object({ ok: z.literal(true) }) } },
      errors: [
        ...ROOM_LOOKUP_ERRORS,
        [
          'bad_request',
          'an unknown `action`, a `user` that is not a user ID or is the host, `seconds` out of range',
        ],
        ['forbidden', 'the caller is neither the host nor an admin'],
      ],
    }),
    async (request) => {
      const identity = await ctx.authenticate(request);
      const body = parse(moderationBody, request.body, 'body');
      await ctx.core.moderation.apply(identity, request.params.room, body);
      return { ok: true };
    },
  );
}
