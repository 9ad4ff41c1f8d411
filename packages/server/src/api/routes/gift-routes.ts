import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { requireIdempotencyKey } from '../../core/idempotency.ts';
import type { RouteContext } from '../http-app.ts';
import { parse } from '../validation.ts';

// Types are checked by the service, which names the field and the allowed range in its message.
const giftBody = z.object({ gift: z.unknown(), count: z.unknown().optional() });
const creditBody = z.object({ user: z.unknown(), amount: z.unknown() });

/** Gifts and balances: the catalogue, sending gifts, the caller's balance, admin top-ups, settlements. */
export function registerGiftRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.get('/v1/gifts', async (request) => {
    await ctx.authenticate(request);
    return { gifts: ctx.core.gifts.catalogue() };
  });

  app.post<{ Params: { room: string } }>('/v1/rooms/:room/gifts', async (request, reply) => {
    const identity = await ctx.authenticate(request);
    const key = requireIdempotencyKey(request.headers['idempotency-key']);
    const body = parse(giftBody, request.body, 'body');
    const receipt = await ctx.core.gifts.send(identity, request.params.room, key, {
      gift: body.gift,
      count: body.count,
    });
    if (receipt.replayed) reply.header('Idempotent-Replayed', 'true');
    return reply.code(201).send({ transfer: receipt.transfer, seq: receipt.seq });
  });

  app.get('/v1/me/balance', async (request) => {
    const identity = await ctx.authenticate(request);
    return { balance: await ctx.core.gifts.balance(identity) };
  });

  app.post('/v1/admin/credit', async (request) => {
    const identity = await ctx.authenticate(request);
    const key = requireIdempotencyKey(request.headers['idempotency-key']);
    const body = parse(creditBody, request.body, 'body');
    return { balance: await ctx.core.gifts.credit(identity, key, { user: body.user, amount: body.amount }) };
  });

  app.get<{ Params: { room: string } }>('/v1/rooms/:room/settlement', async (request) => {
    const identity = await ctx.authenticate(request);
    return ctx.core.gifts.settlement(identity, request.params.room);
  });
}
