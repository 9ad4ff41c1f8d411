import type { Logger } from 'pino';
import type { KvCacheObserver } from '../core/ports/kv-cache.ts';
import type { RoomcastMetrics } from './metrics.ts';

/** A KvCacheObserver that counts into `metrics` and logs node failures and recoveries. */
export function kvCacheObserver(metrics: RoomcastMetrics | undefined, logger?: Logger): KvCacheObserver {
  return {
    read: (cluster, result) => metrics?.kvCacheReads.inc({ cluster, result }),
    heal: (cluster) => metrics?.kvCacheHeals.inc({ cluster }),
    load: () => metrics?.kvCacheLoads.inc(),
    nodeFailed: (cluster, node, err) => {
      metrics?.kvCacheErrors.inc({ cluster });
      metrics?.kvCacheNodesDown.inc({ cluster });
      logger?.warn(
        { cluster, node, err: err instanceof Error ? err.message : String(err) },
        'memcached node failed; skipping it for a while (reads fall through to another cluster)',
      );
    },
    nodeRecovered: (cluster, node) => {
      metrics?.kvCacheNodesDown.dec({ cluster });
      logger?.info({ cluster, node }, 'memcached node answers again');
    },
  };
}
