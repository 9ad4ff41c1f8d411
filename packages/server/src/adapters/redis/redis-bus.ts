import { Redis, type RedisOptions } from 'ioredis';
import { BusClosedError, type BusSubscription, type MessageBus } from '../../core/ports/bus.ts';

type Handler = (payload: Uint8Array) => void;

/**
 * Which Redis pub/sub commands carry the bus:
 * - `classic`: PUBLISH / SUBSCRIBE. On a Redis Cluster every message is broadcast to every node.
 * - `sharded`: SPUBLISH / SSUBSCRIBE (Redis 7+). A channel lives on the shard that owns its hash
 *   slot, so messages cost only that shard's bandwidth. This adapter talks to one server (or one
 *   Sentinel-managed master), which owns every slot; a Redis Cluster needs a slot-aware client.
 */
export type RedisBusMode = 'classic' | 'sharded';

/**
 * ioredis's connection options without `replyMapping`: the bus reads raw pub/sub pushes, and the
 * option's declared type clashes with the constructor's under exactOptionalPropertyTypes.
 */
export type BusConnectionOptions = Omit<RedisOptions, 'replyMapping'>;

export interface RedisBusOptions {
  /**
   * How to reach the server: host/port, or `sentinels` + `name` for a Sentinel-managed master. Both
   * of the bus's connections use them. Never point this at Twemproxy: it cannot proxy pub/sub.
   */
  redis: BusConnectionOptions;
  /** Default `classic`. */
  mode?: RedisBusMode;
  /**
   * Told about a handler that threw; the message still reaches the other subscriptions. Defaults to
   * `console.error`, because the bus has no logger of its own and a swallowed error hides bugs.
   */
  onHandlerError?: (error: unknown, channel: string) => void;
  /** Told about connection errors (ioredis reconnects by itself). Defaults to ignoring them. */
  onConnectionError?: (error: Error) => void;
}

/** The local subscriptions of one channel and the state of the server-side subscription. */
interface ChannelState {
  /** Copy-on-write, so dispatch iterates a snapshot without copying it. */
  subscriptions: readonly RedisSubscription[];
  /** Whether the subscriber connection holds (or is about to hold) the server subscription. */
  onServer: boolean;
  /** The tail of this channel's SUBSCRIBE/UNSUBSCRIBE commands; never rejects. */
  queue: Promise<void>;
}

class RedisSubscription implements BusSubscription {
  active = true;
  constructor(
    readonly handler: Handler,
    private readonly detach: (subscription: RedisSubscription) => Promise<void>,
  ) {}

  async unsubscribe(): Promise<void> {
    if (!this.active) return;
    this.active = false;
    await this.detach(this);
  }
}

/**
 * RedisBus: the MessageBus on Redis Pub/Sub, classic or sharded (see RedisBusMode).
 *
 * The bus owns two connections of its own, never shared with the collections and never through
 * Twemproxy (which cannot proxy pub/sub): a publisher, and a subscriber in subscriber mode, which
 * can run no other command. Beyond the port's guarantees:
 * - One server subscription per channel per bus, however many local subscriptions it has: a
 *   gateway's bus message for a room costs one Redis delivery, fanned out here.
 * - `subscribe` resolves once Redis confirmed the SUBSCRIBE (or SSUBSCRIBE); `unsubscribe` stops
 *   local delivery at once and sends UNSUBSCRIBE when the channel's last subscription left.
 * - Publishes go out in call order on one connection, so per-channel FIFO holds per bus instance.
 * - On reconnect ioredis re-subscribes every channel itself (`autoResubscribe`, forced on here);
 *   messages published while the subscriber was away are lost (at-most-once).
 * - Payloads are copied at publish (the publisher may reuse its buffer) and at delivery (the reply
 *   parser may reuse its buffers); the subscriptions of a channel share the delivered copy.
 */
export class RedisBus implements MessageBus {
  readonly #publisher: Redis;
  readonly #subscriber: Redis;
  readonly #sharded: boolean;
  readonly #channels = new Map<string, ChannelState>();
  readonly #onHandlerError: (error: unknown, channel: string) => void;
  readonly #reconnectListeners = new Set<() => void>();
  #closed = false;

  constructor(options: RedisBusOptions) {
    this.#sharded = (options.mode ?? 'classic') === 'sharded';
    this.#onHandlerError =
      options.onHandlerError ??
      ((error, channel) => console.error(`redis bus: a handler of channel ${channel} threw`, error));
    const onConnectionError = options.onConnectionError ?? (() => {});
    const connectionOptions: BusConnectionOptions = {
      ...options.redis,
      autoResubscribe: true,
      // Connect at construction, so the first publish does not pay for the handshake.
      lazyConnect: false,
    };
    this.#publisher = new Redis({ ...connectionOptions, connectionName: 'roomcast-bus-pub' });
    this.#subscriber = new Redis({ ...connectionOptions, connectionName: 'roomcast-bus-sub' });
    // Without an 'error' listener ioredis logs every failed reconnect attempt as unhandled.
    this.#publisher.on('error', onConnectionError);
    this.#subscriber.on('error', onConnectionError);
    const event = this.#sharded ? 'smessageBuffer' : 'messageBuffer';
    this.#subscriber.on(event, (channel: Buffer, message: Buffer) => this.#dispatch(channel, message));
    // ioredis re-subscribes on 'ready' after a reconnect; the first 'ready' is the first connect.
    let connectedBefore = false;
    this.#subscriber.on('ready', () => {
      if (connectedBefore) this.#notifyReconnect();
      connectedBefore = true;
    });
  }

  onReconnect(listener: () => void): () => void {
    this.#reconnectListeners.add(listener);
    return () => this.#reconnectListeners.delete(listener);
  }

  #notifyReconnect(): void {
    // ioredis emits 'ready' first and sends the re-subscriptions right after, in the same turn:
    // a PING sent on the next turn goes out behind them on the same connection, so its answer
    // means the server has the subscriptions back.
    void new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.#subscriber.ping())
      .catch(() => undefined)
      .then(() => {
        if (this.#closed) return;
        for (const listener of this.#reconnectListeners) {
          try {
            listener();
          } catch (error) {
            this.#onHandlerError(error, '(reconnect)');
          }
        }
      });
  }

  async ping(): Promise<void> {
    if (this.#closed) throw new BusClosedError();
    // Both connections: a subscriber that lost its server receives nothing even if the publisher is fine.
    await Promise.all([this.#publisher.ping(), this.#subscriber.ping()]);
  }

  async publish(channel: string, payload: Uint8Array): Promise<void> {
    if (this.#closed) throw new BusClosedError();
    // Buffer.from copies, so a publisher reusing its buffer cannot change a queued command.
    const message = Buffer.from(payload);
    if (this.#sharded) await this.#publisher.spublish(channel, message);
    else await this.#publisher.publish(channel, message);
  }

  async subscribe(channel: string, handler: Handler): Promise<BusSubscription> {
    if (this.#closed) throw new BusClosedError();
    let state = this.#channels.get(channel);
    if (state === undefined) {
      state = { subscriptions: [], onServer: false, queue: Promise.resolve() };
      this.#channels.set(channel, state);
    }
    const subscription = new RedisSubscription(handler, (s) => this.#detach(channel, s));
    state.subscriptions = [...state.subscriptions, subscription];
    try {
      await this.#sync(channel, state);
    } catch (error) {
      subscription.active = false;
      await this.#detach(channel, subscription).catch(() => {});
      throw error;
    }
    return subscription;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const state of this.#channels.values()) {
      for (const subscription of state.subscriptions) subscription.active = false;
    }
    this.#channels.clear();
    // disconnect(), not quit(): quit waits for a server that may be gone, and the bus keeps nothing.
    this.#publisher.disconnect();
    this.#subscriber.disconnect();
  }

  #dispatch(channelBytes: Buffer, message: Buffer): void {
    const channel = channelBytes.toString();
    const state = this.#channels.get(channel);
    if (state === undefined) return;
    const payload = new Uint8Array(message);
    for (const subscription of state.subscriptions) {
      if (!subscription.active) continue;
      try {
        subscription.handler(payload);
      } catch (error) {
        this.#onHandlerError(error, channel);
      }
    }
  }

  async #detach(channel: string, subscription: RedisSubscription): Promise<void> {
    const state = this.#channels.get(channel);
    if (state === undefined) return;
    state.subscriptions = state.subscriptions.filter((s) => s !== subscription);
    if (this.#closed) return;
    await this.#sync(channel, state);
  }

  /**
   * Brings the server subscription in line with the local ones. Runs after the channel's earlier
   * commands, so a subscribe racing an unsubscribe of the same channel cannot be undone by it.
   */
  #sync(channel: string, state: ChannelState): Promise<void> {
    const step = state.queue.then(async () => {
      const wanted = state.subscriptions.length > 0;
      if (wanted && !state.onServer) {
        if (this.#sharded) await this.#subscriber.ssubscribe(channel);
        else await this.#subscriber.subscribe(channel);
        state.onServer = true;
      } else if (!wanted && state.onServer) {
        state.onServer = false;
        if (this.#closed) return;
        if (this.#sharded) await this.#subscriber.sunsubscribe(channel);
        else await this.#subscriber.unsubscribe(channel);
      }
      if (state.subscriptions.length === 0 && !state.onServer && this.#channels.get(channel) === state) {
        this.#channels.delete(channel);
      }
    });
    state.queue = step.catch(() => {});
    return step;
  }
}
