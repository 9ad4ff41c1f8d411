import { RoomcastError } from '@roomcast/protocol';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import type { Logger } from 'pino';
import type { DevTokenIssuer } from '../adapters/auth/dev-token-issuer.ts';
import type { RoomcastConfig } from '../config/config-schema.ts';
import type { RoomcastCore } from '../core/core.ts';
import type { Identity, TokenVerifier } from '../core/identity.ts';
import type { RoomcastMetrics } from '../observability/metrics.ts';
import type { GatewayStatus } from './admin-stats.ts';
import { answerClientError, sendError, toHttpError } from './http-errors.ts';
import { registerJsonBodyParser } from './json-body-parser.ts';
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

/**
 * Node's default (16 KiB) would refuse, with 431, a WebSocket URL whose `?token=` is long but
 * valid; with room to spare it reaches the gateway, which closes with 4001 if the token is bad.
 */
const MAX_HEADER_BYTES = 32 * 1024;
/** Longest path segment (`:room`, `:name`); longer is 414 `too_large`. */
const MAX_PARAM_LENGTH = 200;

/** What every route handler gets besides the request. */
export interface RouteContext extends HttpAppDeps {
  /** The caller's verified identity; throws 401 without a valid bearer token. */
  authenticate(request: FastifyRequest): Promise<Identity>;
}

/**
 * The HTTP API (Fastify): routes, the error catalogue mapping, body limits and request metrics,
 * plus the built web app (`/`, `/ops`). Every error leaves as `{"error":{"code","message"}}`, also
 * those the framework and Node's HTTP parser raise (see http-errors.ts).
 */
export function buildHttpApp(deps: HttpAppDeps): FastifyInstance {
  const log: FastifyBaseLogger = deps.logger.child({ component: 'http' });
  const app = Fastify({
    loggerInstance: log,
    // Per-request logs would dominate at polling rates; requests are counted in /metrics instead.
    logController: new LogController({ disableRequestLogging: true }),
    http: { maxHeaderSize: MAX_HEADER_BYTES },
    bodyLimit: deps.config.limits.maxBodyBytes,
    // X-Forwarded-* are believed only when a proxy in front sets them (`trustProxy`).
    trustProxy: deps.config.trustProxy,
    // Fastify's own 503 while closing has another body shape; the onRequest hook below answers instead.
    return503OnClosing: false,
    // Shutdown must not wait on idle keep-alive or half-open pull connections.
    forceCloseConnections: true,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // The router's own refusals (a path segment over maxParamLength: 414; bad percent-encoding: 400).
    frameworkErrors: (err, request, reply) => answer(err, request, reply),
    clientErrorHandler: answerClientError,
  });
  registerJsonBodyParser(app, {
    maxDepth: deps.config.limits.jsonMaxDepth,
    maxKeys: deps.config.limits.jsonMaxKeys,
    maxItems: deps.config.limits.jsonMaxItems,
  });

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

  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', async (_request, reply) => {
    if (!closing) return;
    reply.header('Connection', 'close');
    return sendError(reply, new RoomcastError('unavailable', 'the server is shutting down', 1));
  });

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    deps.metrics.httpRequests.inc({ route, status: String(reply.statusCode) });
    deps.metrics.httpDuration.observe({ route }, reply.elapsedTime / 1000);
  });

  const answer = (err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const known = toHttpError(err);
    if (known !== undefined) return sendError(reply, known.error, known.status);
    deps.logger.error({ err, url: request.url, method: request.method }, 'request failed');
    return sendError(reply, new RoomcastError('internal', 'internal error'));
  };
  app.setErrorHandler((err, request, reply) => answer(err, request, reply));
  app.setNotFoundHandler((request, reply) =>
    sendError(
      reply,
      new RoomcastError('not_found', `no route ${request.method} ${request.url.split('?')[0]}`),
    ),
  );

  registerOpsRoutes(app, ctx);
  registerAdminStatsRoutes(app, ctx, deps.gateways ?? []);
  if (deps.drainGateway !== undefined) registerGatewayDrainRoute(app, ctx, deps.drainGateway);
  if (deps.routes === 'ops') return app;
  registerRoomRoutes(app, ctx);
  registerEventRoutes(app, ctx);
  registerStateRoutes(app, ctx);
  registerPeerRoutes(app, ctx);
  registerModerationRoutes(app, ctx);
  registerGiftRoutes(app, ctx);
  if (deps.devTokens !== undefined) registerDevRoutes(app, ctx, deps.devTokens);
  if (deps.webRoot !== null) registerWebApp(app, deps.webRoot ?? defaultWebRoot());
  return app;
}
