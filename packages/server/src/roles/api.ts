import type { Logger } from 'pino';
import { buildHttpApp } from '../api/http-app.ts';
import type { RoomcastConfig } from '../config/config-schema.ts';
import type { RoomcastCore } from '../core/core.ts';
import { RoomcastMetrics } from '../observability/metrics.ts';
import { assertClusterConfig, createCoreOn, openInfrastructure } from './infrastructure.ts';
import { createVerifier, listen } from './role-http.ts';

/** A running `roomcast api`. */
export interface RunningApi {
  /** http://host:port */
  url: string;
  port: number;
  core: RoomcastCore;
  close(): Promise<void>;
}

/**
 * `roomcast api`: the HTTP API — rooms, events, state, pull endpoints, peer sends, moderation,
 * gifts, the web app — and no WebSocket. Stateless: events get their seq from the shared history
 * and go out on the bus to whichever gateways serve the room; peer signals go to the gateways the
 * registry names. Run as many as needed behind a load balancer (routed by room ID for cache hits).
 */
export async function startApi(config: RoomcastConfig, logger: Logger): Promise<RunningApi> {
  assertClusterConfig(config, 'api');
  const metrics = new RoomcastMetrics();
  const infra = await openInfrastructure(config, logger, metrics);
  try {
    const core = createCoreOn(infra, config, metrics, logger);
    const app = buildHttpApp({
      config,
      core,
      verifier: createVerifier(config, config.jwt.secret),
      metrics,
      logger,
      readiness: [],
    });
    const { port, url } = await listen(app, config);
    let closing: Promise<void> | undefined;
    return {
      url,
      port,
      core,
      close: () => {
        closing ??= (async () => {
          await app.close();
          await infra.close();
        })();
        return closing;
      },
    };
  } catch (err) {
    await infra.close().catch(() => undefined);
    throw err;
  }
}
