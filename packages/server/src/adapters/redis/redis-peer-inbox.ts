import type { PeerMessage } from '@roomcast/protocol';
import type { InboxPage, PeerInbox } from '../../core/ports/peer-inbox.ts';
import { LuaScript, type RedisClient, replyArray, replyNumber, replyString } from './lua-script.ts';
import type { RedisKeys } from './redis-keys.ts';

export interface RedisPeerInboxOptions {
  redis: RedisClient;
  keys: RedisKeys;
  /** Newest messages kept per user. */
  capacity: number;
  /** An inbox with no push for this long is dropped, and its seqs start again at 1. */
  ttlMs: number;
}

const PUSH = new LuaScript('push-inbox-message');
const READ = new LuaScript('read-inbox-page');

type StoredMessage = Omit<PeerMessage, 'seq'>;

/**
 * RedisPeerInbox: PeerInbox in two keys per user, `inbox:{user}:meta` (hash: `seq` counter) and
 * `inbox:{user}:messages` (list of message JSON, oldest first, capped on every push).
 *
 * Guarantees the port's contract across processes: each user's push is one Lua script, so that
 * user's seqs are strictly increasing and gap-free under concurrency. A push to several users is one
 * script per user (their keys live on different shards), run concurrently: each user's part is
 * atomic, the whole is not, as the port allows. Only pushes refresh the TTL.
 */
export class RedisPeerInbox implements PeerInbox {
  readonly #redis: RedisClient;
  readonly #keys: RedisKeys;
  readonly #capacity: number;
  readonly #ttlMs: number;

  constructor(options: RedisPeerInboxOptions) {
    if (!Number.isSafeInteger(options.capacity) || options.capacity < 1) {
      throw new RangeError(`inbox capacity must be a positive integer, got ${options.capacity}`);
    }
    if (!Number.isSafeInteger(options.ttlMs) || options.ttlMs < 1) {
      throw new RangeError(`inbox ttlMs must be a positive integer, got ${options.ttlMs}`);
    }
    this.#redis = options.redis;
    this.#keys = options.keys;
    this.#capacity = options.capacity;
    this.#ttlMs = options.ttlMs;
  }

  async push(users: readonly string[], message: Omit<PeerMessage, 'seq'>): Promise<number[]> {
    const stored: StoredMessage = {
      id: message.id,
      room: message.room,
      from: message.from,
      type: message.type,
      data: message.data,
      ts: message.ts,
    };
    const json = JSON.stringify(stored);
    return Promise.all(
      users.map(async (user) =>
        replyNumber(
          await PUSH.run(this.#redis, this.#userKeys(user), [json, this.#capacity, this.#ttlMs]),
          PUSH.name,
        ),
      ),
    );
  }

  async read(user: string, after: number, limit: number): Promise<InboxPage> {
    const reply = replyArray(
      await READ.run(this.#redis, this.#userKeys(user), [Math.floor(after), Math.max(0, Math.floor(limit))]),
      READ.name,
    );
    const [top, first, ...stored] = reply;
    const firstSeq = replyNumber(first, READ.name);
    const messages = stored.map((json, i): PeerMessage => {
      const m = JSON.parse(replyString(json, READ.name)) as StoredMessage;
      return {
        id: m.id,
        seq: firstSeq + i,
        room: m.room,
        from: m.from,
        type: m.type,
        data: m.data,
        ts: m.ts,
      };
    });
    return { messages, top: replyNumber(top, READ.name) };
  }

  #userKeys(user: string): string[] {
    return [this.#keys.inboxMeta(user), this.#keys.inboxMessages(user)];
  }
}
