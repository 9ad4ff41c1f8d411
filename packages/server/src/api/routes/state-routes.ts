import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { parseHave } from '../../core/room-state-service.ts';
import {
  ifNoneMatchHeader,
  NOT_MODIFIED,
  PULL_HEADERS,
  ROOM_LOOKUP_ERRORS,
  roomParams,
  stateParams,
  stateSnapshotShape,
  stateVersionsShape,
  VISIBLE_ROOM_ERRORS,
} from '../api-shapes.ts';
import type { RouteContext } from '../http-app.ts';
import { routeDoc } from '../openapi.ts';
import { optionalParam, parse } from '../validation.ts';
import { cacheHeaders } from './pull-cache.ts';

const putBody = z.object({
  // Checked by the service (room-state-service.ts), which names the limit it broke.
  value: z.unknown().meta({ description: 'any JSON of at most `limits.stateValueMaxBytes` (16 KiB)' }),
});

const sinceQuery = z.object({
  have: z
    .string()
    .optional()
    .describe('`name:version,…` of the partials the client holds: only the others are sent'),
});

const READ_ERRORS = [...VISIBLE_ROOM_ERRORS, ['banned', 'the caller is banned from this room']] as const;

/** State sync: versions for polling, partials since `have`, and writes by the host or admins. */
export function registerStateRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.get<{ Params: { room: string } }>(
    '/v1/rooms/:room/state/version',
    routeDoc({
      tag: 'state',
      summary: "Read a room's state versions",
      description: 'What a pull client polls: fetch the partials when a version moved.',
      params: roomParams,
      headers: ifNoneMatchHeader,
      answers: {
        200: {
          description: "the total version and each partial's",
          body: stateVersionsShape,
          headers: PULL_HEADERS,
        },
        304: NOT_MODIFIED,
      },
      errors: READ_ERRORS,
    }),
    async (request, reply) => {
      const identity = await ctx.authenticate(request);
      const room = await ctx.core.rooms.getVisible(identity, request.params.room);
      const versions = await ctx.core.state.versions(identity, room.id);
      return cacheHeaders(request, reply, room, `v${versions.total}`, versions, ctx.config.pull.sharedCache);
    },
  );

  app.get<{ Params: { room: string }; Querystring: { have?: string } }>(
    '/v1/rooms/:room/state',
    routeDoc({
      tag: 'state',
      summary: "Read a room's state partials",
      description: 'Every partial, or with `have` only those whose version differs from the one given.',
      params: roomParams,
      query: sinceQuery,
      headers: ifNoneMatchHeader,
      answers: {
        200: { description: 'the partials that differ', body: stateSnapshotShape, headers: PULL_HEADERS },
        304: NOT_MODIFIED,
      },
      errors: [...READ_ERRORS, ['bad_request', 'a malformed `have`, or one naming over 1,000 partials']],
    }),
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

  app.put<{ Params: { room: string; name: string } }>(
    '/v1/rooms/:room/state/:name',
    routeDoc({
      tag: 'state',
      summary: 'Write a state partial',
      description:
        "By the host or an admin. Raises the partial's version and the total by one; live members get an `ss` frame. " +
        "A `title` partial that is a string fit for a title (1–200 characters, one line) also becomes the room's title in `GET /v1/rooms` and `GET /v1/rooms/:room`.",
      params: stateParams,
      body: putBody,
      answers: {
        200: {
          description: 'the new versions',
          body: z.object({ total: z.int(), v: z.int().describe("the partial's new version") }),
        },
      },
      errors: [
        ...ROOM_LOOKUP_ERRORS,
        ['bad_request', 'a malformed partial name, a body without `value`'],
        ['too_large', '`value` is over `limits.stateValueMaxBytes`'],
        ['forbidden', 'the caller is neither the host nor an admin'],
        ['room_ended', 'the room has ended'],
        ['conflict', 'a new partial beyond `limits.maxPartials` (64) in this room'],
        ['rate_limited', "over the caller's high-priority write rate (`limits.userHighPerSecond`)"],
      ],
    }),
    async (request) => {
      const identity = await ctx.authenticate(request);
      const body = parse(putBody, request.body, 'body');
      return ctx.core.state.set(identity, request.params.room, request.params.name, body.value);
    },
  );
}
