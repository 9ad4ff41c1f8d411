import { join } from 'node:path';
import type { Logger } from 'pino';
import { addressText, SentinelMasters } from '../adapters/redis/sentinel-masters.ts';
import { buildHttpServer } from '../api/http-server.ts';
import { registerOpsEndpoints } from '../api/routes/ops-routes.ts';
import type { RoomcastConfig } from '../config/config-schema.ts';
import { RoomcastMetrics } from '../observability/metrics.ts';
import { ShardProxy } from '../shard-proxy/shard-proxy.ts';
import { listen } from './role-http.ts';

/** A running `roomcast shard-proxy`. */
export interface RunningShardProxy {
  proxy: ShardProxy;
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Thrown when the configuration names no Sentinel. */
export class ShardProxyConfigError extends Error {
  override readonly name = 'ShardProxyConfigError';
}

/**
 * `roomcast shard-proxy`: the nutcracker (Twemproxy) instances in front of the collections shards
 * (`shardProxy.listen`, two by default), kept pointed at each shard's master as Redis Sentinel
 * names it (`shardProxy.sentinels`, `shardProxy.shards`): on a failover it rewrites their pool and
 * restarts them one at a time, and it restarts one that died. Give the roles every listen address
 * (`collections.redisUrl` and `collections.redisProxies`). Serves `/healthz`, `/readyz` (every
 * instance runs) and `/metrics` on `host:port`; keeps the instances' configs and logs in
 * `<dataDir>/shard-proxy`.
 */
export async function startShardProxy(config: RoomcastConfig, logger: Logger): Promise<RunningShardProxy> {
  const settings = config.shardProxy;
  if (settings.sentinels.length === 0) {
    throw new ShardProxyConfigError(
      'roomcast shard-proxy needs shardProxy.sentinels (ROOMCAST_SHARD_PROXY_SENTINELS): the Sentinels watching the collections shards',
    );
  }
  const metrics = new RoomcastMetrics();
  const proxyLogger = logger.child({ component: 'shard-proxy' });
  const proxy = new ShardProxy({
    masters: new SentinelMasters({
      sentinels: settings.sentinels,
      onError: (err, sentinel) => proxyLogger.debug({ err: err.message, sentinel }, 'Sentinel call failed'),
    }),
    shards: settings.shards,
    listen: settings.listen.map((text) => {
      const at = text.lastIndexOf(':');
      return { host: text.slice(0, at), port: Number(text.slice(at + 1)) };
    }),
    dataDir: join(config.dataDir, 'shard-proxy'),
    recheckMs: settings.recheckMs,
    logger: proxyLogger,
    metrics,
  });
  const app = buildHttpServer({ config, metrics, logger });
  registerOpsEndpoints(app, {
    metrics,
    checks: () => [
      {
        name: 'nutcracker',
        ping: async () => {
          if (!proxy.running()) throw new Error('a nutcracker instance is not running');
        },
      },
    ],
  });
  try {
    await proxy.start();
  } catch (err) {
    await proxy.close().catch(() => undefined);
    await app.close();
    throw err;
  }
  let address: { port: number; url: string };
  try {
    address = await listen(app, config);
  } catch (err) {
    await proxy.close();
    await app.close();
    throw err;
  }
  logger.info(
    { masters: Object.fromEntries([...proxy.masters()].map(([name, a]) => [name, addressText(a)])) },
    'shard proxy pointing at the masters',
  );
  let closing: Promise<void> | undefined;
  return {
    proxy,
    ...address,
    close: () => {
      closing ??= (async () => {
        await app.close();
        await proxy.close();
      })();
      return closing;
    },
  };
}
