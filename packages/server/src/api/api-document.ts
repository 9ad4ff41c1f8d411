import { RoomcastError } from '@roomcast/protocol';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { DevTokenIssuer } from '../adapters/auth/dev-token-issuer.ts';
import { loadConfig } from '../config/load-config.ts';
import type { RoomcastCore } from '../core/core.ts';
import type { GiftService } from '../core/gift-service.ts';
import { RoomcastMetrics } from '../observability/metrics.ts';
import { buildHttpApp } from './http-app.ts';

/**
 * The HTTP API with every route any role serves (dev tokens and gateway drain included) and no
 * web app, built only to be described: its dependencies are never called, because it serves no
 * request but `GET /v1/openapi.json`. docs/api.md is rendered from its document.
 */
export function buildReferenceApp(): FastifyInstance {
  const config = loadConfig({ env: {}, roleDefaults: { devMode: true } });
  return buildHttpApp({
    config,
    // With gifts, so that the gift routes are registered (and described) as on an API node.
    core: notServed<RoomcastCore>('core', { gifts: notServed<GiftService>('core.gifts') }),
    verifier: {
      verify: () => Promise.reject(new RoomcastError('unauthorized', 'the reference app verifies no token')),
    },
    metrics: new RoomcastMetrics({ defaultMetrics: false }),
    logger: pino({ level: 'silent' }),
    devTokens: new DevTokenIssuer('the reference app issues no token'),
    readiness: [],
    gateways: [],
    webRoot: null,
    drainGateway: () => false,
  });
}

/** The OpenAPI document of every route (see `buildReferenceApp`). */
export async function referenceApiDocument(): Promise<unknown> {
  const app = buildReferenceApp();
  try {
    await app.ready();
    return app.swagger();
  } finally {
    await app.close();
  }
}

/**
 * A dependency the reference app holds but never calls: any use is a bug, and says so. `present`
 * are the properties the app looks at while it registers routes (whether a service exists).
 */
function notServed<T extends object>(name: string, present: Partial<T> = {}): T {
  return new Proxy({} as T, {
    get: (_target, key) => {
      // Promise resolution and inspection probe these; they are not uses.
      if (key === 'then' || typeof key === 'symbol') return undefined;
      if (key in present) return present[key as keyof T];
      throw new Error(`the reference API app serves no requests (${name}.${key})`);
    },
  });
}
