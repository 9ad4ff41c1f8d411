import type { Logger } from 'pino';
import { buildHttpApp } from '../api/http-app.ts';
import type { RoomcastConfig } from '../config/config-schema.ts';

import type { Gateway } from '../gateway/gateway.ts';
import { RoomcastMetrics } from '../observability/metrics.ts';
import { assertClusterConfig, createCoreOn, openInfrastructure } from './infrastructure.ts';
import {
  announcedWebSocketUrl,
  createVerifier,
  listen,
  serveWebSocket,
  startGatewayCore,
} from './role-http.ts';

/** A running `roomcast gateway`. */
export interface RunningGateway {
  /** http://host:port (WebSocket at ws://host:port/v1/ws). */
  url: string;
  port: number;
  gateway: Gateway;
  /** Resolves once an admin drain (`POST /v1/admin/gateways/:id/drain`) has finished: time to exit. */
  drained: Promise<void>;
  /** Stops; with `drain`, clients are first told to reconnect elsewhere in paced batches. */
  close(options?: { drain?: boolean }): Promise<void>;
}

/**
 * `roomcast gateway`: holds client WebSocket connections (`/v1/ws`) and fans out room signals it
 * gets from the bus; serves only `/healthz`, `/readyz`, `/metrics`, admin stats and its drain
 * route over HTTP (the API runs in `roomcast api`). Its only state is its connections: room
 * history, presence and the connection registry live in the shared collections, so any number of
 * gateways serve one room and a client may resume on any of them.
 */
export async function startGateway(config: RoomcastConfig, logger: Logger): Promise<RunningGateway> {
  assertClusterConfig(config, 'gateway');
  const metrics = new RoomcastMetrics();
  // A gateway moves no money: no balance-shard pools, so a ledger outage never touches it.
  const infra = await openInfrastructure(config, logger, metrics, { ledger: false });
  try {
    const core = createCoreOn(infra, config, metrics, logger);
    const verifier = createVerifier(config, config.jwt.secret);
    const gateway = await startGatewayCore(config, core, metrics, logger, verifier);
    let markDrained: () => void = () => undefined;
    const drained = new Promise<void>((resolve) => {
      markDrained = resolve;
    });
    const app = buildHttpApp({
      config,
      core,
      verifier,
      metrics,
      logger,
      readiness: [],
      gateways: [gateway],
      webRoot: null,
      routes: 'ops',
      drainGateway: (id) => {
        if (id !== gateway.id) return false;
        gateway.drain(config.gateway.drainDeadlineMs).then(markDrained, (err: unknown) => {
          logger.error({ err }, 'drain failed');
          markDrained();
        });
        return true;
      },
    });
    const ws = serveWebSocket(app, { config, gateway, verifier, metrics, logger });
    const { port, url } = await listen(app, config);
    await gateway.advertise(config.gateway.group, announcedWebSocketUrl(config, url, logger));
    let closing: Promise<void> | undefined;
    return {
      url,
      port,
      gateway,
      drained,
      close: (options = {}) => {
        closing ??= (async () => {
          if (options.drain === true) await gateway.drain(config.gateway.drainDeadlineMs);
          await gateway.stop();
          await ws.close();
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
