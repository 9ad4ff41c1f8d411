/**
 * What a loader found for a key: the value, and how long caches may keep it. `ttlSeconds` 0 means
 * "answer with it, keep it nowhere" (a settlement still moving, say).
 */
export interface KvFill {
  value: string;
  ttlSeconds: number;
}

/** What a read found in one cluster, for metrics. `unavailable`: the node was down or failed. */
export type KvReadResult = 'hit' | 'miss' | 'unavailable';

/**
 * What a KvCache reports as it works; the role wires it to its metrics. `cluster` is the cluster's
 * name (`local` for the in-process LRU), `node` its `host:port`.
 */
export interface KvCacheObserver {
  read(cluster: string, result: KvReadResult): void;
  /** A value found in one cluster was written back to another that missed it. */
  heal(cluster: string): void;
  /** The loader (the database) was called. */
  load(): void;
  /** A node failed a call (timeout, connection refused, protocol error) and is skipped for a while. */
  nodeFailed(cluster: string, node: string, err: unknown): void;
  /** A node that failed answers again (its missed invalidations are applied first). */
  nodeRecovered(cluster: string, node: string): void;
}

/**
 * KvCache: values derived from the databases (room records, settled rooms' settlements), kept so
 * hot paths do not read the database each time. Adapters: an in-process LRU (`roomcast dev`) and
 * Memcached peer clusters (production). Both pass the KvCache contract suite.
 *
 * Guarantees:
 * - `read` answers the cached value, or else calls `load` and answers what it returned; a value
 *   `load` returned with `ttlSeconds` > 0 is kept at most that long (it may be evicted sooner), so
 *   the next reads answer it without calling `load`. `load` answering undefined (the record does
 *   not exist) or `ttlSeconds` 0 keeps nothing.
 * - Concurrent reads of one key in one process share one `load` call.
 * - A cache that fails (a node down, a timeout) never fails a read: it answers from `load`
 *   instead. Only `load`'s own rejection rejects `read`, and nothing is kept then.
 * - Write-backs never overwrite a value already kept (memcached `add`): a slow reader's older
 *   value does not replace a newer one.
 * - `invalidate` removes the key everywhere the cache keeps it, before it resolves (a node that is
 *   down at that moment applies it before it serves reads again), and a load that was running
 *   when it was called does not keep its value: the next read calls `load` again.
 * - Keys are any string up to `KV_KEY_MAX_CHARS` characters; values up to the adapter's size
 *   limit are kept, larger ones are answered but not kept.
 */
export interface KvCache {
  read(key: string, load: () => Promise<KvFill | undefined>): Promise<string | undefined>;
  invalidate(key: string): Promise<void>;
  /** Closes connections and timers; reads after it go straight to `load`. */
  close(): Promise<void>;
}

/** Longest key a KvCache takes (adapters map long or unusual keys to fixed-size ones). */
export const KV_KEY_MAX_CHARS = 1_024;
