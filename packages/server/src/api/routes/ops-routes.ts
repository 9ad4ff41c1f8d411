import { RoomcastError } from '@roomcast/protocol';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { RoomcastMetrics } from '../../observability/metrics.ts';
import type { RouteContext } from '../http-app.ts';
import { sendError } from '../http-errors.ts';
import { routeDoc } from '../openapi.ts';

/** A dependency `/readyz` pings, named as its failure is reported (`ledger: connection refused`). */
export interface ReadinessCheck {
  readonly name: string;
  ping(): Promise<void>;
}

/** How long `/readyz` waits for one dependency before it counts as down. */
const READINESS_TIMEOUT_MS = 2000;

/** `/healthz`, `/readyz` (rooms, the ledger where the core has one, collections, bus and the extra checks), `/metrics`. */
export function registerOpsRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const gifts = ctx.core.gifts;
  registerOpsEndpoints(app, {
    metrics: ctx.metrics,
    checks: () => [
      { name: 'rooms', ping: () => ctx.core.rooms.ping() },
      ...(gifts === undefined ? [] : [{ name: 'ledger', ping: () => gifts.ping() }]),
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
  const healthz = routeDoc({
    tag: 'ops',
    summary: 'Liveness',
    description: 'The process serves HTTP; it checks no dependency.',
    auth: 'none',
    answers: { 200: { description: 'alive', body: z.object({ status: z.literal('ok') }) } },
  });
  app.get('/healthz', healthz, async () => ({ status: 'ok' }));

  const readyz = routeDoc({
    tag: 'ops',
    summary: 'Readiness: every dependency reachable',
    description:
      'Checks the rooms database, every balance shard (`ledger`), the collections and a round trip on each bus ' +
      'connection, each within 2 s.',
    auth: 'none',
    answers: {
      200: {
        description: 'ready',
        body: z.object({
          status: z.literal('ready'),
          checks: z
            .record(z.string(), z.literal('ok'))
            .describe('by check: `rooms`, `ledger`, `collections`, `bus`, …'),
        }),
      },
    },
    errors: [['unavailable', 'a check failed or did not answer in 2 s (the message names each)']],
  });
  app.get('/readyz', readyz, async (_request, reply) => {
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

  const metrics = routeDoc({
    tag: 'ops',
    summary: 'Prometheus metrics',
    description: "roomcast's series are `roomcast_*`, the process's `roomcast_process_*`.",
    auth: 'none',
    answers: {
      200: { description: 'the text exposition format', body: z.string(), mediaType: 'text/plain' },
    },
  });
  app.get('/metrics', metrics, async (_request, reply) => {
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
