import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { GiftService } from '../../core/gift-service.ts';
import { requireIdempotencyKey } from '../../core/idempotency.ts';
import {
  giftShape,
  idempotencyHeader,
  ROOM_LOOKUP_ERRORS,
  roomParams,
  transferShape,
  VISIBLE_ROOM_ERRORS,
} from '../api-shapes.ts';
import type { RouteContext } from '../http-app.ts';
import { routeDoc } from '../openapi.ts';
import { parse } from '../validation.ts';

// Types are checked by the service, which names the field and the allowed range in its message.
const giftBody = z.object({
  gift: z.unknown().meta({ type: 'string', description: 'a gift ID of `GET /v1/gifts`' }),
  count: z.unknown().optional().meta({ type: 'integer', minimum: 1, maximum: 999, default: 1 }),
});
const creditBody = z.object({
  user: z.unknown().meta({ type: 'string', description: 'a user ID of a served region' }),
  amount: z.unknown().meta({
    type: 'integer',
    minimum: 1,
    maximum: Number.MAX_SAFE_INTEGER,
    description: 'in the smallest unit, at most 2^53 − 1 (so every amount is an exact JSON number)',
  }),
});

const balance = z.object({ balance: z.int().min(0) });

/** Gifts and balances: the catalogue, sending gifts, the caller's balance, admin top-ups, settlements. */
export function registerGiftRoutes(app: FastifyInstance, ctx: RouteContext, gifts: GiftService): void {
  app.get(
    '/v1/gifts',
    routeDoc({
      tag: 'gifts',
      summary: 'The gift catalogue',
      description: 'In the order of the `gifts.catalogue` setting.',
      answers: { 200: { description: 'every gift', body: z.object({ gifts: z.array(giftShape) }) } },
    }),
    async (request) => {
      await ctx.authenticate(request);
      return { gifts: gifts.catalogue() };
    },
  );

  app.post<{ Params: { room: string } }>(
    '/v1/rooms/:room/gifts',
    routeDoc({
      tag: 'gifts',
      summary: 'Send a gift to a room',
      description:
        "Moves price × count from the sender's balance to the room in one transaction, then publishes a `gift` " +
        'event. The same `Idempotency-Key` with the same request answers the first 201 again and moves nothing; ' +
        'keys are kept for `ledger.replayWindowHours` (168).',
      params: roomParams,
      headers: idempotencyHeader(true, 'the sender'),
      body: giftBody,
      answers: {
        201: {
          description: "the transfer and the gift event's seq",
          body: z.object({ transfer: transferShape, seq: z.int() }),
          headers: { 'Idempotent-Replayed': '`true` when this answers a retry and moved nothing' },
        },
      },
      errors: [
        ...VISIBLE_ROOM_ERRORS,
        [
          'bad_request',
          'no or a malformed `Idempotency-Key`, an unknown `gift`, a `count` not 1–999, an amount (or room total) past 2^53 − 1',
        ],
        ['insufficient_funds', "the sender's balance is short (the message states cost and balance)"],
        ['forbidden', 'the host sending to their own room'],
        ['banned', 'the sender is banned from this room'],
        ['room_ended', 'the room has ended'],
        ['conflict', 'the `Idempotency-Key` was used for another request'],
        ['rate_limited', "over the sender's high-priority write rate (`limits.userHighPerSecond`)"],
        [
          'unavailable',
          'a balance shard is unreachable, or the money moved but its event is not published yet: retry with the same key',
        ],
      ],
    }),
    async (request, reply) => {
      const identity = await ctx.authenticate(request);
      const key = requireIdempotencyKey(request.headers['idempotency-key']);
      const body = parse(giftBody, request.body, 'body');
      const receipt = await gifts.send(identity, request.params.room, key, {
        gift: body.gift,
        count: body.count,
      });
      if (receipt.replayed) reply.header('Idempotent-Replayed', 'true');
      return reply.code(201).send({ transfer: receipt.transfer, seq: receipt.seq });
    },
  );

  app.get(
    '/v1/me/balance',
    routeDoc({
      tag: 'gifts',
      summary: "The caller's balance",
      answers: {
        200: { description: 'in the smallest unit; 0 for a user who never had money', body: balance },
      },
      errors: [['unavailable', "the caller's balance shard is unreachable"]],
    }),
    async (request) => {
      const identity = await ctx.authenticate(request);
      return { balance: await gifts.balance(identity) };
    },
  );

  app.post(
    '/v1/admin/credit',
    routeDoc({
      tag: 'gifts',
      summary: "Top up a user's balance",
      description:
        'Admins only. The same `Idempotency-Key` with the same request answers the same and credits nothing.',
      headers: idempotencyHeader(true, 'the admin'),
      body: creditBody,
      answers: { 200: { description: "the user's balance right after the credit", body: balance } },
      errors: [
        [
          'bad_request',
          'no or a malformed `Idempotency-Key`, a `user` not of a served region, an `amount` not 1 … 2^53 − 1, a balance that would pass 2^53 − 1',
        ],
        ['forbidden', 'the caller is not an admin'],
        ['conflict', 'the `Idempotency-Key` was used for another user or amount'],
        ['unavailable', "the user's balance shard is unreachable"],
      ],
    }),
    async (request) => {
      const identity = await ctx.authenticate(request);
      const key = requireIdempotencyKey(request.headers['idempotency-key']);
      const body = parse(creditBody, request.body, 'body');
      return {
        balance: await gifts.credit(identity, key, { user: body.user, amount: body.amount }),
      };
    },
  );

  app.get<{ Params: { room: string } }>(
    '/v1/rooms/:room/settlement',
    routeDoc({
      tag: 'gifts',
      summary: "A room's settlement",
      description:
        "`open` while the room is live, `settling` from its end until every balance shard's part reached the host, " +
        'then `settled`. The settler runs every `settler.intervalMs` (2 s).',
      params: roomParams,
      answers: {
        200: {
          description: 'the status and everything the room received',
          body: z.object({ status: z.enum(['open', 'settling', 'settled']), total: z.int().min(0) }),
        },
      },
      errors: [
        ...ROOM_LOOKUP_ERRORS,
        ['forbidden', 'the caller is neither the host nor an admin'],
        ['unavailable', 'a balance shard is unreachable'],
      ],
    }),
    async (request) => {
      const identity = await ctx.authenticate(request);
      return gifts.settlement(identity, request.params.room);
    },
  );
}
