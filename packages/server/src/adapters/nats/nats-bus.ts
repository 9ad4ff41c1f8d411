import {
  connect,
  type NatsConnection,
  type NodeConnectionOptions,
  type Subscription,
} from '@nats-io/transport-node';
import { BusClosedError, type BusSubscription, type MessageBus } from '../../core/ports/bus.ts';

type Handler = (payload: Uint8Array) => void;

/**
 * Thrown by NatsBus for a channel that is not a literal NATS subject: tokens of [A-Za-z0-9_-]
 * joined by dots. Room and gateway IDs use only [a-z0-9_-], so `room.<id>` and `gw.<id>` pass;
 * refusing the rest keeps `*`, `>` and spaces from turning a channel into a wildcard or a
 * protocol error.
 */
export class InvalidBusChannelError extends Error {
  override readonly name = 'InvalidBusChannelError';
  constructor(channel: string) {
    super(`not a valid bus channel (NATS subject): ${JSON.stringify(channel)}`);
  }
}

const SUBJECT = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

function subjectOf(channel: string): string {
  if (!SUBJECT.test(channel)) throw new InvalidBusChannelError(channel);
  return channel;
}

export interface NatsBusOptions {
  /**
   * Connection options of the official client (`servers`, credentials, timeouts). Unless given,
   * `maxReconnectAttempts` is -1: the bus reconnects forever instead of closing after a long outage.
   */
  nats: NodeConnectionOptions;
  /**
   * Told about a handler that threw; the message still reaches the other subscriptions. Defaults to
   * `console.error`, because the bus has no logger of its own and a swallowed error hides bugs.
   */
  onHandlerError?: (error: unknown, channel: string) => void;
}

class NatsSubscription implements BusSubscription {
  #active = true;
  constructor(private readonly subscription: Subscription) {}

  get active(): boolean {
    return this.#active;
  }

  async unsubscribe(): Promise<void> {
    if (!this.#active) return;
    this.#active = false;
    // The client stops local delivery at once; the server is told with the next flush.
    if (!this.subscription.isClosed()) this.subscription.unsubscribe();
  }
}

/**
 * NatsBus: the MessageBus on NATS core pub/sub (no JetStream: the bus persists nothing).
 *
 * One connection carries publishes and subscriptions; NATS multiplexes them. Beyond the port's
 * guarantees:
 * - Channels are NATS subjects used literally (see InvalidBusChannelError); no wildcards.
 * - Each bus subscription is one NATS subscription, so the server fans out to them.
 * - `subscribe` resolves after a flush round trip, so the server has registered the interest.
 * - Publishes go out in call order on one connection, so per-channel FIFO holds per bus instance.
 * - On reconnect the client re-subscribes every open subscription itself; messages published while
 *   the connection was down are lost (at-most-once), publishes made meanwhile are buffered by the
 *   client and sent after the reconnect.
 * - Payloads are copied at publish, because the client queues the caller's buffer until it flushes.
 */
export class NatsBus implements MessageBus {
  readonly #connection: NatsConnection;
  readonly #onHandlerError: (error: unknown, channel: string) => void;
  readonly #reconnectListeners = new Set<() => void>();
  #closed = false;

  private constructor(connection: NatsConnection, options: NatsBusOptions) {
    this.#connection = connection;
    this.#onHandlerError =
      options.onHandlerError ??
      ((error, channel) => console.error(`nats bus: a handler of channel ${channel} threw`, error));
    void this.#watchStatus();
  }

  onReconnect(listener: () => void): () => void {
    this.#reconnectListeners.add(listener);
    return () => this.#reconnectListeners.delete(listener);
  }

  /** The client re-subscribes before it reports `reconnect`; a flush makes sure the server has them. */
  async #watchStatus(): Promise<void> {
    for await (const status of this.#connection.status()) {
      if (status.type !== 'reconnect' || this.#closed) continue;
      await this.#connection.flush().catch(() => undefined);
      for (const listener of this.#reconnectListeners) {
        try {
          listener();
        } catch (error) {
          this.#onHandlerError(error, '(reconnect)');
        }
      }
    }
  }

  /** Connects to NATS; rejects when no server of `options.nats.servers` answers. */
  static async connect(options: NatsBusOptions): Promise<NatsBus> {
    const connection = await connect({ maxReconnectAttempts: -1, ...options.nats });
    return new NatsBus(connection, options);
  }

  async ping(): Promise<void> {
    if (this.#closed) throw new BusClosedError();
    await this.#connection.flush();
  }

  async publish(channel: string, payload: Uint8Array): Promise<void> {
    if (this.#closed) throw new BusClosedError();
    this.#connection.publish(subjectOf(channel), new Uint8Array(payload));
  }

  async subscribe(channel: string, handler: Handler): Promise<BusSubscription> {
    if (this.#closed) throw new BusClosedError();
    const subject = subjectOf(channel);
    let wrapper: NatsSubscription | undefined;
    const subscription = this.#connection.subscribe(subject, {
      callback: (error, message) => {
        // An error here means the subscription was closed (permissions, connection closed).
        if (error !== null || wrapper?.active === false) return;
        // The client calls back inside its parser: a throw must not reach it.
        try {
          handler(message.data);
        } catch (handlerError) {
          this.#onHandlerError(handlerError, channel);
        }
      },
    });
    wrapper = new NatsSubscription(subscription);
    try {
      await this.#connection.flush();
    } catch (error) {
      await wrapper.unsubscribe();
      throw error;
    }
    return wrapper;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#connection.close();
  }
}
