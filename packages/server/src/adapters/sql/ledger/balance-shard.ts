import { partitionOf } from '../../../core/job-partition.ts';

/**
 * The balance shard that holds a user: the first four bytes of SHA-256 of the user ID (UTF-8),
 * read as a big-endian unsigned 32-bit integer, modulo the number of shards.
 *
 * Stable across processes, Node versions and machines (SHA-256 is fixed by FIPS 180-4), and even
 * enough for any shard count that matters here. It must never change: a user hashed to another
 * shard would find a zero balance there. That is also why the shard count is recorded in every
 * shard and checked at start (see LedgerShards).
 */
export function balanceShardOf(userId: string, shardCount: number): number {
  if (!Number.isInteger(shardCount) || shardCount < 1) throw new RangeError(`bad shard count ${shardCount}`);
  if (shardCount === 1) return 0;
  return partitionOf(userId, shardCount);
}
