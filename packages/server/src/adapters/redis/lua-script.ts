import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Cluster, Redis } from 'ioredis';

/**
 * The ioredis clients the Redis collections run on: one connection to Redis or to a Twemproxy
 * (nutcracker) in front of shards, or a Redis Cluster client. The caller owns the connection.
 */
export type RedisClient = Redis | Cluster;

/** The reply of a script: Redis integers, bulk strings, nil and arrays of them. */
export type ScriptReply = number | string | null | ScriptReply[];

/**
 * A Lua script from `scripts/`, run with EVALSHA and, when the server does not know it yet
 * (NOSCRIPT), with EVAL, which also caches it there. That is what ioredis' `defineCommand` does; a
 * small typed class instead of its untyped dynamic methods. It never needs SCRIPT LOAD, which
 * Twemproxy does not proxy, and every call names its keys, so a proxy can route it to one shard.
 */
export class LuaScript {
  readonly name: string;
  readonly #source: string;
  readonly #sha1: string;

  constructor(name: string) {
    this.name = name;
    this.#source = readFileSync(new URL(`./scripts/${name}.lua`, import.meta.url), 'utf8');
    this.#sha1 = createHash('sha1').update(this.#source).digest('hex');
  }

  async run(
    redis: RedisClient,
    keys: readonly string[],
    args: readonly (string | number)[],
  ): Promise<ScriptReply> {
    try {
      return (await redis.evalsha(this.#sha1, keys.length, ...keys, ...args)) as ScriptReply;
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return (await redis.eval(this.#source, keys.length, ...keys, ...args)) as ScriptReply;
    }
  }
}

/** The reply as an array (scripts that return tables); throws on anything else. */
export function replyArray(reply: ScriptReply, script: string): ScriptReply[] {
  if (!Array.isArray(reply)) throw new TypeError(`${script} returned ${typeof reply}, not an array`);
  return reply;
}

/** A reply element as a number (Redis integers arrive as numbers, counters read back as strings). */
export function replyNumber(reply: ScriptReply | undefined, script: string): number {
  const value = typeof reply === 'string' ? Number(reply) : reply;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new TypeError(`${script} returned ${String(reply)}, not a number`);
  }
  return value;
}

/** A reply element as a string. */
export function replyString(reply: ScriptReply | undefined, script: string): string {
  if (typeof reply !== 'string') throw new TypeError(`${script} returned ${String(reply)}, not a string`);
  return reply;
}
