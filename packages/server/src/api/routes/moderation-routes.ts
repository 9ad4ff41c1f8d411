import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { RouteContext } from '../http-app.ts';
import { parse } from '../validation.ts';

const moderationBody = z.object({ action: z.unknown(), user: z.unknown(), seconds: z.unknown().optional() });

/** Moderation by the host or an admin: mute, unmute, kick, ban. */
export function registerModerationRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.post<{ Params: { room: string } }>('/v1/rooms/:room/moderation', async (request) => {
    const identity = await ctx.authenticate(request);
    const body = parse(moderationBody, request.body, 'body');
    await ctx.core.moderation.apply(identity, request.params.room, body);
    return { ok: true };
  });
}
