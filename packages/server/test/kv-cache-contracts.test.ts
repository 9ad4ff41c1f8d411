import { afterAll, beforeAll } from 'vitest';
import { LruKvCache } from '../src/adapters/memory/lru-kv-cache.ts';
import type { KvCache } from '../src/core/ports/kv-cache.ts';
import { describeKvCacheContract } from './contracts/kv-cache-contract.ts';
import {
  launchMemcachedClusters,
  type MemcachedClusters,
  peerClusterCache,
} from './helpers/memcached-clusters.ts';

const MAX_VALUE_BYTES = 64 * 1024;

describeKvCacheContract('in-process LRU', async () => {
  const open = (): KvCache => new LruKvCache({ maxBytes: 8 * 1024 * 1024, maxValueBytes: MAX_VALUE_BYTES });
  const cache = open();
  return { cache, open, maxValueBytes: MAX_VALUE_BYTES, close: () => cache.close() };
});

let one: MemcachedClusters | undefined;
let several: MemcachedClusters | undefined;
beforeAll(async () => {
  [one, several] = await Promise.all([
    launchMemcachedClusters([{ name: 'solo', zone: 'a', nodes: 2 }]),
    launchMemcachedClusters([
      { name: 'a1', zone: 'a', nodes: 2 },
      { name: 'a2', zone: 'a', nodes: 1 },
      { name: 'a3', zone: 'a', nodes: 3 },
      { name: 'b1', zone: 'b', nodes: 1 },
    ]),
  ]);
});
afterAll(async () => {
  await Promise.all([one?.stop(), several?.stop()]);
});

function memcachedFixture(clusters: () => MemcachedClusters | undefined) {
  return async () => {
    const specs = clusters()?.specs;
    if (specs === undefined) throw new Error('memcached did not start');
    const open = (): KvCache => peerClusterCache(specs, { maxValueBytes: MAX_VALUE_BYTES });
    const cache = open();
    return { cache, open, maxValueBytes: MAX_VALUE_BYTES, close: () => cache.close() };
  };
}

describeKvCacheContract(
  'memcached, one cluster of two nodes',
  memcachedFixture(() => one),
);
describeKvCacheContract(
  'memcached, three clusters in the zone and one in another',
  memcachedFixture(() => several),
);
