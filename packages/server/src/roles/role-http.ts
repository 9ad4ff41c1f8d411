import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { JoseTokenVerifier } from '../adapters/auth/jose-token-verifier.ts';
import type { RoomcastConfig } from '../config/config-schema.ts';
import type { RoomcastCore } from '../core/core.ts';
import type { TokenVerifier } from '../core/identity.ts';
import { jsonLimitsOf } from '../core/json-limits.ts';
import { Gateway } from '../gateway/gateway.ts';
import { attachWebSocketServer } from '../gateway/ws-server.ts';
import type { RoomcastMetrics } from '../observability/metrics.ts';

/** The token verifier every serving role uses: HS256 with `secret`, or the JWKS of `jwt.jwksUrl`. */
export function createVerifier(config: RoomcastConfig, secret: string | undefined): JoseTokenVerifier {
  return new JoseTokenVerifier({
    ...(secret === undefined ? {} : { secret }),
    ...(config.jwt.jwksUrl === undefined ? {} : { jwksUrl: config.jwt.jwksUrl }),
    ...(config.jwt.issuer === undefined ? {} : { issuer: config.jwt.issuer }),
    ...(config.jwt.audience === undefined ? {} : { audience: config.jwt.audience }),
    clockToleranceSeconds: config.jwt.clockToleranceSeconds,
    regions: config.regions,
  });
}

// Lives with the server it starts, so the settler can listen without loading the gateway.
export { listen } from '../api/http-server.ts';

/** A gateway with this process's ID (configured or random), started: subscribed to its own bus channel. */
export async function startGatewayCore(
  config: RoomcastConfig,
  core: RoomcastCore,
  metrics: RoomcastMetrics,
  logger: Logger,
  verifier: TokenVerifier,
): Promise<Gateway> {
  const gateway = new Gateway({
    gatewayId: config.gatewayId ?? `gw-${randomBytes(4).toString('hex')}`,
    core,
    metrics,
    verifier,
    logger: logger.child({ component: 'gateway' }),
    options: {
      ...config.gateway,
      historyCapacity: config.history.capacity,
      jsonLimits: jsonLimitsOf(config.limits),
      enterEventIntervalMs: config.limits.enterEventIntervalSeconds * 1000,
    },
  });
  await gateway.start();
  return gateway;
}

/** Serves `/v1/ws` for `gateway` on the app's HTTP server. */
export function serveWebSocket(
  app: FastifyInstance,
  deps: {
    config: RoomcastConfig;
    gateway: Gateway;
    verifier: TokenVerifier;
    metrics: RoomcastMetrics;
    logger: Logger;
  },
): { close(): Promise<void> } {
  return attachWebSocketServer(app.server, {
    gateway: deps.gateway,
    verifier: deps.verifier,
    logger: deps.logger.child({ component: 'ws' }),
    metrics: deps.metrics,
    maxFrameBytes: deps.config.gateway.maxFrameBytes,
  });
}

/**
 * The WebSocket URL a gateway announces to dispatch: `publicUrl` (as ws/wss) when set, else the
 * local URL it listens on — which only loopback clients can use when it listens on a wildcard
 * address, so that case is logged.
 */
export function announcedWebSocketUrl(config: RoomcastConfig, localUrl: string, logger: Logger): string {
  if (config.publicUrl === undefined && (config.host === '0.0.0.0' || config.host === '::')) {
    logger.warn(
      { localUrl },
      'gateway listens on a wildcard address without publicUrl (ROOMCAST_PUBLIC_URL): dispatch announces a loopback URL',
    );
  }
  const base = (config.publicUrl ?? localUrl).replace(/^http/, 'ws').replace(/\/+$/, '');
  return `${base}/v1/ws`;
}
