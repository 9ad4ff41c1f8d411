import type { RedisOptions } from 'ioredis';
import type { Collections } from '../../core/ports/collections.ts';
import type { SeqReservations } from '../../core/ports/seq-reservations.ts';
import { SequencedHistory } from '../../core/sequenced-history.ts';
import { guardUnavailable } from '../../core/unavailable-guard.ts';
import type { RedisClient } from './lua-script.ts';
import { isRedisUnavailable } from './redis-errors.ts';
import { RedisGatewayDirectory } from './redis-gateway-directory.ts';
import { RedisKeys } from './redis-keys.ts';
import { RedisModerationStore } from './redis-moderation.ts';
import { RedisPeerInbox } from './redis-peer-inbox.ts';
import { RedisConnectionRegistry, RedisRoomPresence } from './redis-presence.ts';
import { RedisRateLimits } from './redis-rate-limits.ts';
import { RedisRoomHistory } from './redis-room-history.ts';
import { RedisRoomStateStore } from './redis-room-state.ts';

export interface RedisCollectionsOptions {
  /** The connection (to Redis, to a Twemproxy, or a Cluster client); the caller owns and closes it. */
  redis: RedisClient;
  /** Starts every key, e.g. `rc:`; no braces. Lets several deployments or tests share one Redis. */
  keyPrefix: string;
  /** Newest events kept per room. */
  historyCapacity: number;
  /** A room's history and state are dropped after this long untouched (history restarts above its old seqs). */
  historyIdleTtlMs: number;
  /** Where seq ranges are reserved durably (the rooms database), so a lost history never reuses a seq. */
  reservations: SeqReservations;
  /** Seqs reserved at a time per room. */
  seqBlock?: number;
  /** Told when a call found Redis (or the proxy's shard) unreachable; the call rejects with StoreUnavailableError. */
  onUnavailable?: (store: string, err: unknown) => void;
  /** Histories fence against failovers of replicated shards (RedisRoomHistoryOptions.failoverFence). */
  failoverFence?: boolean;
  /** Newest peer messages kept per user. */
  inboxCapacity: number;
  /** A user's inbox is dropped this long after its last message. */
  inboxTtlMs: number;
}

/**
 * ioredis options for a connection through Twemproxy (nutcracker), which proxies only keyed data
 * commands and closes the connection on anything else: RESP2 (ioredis 6 defaults to RESP3 and
 * sends HELLO on connect), no ready check (it sends INFO), no CLIENT SETINFO on connect, no
 * database select. Harmless against Redis directly, so use them for every collections connection.
 */
export const TWEMPROXY_SAFE_OPTIONS = Object.freeze({
  protocol: 2,
  enableReadyCheck: false,
  disableClientInfo: true,
} satisfies RedisOptions);

/**
 * The Collections on Redis, every operation Twemproxy-compatible: each key carries its room's or
 * user's hash tag, multi-key operations are single-shard Lua scripts run with EVALSHA/EVAL, and no
 * MULTI/WATCH, blocking command, PING, AUTH, SELECT or INFO is sent (docs/redis.md).
 * `ping` reads a key (PING is answered by the proxy, not a shard); `close` leaves the connection to
 * its owner.
 */
export function createRedisCollections(options: RedisCollectionsOptions): Collections {
  const { redis } = options;
  const keys = new RedisKeys(options.keyPrefix);
  // Every store maps "Redis unreachable" to StoreUnavailableError (503), whatever command failed.
  const guard = <T extends object>(store: T, name: string): T =>
    guardUnavailable(store, name, isRedisUnavailable, options.onUnavailable);
  return {
    history: new SequencedHistory(
      guard(
        new RedisRoomHistory({
          redis,
          keys,
          capacity: options.historyCapacity,
          idleTtlMs: options.historyIdleTtlMs,
          ...(options.failoverFence === undefined ? {} : { failoverFence: options.failoverFence }),
        }),
        'history',
      ),
      options.reservations,
      options.seqBlock,
    ),
    state: guard(new RedisRoomStateStore({ redis, keys, idleTtlMs: options.historyIdleTtlMs }), 'state'),
    inbox: guard(
      new RedisPeerInbox({ redis, keys, capacity: options.inboxCapacity, ttlMs: options.inboxTtlMs }),
      'inbox',
    ),
    registry: guard(new RedisConnectionRegistry({ redis, keys }), 'registry'),
    presence: guard(new RedisRoomPresence({ redis, keys }), 'presence'),
    gateways: guard(new RedisGatewayDirectory({ redis, keys }), 'gateway directory'),
    moderation: guard(new RedisModerationStore({ redis, keys }), 'moderation'),
    rateLimits: guard(new RedisRateLimits({ redis, keys }), 'rate limits'),
    ping: async () => {
      await redis.exists(keys.ping());
    },
    close: async () => {},
  };
}
