import { RoomcastError } from '@roomcast/protocol';
import type { FastifyInstance } from 'fastify';
import type { RoomcastMetrics } from '../../observability/metrics.ts';
import type { RouteContext } from '../http-app.ts';
import { sendError } from '../http-errors.ts';

/** A dependency `/readyz` pings, named as its failure is reported (`ledger: connection refused`). */
export interface ReadinessCheck {
  readonly name: string;
  ping(): Promise<void>;
}

/** How long `/readyz` waits for one dependency before it counts as down. */
const READINESS_TIMEOUT_MS = 2000;

/** `/healthz`, `/readyz` (rooms, ledger, collections, bus and the extra checks), `/metrics` of the API. */
export function registerOpsRoutes(app: FastifyInstance, ctx: RouteContext): void {
  registerOpsEndpoints(app, {
    metrics: ctx.metrics,
    checks: () => [
      { name: 'rooms', ping: () => ctx.core.rooms.ping() },
      { name: 'ledger', ping: () => ctx.core.gifts.ping() },
      { name: 'collections', ping: () => ctx.core.collections.ping() },
      { name: 'bus', ping: () => ctx.core.bus.ping() },
      ...ctx.readiness.map((ping, i) => ({ name: `check${i}`, ping })),
    ],
  });
}

/**
 * The ops endpoints every role serves, with a core or without one (the settler): `/healthz`
 * (alive), `/readyz` (every check answers within 2 s, else 503 `unavailable` naming those that did
 * not), `/metrics` (Prometheus text of `metrics`).
 */
export function registerOpsEndpoints(
  app: FastifyInstance,
  deps: { metrics: RoomcastMetrics; checks: () => readonly ReadinessCheck[] },
): void {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const results = await Promise.all(
      deps.checks().map(async ({ name, ping }) => {
        try {
          await withTimeout(ping(), READINESS_TIMEOUT_MS);
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
    const { contentType, body } = await deps.metrics.render();
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
