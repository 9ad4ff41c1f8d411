import type { MemcachedClusterSpec } from '../../src/adapters/memcached/memcached-cluster.ts';
import {
  PeerClusterCache,
  type PeerClusterCacheOptions,
} from '../../src/adapters/memcached/peer-cluster-cache.ts';
import type { EngineProcess } from '../../src/engines/engine-process.ts';
import { launchMemcached } from '../../src/engines/memcached-launcher.ts';

export interface ClusterShape {
  name: string;
  zone: string;
  nodes: number;
}

export interface MemcachedClusters {
  specs: MemcachedClusterSpec[];
  /** The processes by cluster name, in node order. */
  engines: ReadonlyMap<string, readonly EngineProcess[]>;
  stop(): Promise<void>;
}

/** Starts a memcached process for every node of every cluster, on free loopback ports. */
export async function launchMemcachedClusters(shapes: readonly ClusterShape[]): Promise<MemcachedClusters> {
  const engines = new Map<string, EngineProcess[]>();
  const all: EngineProcess[] = [];
  try {
    for (const shape of shapes) {
      const nodes = await Promise.all(
        Array.from({ length: shape.nodes }, () => launchMemcached({ memoryMb: 16 })),
      );
      all.push(...nodes);
      engines.set(shape.name, nodes);
    }
  } catch (err) {
    await Promise.all(all.map((e) => e.stop()));
    throw err;
  }
  return {
    specs: shapes.map((shape) => ({
      name: shape.name,
      zone: shape.zone,
      nodes: (engines.get(shape.name) ?? []).map((e) => `127.0.0.1:${e.port}`),
    })),
    engines,
    stop: async () => {
      await Promise.all(all.map((e) => e.stop()));
    },
  };
}

/** Defaults for tests: the product's, with a short back-off so recovery is quick to observe. */
export function peerClusterCache(
  clusters: readonly MemcachedClusterSpec[],
  options: Partial<PeerClusterCacheOptions> = {},
): PeerClusterCache {
  return new PeerClusterCache({
    clusters,
    zone: clusters[0]?.zone ?? 'a',
    keyPrefix: 'test:',
    // A limit for a busy machine: killed nodes fail at once (refused), so it costs nothing there.
    timeoutMs: 2_000,
    backoffMs: 100,
    backoffMaxMs: 400,
    missedDeletesMax: 1_000,
    maxValueBytes: 64 * 1024,
    redeleteAfterMs: 0,
    ...options,
  });
}
