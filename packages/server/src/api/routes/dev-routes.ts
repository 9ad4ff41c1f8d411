import { isUserId, RoomcastError, regionOf } from '@roomcast/protocol';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { DevTokenIssuer } from '../../adapters/auth/dev-token-issuer.ts';
import type { RouteContext } from '../http-app.ts';
import { routeDoc } from '../openapi.ts';
import { parse } from '../validation.ts';

const tokenBody = z.object({
  user: z.string().describe('`<region>_<id>` of a served region, e.g. `eu_alice`'),
  roles: z
    .array(z.string().min(1).max(32))
    .max(10)
    .default([])
    .describe('`admin`, `service`, or none for a viewer or host'),
  rooms: z.array(z.string().min(1).max(80)).max(1000).optional().describe('private rooms the user may join'),
  name: z.string().min(1).max(100).optional().describe('the display name'),
  expiresInSeconds: z
    .number()
    .int()
    .min(10)
    .max(30 * 86400)
    .default(86400),
});

/** `POST /v1/dev/tokens`: mints a token for any user. Registered only when dev mode is on. */
export function registerDevRoutes(app: FastifyInstance, ctx: RouteContext, issuer: DevTokenIssuer): void {
  app.post(
    '/v1/dev/tokens',
    routeDoc({
      tag: 'dev',
      summary: 'Mint a token for any user',
      description:
        "Only when dev mode is on (`roomcast dev`): an HS256 token signed with the server's secret.",
      auth: 'none',
      body: tokenBody,
      answers: { 200: { description: 'the token', body: z.object({ token: z.string() }) } },
      errors: [
        ['bad_request', 'a `user` not `<region>_<id>` or of an unserved region; a field out of range'],
      ],
    }),
    async (request) => {
      const body = parse(tokenBody, request.body, 'body');
      if (!isUserId(body.user))
        throw new RoomcastError('bad_request', 'user must be <region>_<id>, e.g. eu_alice');
      const region = regionOf(body.user) as string;
      if (!ctx.config.regions.includes(region)) {
        throw new RoomcastError(
          'bad_request',
          `unknown region "${region}"; this server serves ${ctx.config.regions.join(', ')}`,
        );
      }
      const token = await issuer.issue({
        user: body.user,
        roles: body.roles,
        expiresInSeconds: body.expiresInSeconds,
        ...(body.rooms === undefined ? {} : { rooms: body.rooms }),
        ...(body.name === undefined ? {} : { name: body.name }),
      });
      return { token };
    },
  );
}
