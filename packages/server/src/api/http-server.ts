import type { AddressInfo } from 'node:net';
import { RoomcastError } from '@roomcast/protocol';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import type { Logger } from 'pino';
import type { RoomcastConfig } from '../config/config-schema.ts';
import type { RoomcastMetrics } from '../observability/metrics.ts';
import { answerClientError, sendError, toHttpError } from './http-errors.ts';
import { registerJsonBodyParser } from './json-body-parser.ts';

/** What every roomcast HTTP server is built from, whatever it routes. */
export interface HttpServerDeps {
  config: RoomcastConfig;
  metrics: RoomcastMetrics;
  logger: Logger;
}

/**
 * Node's default (16 KiB) would refuse, with 431, a WebSocket URL whose `?token=` is long but
 * valid; with room to spare it reaches the gateway, which closes with 4001 if the token is bad.
 */
const MAX_HEADER_BYTES = 32 * 1024;
/** Longest path segment (`:room`, `:name`); longer is 414 `too_large`. */
const MAX_PARAM_LENGTH = 200;

/**
 * A Fastify server with no routes yet: body limits, request metrics, the 503 while closing, and the
 * error catalogue mapping, so every error leaves as `{"error":{"code","message"}}`, also those the
 * framework and Node's HTTP parser raise (see http-errors.ts). The full API (http-app.ts) and a
 * role that serves only its ops endpoints (the settler) both start from it.
 */
export function buildHttpServer(deps: HttpServerDeps): FastifyInstance {
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
  return app;
}

/**
 * Starts listening on `config.host:config.port` and returns the port and a URL a local client can
 * use (a wildcard listen address is reached through loopback).
 */
export async function listen(
  app: FastifyInstance,
  config: RoomcastConfig,
): Promise<{ port: number; url: string }> {
  await app.listen({ port: config.port, host: config.host, backlog: config.listenBacklog });
  const port = (app.server.address() as AddressInfo).port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${port}`;
  return { port, url };
}
