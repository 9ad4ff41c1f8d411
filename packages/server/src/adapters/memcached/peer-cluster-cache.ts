import { KeyedLoads } from '../../core/keyed-loads.ts';
import type { KvCache, KvCacheObserver, KvFill } from '../../core/ports/kv-cache.ts';
import { memcachedKeyOf } from './cache-keys.ts';
import { MemcachedCluster, type MemcachedClusterSpec } from './memcached-cluster.ts';
import type { NodeRead } from './memcached-node.ts';

export interface PeerClusterCacheOptions {
  /** Every cluster of every zone: reads use this zone's, invalidations reach all of them. */
  clusters: readonly MemcachedClusterSpec[];
  /** This process's zone; at least one cluster must be in it. */
  zone: string;
  /** Starts every memcached key, so deployments can share clusters. */
  keyPrefix: string;
  timeoutMs: number;
  backoffMs: number;
  backoffMaxMs: number;
  missedDeletesMax: number;
  /** A larger value (with its envelope) is answered but not kept; memcached refuses items over 1 MiB. */
  maxValueBytes: number;
  /**
   * An invalidation deletes the key again this long after, which removes a stale value that a
   * reader on another process wrote back in between (it read the database before the change).
   * 0: once only.
   */
  redeleteAfterMs: number;
  observer?: KvCacheObserver;
  /** Picks clusters; tests pass a scripted one. Returns [0, 1). */
  random?: () => number;
  now?: () => number;
}

/** Memcached's limit: an exptime above 30 days is read as a Unix time. */
const MAX_TTL_SECONDS = 30 * 24 * 3600;

/**
 * The Memcached KvCache: several equivalent peer clusters per zone, no proxy. A read follows the
 * flow of the design's seeds, exactly:
 * 1. pick a random cluster of this zone, hash the key to its node, read; a hit answers;
 * 2. on a miss, pick another random cluster of the zone and read; on a hit there, write the value
 *    back to the first node (heal its miss) and answer;
 * 3. on a miss in both, call the loader (the database) and write its value back to both.
 * Write-backs use `add`, so they never overwrite a value another process stored meanwhile. A node
 * that is down counts as a miss that cannot be healed; nothing fails because a cache node failed.
 *
 * Values are stored as `<expiry, Unix seconds>\n<value>`: a heal writes the remaining lifetime,
 * so copying a value between clusters never extends how long it may be served.
 */
export class PeerClusterCache implements KvCache {
  private readonly clusters: readonly MemcachedCluster[];
  private readonly local: readonly MemcachedCluster[];
  private readonly loads = new KeyedLoads<string, string | undefined>();
  private readonly redeletes = new Set<NodeJS.Timeout>();
  private readonly random: () => number;
  private readonly now: () => number;
  private closed = false;

  constructor(private readonly options: PeerClusterCacheOptions) {
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
    const observer = options.observer;
    this.clusters = options.clusters.map(
      (spec) =>
        new MemcachedCluster(spec, (address) => ({
          address,
          timeoutMs: options.timeoutMs,
          backoffMs: options.backoffMs,
          backoffMaxMs: options.backoffMaxMs,
          missedDeletesMax: options.missedDeletesMax,
          onFailed: (err) => observer?.nodeFailed(spec.name, address, err),
          onRecovered: () => observer?.nodeRecovered(spec.name, address),
          now: this.now,
        })),
    );
    this.local = this.clusters.filter((c) => c.zone === options.zone);
    if (this.local.length === 0) throw new RangeError(`no memcached cluster is in zone ${options.zone}`);
  }

  /** The clusters, for tests and the availability benchmark. */
  get allClusters(): readonly MemcachedCluster[] {
    return this.clusters;
  }

  /** The memcached key a cache key is stored under. */
  keyOf(key: string): string {
    return memcachedKeyOf(this.options.keyPrefix, key);
  }

  read(key: string, load: () => Promise<KvFill | undefined>): Promise<string | undefined> {
    if (this.closed) return load().then((fill) => fill?.value);
    const k = this.keyOf(key);
    return this.loads.run(k, (isStale) => this.readThrough(k, load, isStale));
  }

  async invalidate(key: string): Promise<void> {
    const k = this.keyOf(key);
    this.loads.invalidate(k);
    await this.deleteEverywhere(k);
    if (this.options.redeleteAfterMs > 0 && !this.closed) {
      const timer = setTimeout(() => {
        this.redeletes.delete(timer);
        void this.deleteEverywhere(k);
      }, this.options.redeleteAfterMs);
      timer.unref();
      this.redeletes.add(timer);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.redeletes) clearTimeout(timer);
    this.redeletes.clear();
    for (const cluster of this.clusters) cluster.close();
  }

  private async readThrough(
    k: string,
    load: () => Promise<KvFill | undefined>,
    isStale: () => boolean,
  ): Promise<string | undefined> {
    const [first, second] = this.pickTwo();
    const firstNode = first.nodeFor(k);
    const a = this.open(await firstNode.get(k));
    this.options.observer?.read(first.name, a.kind);
    if (a.kind === 'hit') return a.value;
    const secondNode = second?.nodeFor(k);
    if (second !== undefined && secondNode !== undefined) {
      const b = this.open(await secondNode.get(k));
      this.options.observer?.read(second.name, b.kind);
      if (b.kind === 'hit') {
        const ttl = b.expiresAt - this.nowSeconds();
        if (a.kind === 'miss' && ttl >= 1 && !isStale()) {
          if (await firstNode.add(k, b.stored, ttl)) this.options.observer?.heal(first.name);
        }
        return b.value;
      }
    }
    this.options.observer?.load();
    const fill = await load();
    if (fill === undefined) return undefined;
    const ttl = Math.min(fill.ttlSeconds, MAX_TTL_SECONDS);
    if (ttl >= 1 && !isStale() && !this.closed) {
      const stored = Buffer.from(`${this.nowSeconds() + ttl}\n${fill.value}`, 'utf8');
      if (stored.byteLength <= this.options.maxValueBytes) {
        const targets = secondNode === undefined ? [firstNode] : [firstNode, secondNode];
        await Promise.all(targets.map((node) => node.add(k, stored, ttl)));
      }
    }
    return fill.value;
  }

  /** Two different clusters of this zone at random (one when the zone has one). */
  private pickTwo(): [MemcachedCluster, MemcachedCluster | undefined] {
    const n = this.local.length;
    const i = Math.min(n - 1, Math.floor(this.random() * n));
    const first = this.local[i] as MemcachedCluster;
    if (n === 1) return [first, undefined];
    const j = (i + 1 + Math.min(n - 2, Math.floor(this.random() * (n - 1)))) % n;
    return [first, this.local[j]];
  }

  /** A node's answer with the envelope opened; a value that is not one of ours, or expired, is a miss. */
  private open(read: NodeRead): Opened {
    if (read.kind !== 'hit') return read;
    const text = read.value.toString('utf8');
    const newline = text.indexOf('\n');
    const expiresAt = newline > 0 ? Number(text.slice(0, newline)) : Number.NaN;
    if (!Number.isSafeInteger(expiresAt) || expiresAt <= this.nowSeconds()) return { kind: 'miss' };
    return { kind: 'hit', value: text.slice(newline + 1), stored: read.value, expiresAt };
  }

  private async deleteEverywhere(k: string): Promise<void> {
    await Promise.all(this.clusters.map((cluster) => cluster.nodeFor(k).delete(k)));
  }

  private nowSeconds(): number {
    return Math.floor(this.now() / 1000);
  }
}

type Opened =
  | { kind: 'hit'; value: string; stored: Buffer; expiresAt: number }
  | { kind: 'miss' }
  | { kind: 'unavailable' };
