import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MemcachedClusterSpec } from '../src/adapters/memcached/memcached-cluster.ts';
import type {
  PeerClusterCache,
  PeerClusterCacheOptions,
} from '../src/adapters/memcached/peer-cluster-cache.ts';
import type { KvCacheObserver, KvFill, KvReadResult } from '../src/core/ports/kv-cache.ts';
import type { EngineProcess } from '../src/engines/engine-process.ts';
import { eventually } from './helpers/eventually.ts';
import {
  launchMemcachedClusters,
  type MemcachedClusters,
  peerClusterCache,
} from './helpers/memcached-clusters.ts';

/**
 * The seeds' read flow over real memcached: clusters A and B in zone a, C in zone b. A cache built
 * on one cluster alone (same name, so the same salt) is a window onto what that cluster holds.
 */

let clusters: MemcachedClusters | undefined;
const opened: PeerClusterCache[] = [];

beforeAll(async () => {
  clusters = await launchMemcachedClusters([
    { name: 'A', zone: 'a', nodes: 2 },
    { name: 'B', zone: 'a', nodes: 2 },
    { name: 'C', zone: 'b', nodes: 1 },
  ]);
});
afterAll(async () => {
  await Promise.all(opened.map((c) => c.close()));
  await clusters?.stop();
});

function spec(name: string): MemcachedClusterSpec {
  const found = clusters?.specs.find((s) => s.name === name);
  if (found === undefined) throw new Error(`no cluster ${name}`);
  return found;
}

function engineOf(cache: PeerClusterCache, cluster: string, key: string): EngineProcess {
  const node = cache.allClusters.find((c) => c.name === cluster)?.nodeFor(cache.keyOf(key));
  const engine = clusters?.engines.get(cluster)?.find((e) => node?.address === `127.0.0.1:${e.port}`);
  if (engine === undefined) throw new Error(`no node of ${cluster} for ${key}`);
  return engine;
}

/** Reads A first, then B, every time (the scripted stand-in for "a random cluster, then another"). */
const A_THEN_B = (): (() => number) => {
  let call = 0;
  // pickTwo draws twice: 0.1 → the first of two clusters; the second draw picks the only other one.
  return () => (call++ % 2 === 0 ? 0.1 : 0.5);
};
const B_THEN_A = (): (() => number) => () => 0.9;

interface Observed extends KvCacheObserver {
  reads: Array<[string, KvReadResult]>;
  heals: string[];
  loads: number;
  failed: string[];
  recovered: string[];
}

function observed(): Observed {
  const o: Observed = {
    reads: [],
    heals: [],
    loads: 0,
    failed: [],
    recovered: [],
    read: (cluster, result) => o.reads.push([cluster, result]),
    heal: (cluster) => o.heals.push(cluster),
    load: () => {
      o.loads += 1;
    },
    nodeFailed: (cluster) => o.failed.push(cluster),
    nodeRecovered: (cluster) => o.recovered.push(cluster),
  };
  return o;
}

function open(names: readonly string[], options: Partial<PeerClusterCacheOptions> = {}): PeerClusterCache {
  const cache = peerClusterCache(names.map(spec), options);
  opened.push(cache);
  return cache;
}

const ABSENT = '(absent)';
/** What the cluster(s) behind `view` hold for `key`: the value, or ABSENT. */
function held(view: PeerClusterCache, key: string): Promise<string | undefined> {
  return view.read(key, async () => ({ value: ABSENT, ttlSeconds: 0 }));
}

const fill =
  (value: string, ttlSeconds = 60) =>
  async (): Promise<KvFill> => ({ value, ttlSeconds });
const NEVER = async (): Promise<KvFill | undefined> => {
  throw new Error('the clusters should have answered without the loader');
};
const key = (): string => `room:${randomUUID()}`;

/** The state letter of a process (`T`: stopped), from /proc. */
function processState(pid: number | undefined): string | undefined {
  if (pid === undefined) return undefined;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
}

describe('the read flow across peer clusters', () => {
  it('answers a hit in the first cluster without reading the second', async () => {
    const k = key();
    await open(['A']).read(k, fill('live'));
    const o = observed();
    expect(await open(['A', 'B'], { random: A_THEN_B(), observer: o }).read(k, NEVER)).toBe('live');
    expect(o.reads).toEqual([['A', 'hit']]);
  });

  it('heals a miss in the first cluster with the hit in the second', async () => {
    const k = key();
    await open(['B']).read(k, fill('live'));
    const o = observed();
    expect(await open(['A', 'B'], { random: A_THEN_B(), observer: o }).read(k, NEVER)).toBe('live');
    expect(o.reads).toEqual([
      ['A', 'miss'],
      ['B', 'hit'],
    ]);
    expect(o.heals).toEqual(['A']);
    expect(await held(open(['A']), k)).toBe('live');
  });

  it('heals with the lifetime the value has left, never a new one', async () => {
    const k = key();
    const t0 = Date.now();
    await open(['B'], { now: () => t0 }).read(k, fill('live', 100));
    await open(['A', 'B'], { random: A_THEN_B(), now: () => t0 + 98_000 }).read(k, NEVER);
    expect(await held(open(['A'], { now: () => t0 + 99_000 }), k)).toBe('live');
    expect(await held(open(['A'], { now: () => t0 + 101_000 }), k)).toBe(ABSENT);
  });

  it('calls the loader once on a miss in both and fills both', async () => {
    const k = key();
    const o = observed();
    const cache = open(['A', 'B'], { random: B_THEN_A(), observer: o });
    const answers = await Promise.all(Array.from({ length: 10 }, () => cache.read(k, fill('from the db'))));
    expect(new Set(answers)).toEqual(new Set(['from the db']));
    expect(o.loads).toBe(1);
    expect(o.reads).toEqual([
      ['B', 'miss'],
      ['A', 'miss'],
    ]);
    expect(await held(open(['A']), k)).toBe('from the db');
    expect(await held(open(['B']), k)).toBe('from the db');
  });

  it('never overwrites a value another process stored while its loader ran (add, not set)', async () => {
    const k = key();
    let releaseSlow: (fill: KvFill) => void = () => {};
    let slowStarted = false;
    const slow = open(['A', 'B']).read(
      k,
      () =>
        new Promise<KvFill>((resolve) => {
          slowStarted = true;
          releaseSlow = resolve;
        }),
    );
    await eventually('the slow reader to reach its loader', () => slowStarted);
    await open(['A', 'B']).read(k, fill('newer'));
    releaseSlow({ value: 'older', ttlSeconds: 60 });
    expect(await slow).toBe('older');
    expect(await held(open(['A']), k)).toBe('newer');
    expect(await held(open(['B']), k)).toBe('newer');
  });

  it('invalidates in every cluster, including those of another zone', async () => {
    const k = key();
    await open(['A', 'B']).read(k, fill('old'));
    await open(['C', 'A', 'B'], { zone: 'b' }).read(k, fill('old'));
    expect(await held(open(['C'], { zone: 'b' }), k)).toBe('old');
    await open(['A', 'B', 'C']).invalidate(k);
    for (const [name, zone] of [
      ['A', 'a'],
      ['B', 'a'],
      ['C', 'b'],
    ] as const) {
      expect(await held(open([name], { zone }), k), name).toBe(ABSENT);
    }
  });

  it('deletes again after an invalidation, removing a stale value written back meanwhile', async () => {
    const k = key();
    await open(['A', 'B']).read(k, fill('old title'));
    // Long enough that the write-back below lands before the second delete even on a busy machine.
    await open(['A', 'B'], { redeleteAfterMs: 2_000 }).invalidate(k);
    // Another process read the database before the change and writes its answer back now.
    await open(['A', 'B']).read(k, fill('old title'));
    expect(await held(open(['A']), k)).toBe('old title');
    await eventually('the second delete to remove the stale value', async () => {
      const [a, b] = [await held(open(['A']), k), await held(open(['B']), k)];
      return a === ABSENT && b === ABSENT;
    });
  });
});

describe('nodes that fail', () => {
  it('reads on when a node dies, skips it with a back-off, and uses it again once it is back', async () => {
    const k = key();
    const o = observed();
    const cache = open(['A', 'B'], { random: A_THEN_B(), observer: o, backoffMs: 50, backoffMaxMs: 100 });
    await cache.read(k, fill('live'));
    const node = engineOf(cache, 'A', k);
    await node.kill();
    expect(await cache.read(k, NEVER)).toBe('live');
    expect(o.failed).toEqual(['A']);
    // While it is skipped, a read does not wait on it: it counts as unavailable at once.
    o.reads.length = 0;
    expect(await cache.read(k, NEVER)).toBe('live');
    expect(o.reads[0]).toEqual(['A', 'unavailable']);
    await node.restart();
    // It comes back empty: once it is used again, a read heals it from B.
    await eventually('the node to be used again and healed', async () => {
      expect(await cache.read(k, NEVER)).toBe('live');
      return o.recovered.includes('A') && o.heals.includes('A');
    });
    expect(await held(open(['A']), k)).toBe('live');
  });

  it('answers from the database when every node of every cluster in the zone is down', async () => {
    const k = key();
    const o = observed();
    const cache = open(['A', 'B'], { observer: o });
    await cache.read(k, fill('live'));
    const down = [...(clusters?.engines.get('A') ?? []), ...(clusters?.engines.get('B') ?? [])];
    await Promise.all(down.map((e) => e.kill()));
    try {
      const loads = o.loads;
      expect(await cache.read(k, fill('from the db'))).toBe('from the db');
      expect(await cache.read(k, fill('from the db'))).toBe('from the db');
      expect(o.loads).toBe(loads + 2);
      await cache.invalidate(k);
    } finally {
      await Promise.all(down.map((e) => e.restart()));
    }
  });

  it('never serves a value invalidated while its node was unreachable, once the node answers again', async () => {
    const k = key();
    const o = observed();
    const cache = open(['A', 'B'], {
      random: A_THEN_B(),
      observer: o,
      // The frozen node costs one timeout; B must answer within it, so not a tight one.
      timeoutMs: 1_000,
      backoffMs: 50,
      backoffMaxMs: 100,
    });
    await cache.read(k, fill('old title'));
    const node = engineOf(cache, 'A', k);
    node.child.kill('SIGSTOP');
    try {
      await eventually('the node to be stopped', () => processState(node.child.pid) === 'T');
      // A read times out on the frozen node: it is skipped from now on.
      expect(await cache.read(k, NEVER)).toBe('old title');
      expect(o.failed).toEqual(['A']);
      // The invalidation cannot reach it; it is remembered.
      await cache.invalidate(k);
    } finally {
      node.child.kill('SIGCONT');
    }
    const answers = new Set<string | undefined>();
    await eventually('the node to answer again', async () => {
      answers.add(await cache.read(k, fill('new title')));
      return o.recovered.includes('A');
    });
    for (let i = 0; i < 5; i++) answers.add(await cache.read(k, fill('new title')));
    expect(answers).toEqual(new Set(['new title']));
    expect(await held(open(['A']), k)).toBe('new title');
  });
});
