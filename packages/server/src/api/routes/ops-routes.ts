import { RoomcastError } from '@roomcast/protocol';
import type { FastifyInstance } from 'fastify';
import type { RouteContext } from '../http-app.ts';
import { sendError } from '../http-errors.ts';

/** `/healthz` (alive), `/readyz` (dependencies reachable), `/metrics` (Prometheus text). */
export function registerOpsRoutes(app: FastifyInstance, ctx: RouteContext): void {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const checks: Array<[string, () => Promise<void>]> = [
      ['rooms', () => ctx.core.rooms.ping()],
      ['ledger', () => ctx.core.gifts.ping()],
      ['collections', () => ctx.core.collections.ping()],
      ['bus', () => ctx.core.bus.ping()],
      ...ctx.readiness.map((check, i): [string, () => Promise<void>] => [`check${i}`, check]),
    ];
    const results = await Promise.all(
      checks.map(async ([name, check]) => {
        try {
          await withTimeout(check(), 2000);
          return [name, 'ok'] as const;
        } catch (err) {
          return [name, (err as Error).message] as const;
        }
      }),
    );
    const failed = results.filter(([, status]) => status !== 'ok');
    if (failed.length > 0) {
      return sendError(
        reply,
        new RoomcastError('unavailable', failed.map(([n, s]) => `${n}: ${s}`).join('; ')),
      );
    }
    return { status: 'ready', checks: Object.fromEntries(results) };
  });

  app.get('/metrics', async (_request, reply) => {
    const { contentType, body } = await ctx.metrics.render();
    return reply.header('Content-Type', contentType).send(body);
  });
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms);
    work.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}
