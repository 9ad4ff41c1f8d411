import type { GatewayDirectory, GatewayRecord } from '../../core/ports/gateway-directory.ts';
import { LuaScript, type RedisClient } from './lua-script.ts';
import type { RedisKeys } from './redis-keys.ts';

const ANNOUNCE = new LuaScript('announce-gateway');

/** One directory entry as stored; anything else in the hash is skipped on read. */
interface StoredGateway {
  group: string;
  url: string;
  expiresAt: number;
}

function parseEntry(json: string): StoredGateway | undefined {
  try {
    const value: unknown = JSON.parse(json);
    if (typeof value !== 'object' || value === null) return undefined;
    const { group, url, expiresAt } = value as Record<string, unknown>;
    if (typeof group !== 'string' || typeof url !== 'string' || typeof expiresAt !== 'number')
      return undefined;
    return { group, url, expiresAt };
  } catch {
    return undefined;
  }
}

/**
 * RedisGatewayDirectory: GatewayDirectory in one hash, `gateways:{directory}` (gateway → JSON with
 * its group, URL and expiry in ms since the epoch). One key on one shard is right here: there are
 * tens of gateways, each announces every few seconds, and API nodes cache the list for a second.
 * `announce` is one Lua script (write, drop lapsed entries, keep the key alive); `list` filters by
 * expiry itself, so a lapsed gateway is never returned even before the cleanup.
 */
export class RedisGatewayDirectory implements GatewayDirectory {
  readonly #redis: RedisClient;
  readonly #key: string;
  readonly #now: () => number;

  constructor(options: { redis: RedisClient; keys: RedisKeys; now?: () => number }) {
    this.#redis = options.redis;
    this.#key = options.keys.gatewayDirectory();
    this.#now = options.now ?? Date.now;
  }

  async announce(gateway: GatewayRecord, ttlMs: number): Promise<void> {
    const now = this.#now();
    const ttl = Math.ceil(ttlMs);
    const entry: StoredGateway = { group: gateway.group, url: gateway.url, expiresAt: now + ttl };
    await ANNOUNCE.run(this.#redis, [this.#key], [gateway.id, JSON.stringify(entry), now, ttl]);
  }

  async withdraw(gatewayId: string): Promise<void> {
    await this.#redis.hdel(this.#key, gatewayId);
  }

  async list(): Promise<GatewayRecord[]> {
    const all = await this.#redis.hgetall(this.#key);
    const now = this.#now();
    const live: GatewayRecord[] = [];
    for (const [id, json] of Object.entries(all)) {
      const entry = parseEntry(json);
      if (entry !== undefined && entry.expiresAt > now) live.push({ id, group: entry.group, url: entry.url });
    }
    return live.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }
}
