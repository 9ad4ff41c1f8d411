import { RoomcastError } from '@roomcast/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { DevTokenIssuer } from '../adapters/auth/dev-token-issuer.ts';
import type { RoomcastConfig } from '../config/config-schema.ts';
import type { RoomcastCore } from '../core/core.ts';
import type { Identity, TokenVerifier } from '../core/identity.ts';
import type { RoomcastMetrics } from '../observability/metrics.ts';
import type { GatewayStatus } from './admin-stats.ts';
import { buildHttpServer } from './http-server.ts';
import { registerOpenApi, registerOpenApiRoute } from './openapi.ts';
import { registerAdminStatsRoutes } from './routes/admin-stats-routes.ts';
import { registerDevRoutes } from './routes/dev-routes.ts';
import { registerEventRoutes } from './routes/event-routes.ts';
import { registerGatewayDrainRoute } from './routes/gateway-drain-route.ts';
import { registerGiftRoutes } from './routes/gift-routes.ts';
import { registerModerationRoutes } from './routes/moderation-routes.ts';
import { registerOpsRoutes } from './routes/ops-routes.ts';
import { registerPeerRoutes } from './routes/peer-routes.ts';
import { registerRoomRoutes } from './routes/room-routes.ts';
import { registerStateRoutes } from './routes/state-routes.ts';
import { defaultWebRoot, registerWebApp } from './web-app.ts';

export interface HttpAppDeps {
  config: RoomcastConfig;
  core: RoomcastCore;
  verifier: TokenVerifier;
  metrics: RoomcastMetrics;
  logger: Logger;
  /** Present only in dev mode. */
  devTokens?: DevTokenIssuer;
  /** Extra readiness checks (the gateway's bus, …). */
  readiness: Array<() => Promise<void>>;
  /** The gateways of this process, for `GET /v1/admin/stats`. */
  gateways?: readonly GatewayStatus[];
  /** The built web app's directory (default: `packages/web/dist`); null serves no web app. */
  webRoot?: string | null;
  /**
   * `all` (default): the whole API. `ops`: only `/healthz`, `/readyz`, `/metrics`, the admin
   * stats and gateway drain — what a `roomcast gateway` or `roomcast worker` serves besides its job.
   */
  routes?: 'all' | 'ops';
  /**
   * Starts draining this process's gateway `id`; false when no gateway of that ID lives here.
   * Serves `POST /v1/admin/gateways/:id/drain` when given.
   */
  drainGateway?: (id: string) => boolean;
}

/** What every route handler gets besides the request. */
export interface RouteContext extends HttpAppDeps {
  /** The caller's verified identity; throws 401 without a valid bearer token. */
  authenticate(request: FastifyRequest): Promise<Identity>;
}

/**
 * The HTTP API: its routes and the built web app (`/`, `/ops`) on a `buildHttpServer` server,
 * which maps every error into the catalogue and counts requests in /metrics.
 */
export function buildHttpApp(deps: HttpAppDeps): FastifyInstance {
  const app = buildHttpServer(deps);
  const ctx: RouteContext = {
    ...deps,
    authenticate: async (request) => {
      const header = request.headers.authorization;
      if (header === undefined || !header.startsWith('Bearer ')) {
        throw new RoomcastError('unauthorized', 'send Authorization: Bearer <token>');
      }
      return deps.verifier.verify(header.slice(7).trim());
    },
  };

  registerOpenApi(app);
  // Inside a plugin, so that the routes are added after swagger has loaded (see openapi.ts).
  void app.register(async (api) => {
    registerOpenApiRoute(api);
    registerOpsRoutes(api, ctx);
    registerAdminStatsRoutes(api, ctx, deps.gateways ?? []);
    if (deps.drainGateway !== undefined) registerGatewayDrainRoute(api, ctx, deps.drainGateway);
    if (deps.routes === 'ops') return;
    registerRoomRoutes(api, ctx);
    registerEventRoutes(api, ctx);
    registerStateRoutes(api, ctx);
    registerPeerRoutes(api, ctx);
    registerModerationRoutes(api, ctx);
    // A core without the ledger (the gateway's) has no gifts: no gift routes, 404.
    if (ctx.core.gifts !== undefined) registerGiftRoutes(api, ctx, ctx.core.gifts);
    if (deps.devTokens !== undefined) registerDevRoutes(api, ctx, deps.devTokens);
    if (deps.webRoot !== null) registerWebApp(api, deps.webRoot ?? defaultWebRoot());
  });
  return app;
}
