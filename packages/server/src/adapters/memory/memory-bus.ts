import { BusClosedError, type BusSubscription, type MessageBus } from '../../core/ports/bus.ts';

// Re-exported where it was first defined; every bus adapter throws the port's one class.
export { BusClosedError };

type Handler = (payload: Uint8Array) => void;

export interface MemoryBusOptions {
  /**
   * Told about a handler that threw; the message still reaches the other subscriptions. Defaults to
   * `console.error`, because the bus has no logger of its own and a swallowed error hides bugs.
   */
  onHandlerError?: (error: unknown, channel: string) => void;
}

class MemorySubscription implements BusSubscription {
  active = true;
  constructor(
    readonly handler: Handler,
    private readonly detach: (subscription: MemorySubscription) => void,
  ) {}

  async unsubscribe(): Promise<void> {
    if (!this.active) return;
    this.active = false;
    this.detach(this);
  }
}

/**
 * MemoryBus: the MessageBus of one process (`roomcast dev`, cluster tests in one process).
 *
 * Beyond the port's guarantees:
 * - Delivery is asynchronous (a microtask per message, never inside `publish`) and in publish
 *   order across all channels, so per-channel FIFO holds for every publisher at once.
 * - A message reaches the subscriptions active when it was published, minus those that have
 *   unsubscribed before its delivery.
 * - Each message is copied once at publish, as a network bus would, so a publisher may reuse its
 *   buffer; the subscriptions of a channel share that copy and must not modify it.
 */
export class MemoryBus implements MessageBus {
  /**
   * Subscriptions per channel, copy-on-write: publish captures the current array without copying
   * it, and subscribe/unsubscribe (far rarer than publish) replace it.
   */
  readonly #channels = new Map<string, readonly MemorySubscription[]>();
  readonly #onHandlerError: (error: unknown, channel: string) => void;
  #closed = false;

  constructor(options: MemoryBusOptions = {}) {
    this.#onHandlerError =
      options.onHandlerError ??
      ((error, channel) => console.error(`memory bus: a handler of channel ${channel} threw`, error));
  }

  async publish(channel: string, payload: Uint8Array): Promise<void> {
    if (this.#closed) throw new BusClosedError();
    const subscriptions = this.#channels.get(channel);
    if (subscriptions === undefined) return;
    // Not payload.slice(): on a Buffer that is a view, not a copy.
    const copy = new Uint8Array(payload);
    queueMicrotask(() => {
      for (const subscription of subscriptions) {
        if (!subscription.active) continue;
        try {
          subscription.handler(copy);
        } catch (error) {
          this.#onHandlerError(error, channel);
        }
      }
    });
  }

  async subscribe(channel: string, handler: Handler): Promise<BusSubscription> {
    if (this.#closed) throw new BusClosedError();
    const subscription = new MemorySubscription(handler, (s) => this.#detach(channel, s));
    this.#channels.set(channel, [...(this.#channels.get(channel) ?? []), subscription]);
    return subscription;
  }

  async ping(): Promise<void> {
    if (this.#closed) throw new BusClosedError();
  }

  /** An in-process bus never loses its connection. */
  onReconnect(_listener: () => void): () => void {
    return () => undefined;
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const subscriptions of this.#channels.values()) {
      for (const subscription of subscriptions) subscription.active = false;
    }
    this.#channels.clear();
  }

  #detach(channel: string, subscription: MemorySubscription): void {
    const current = this.#channels.get(channel);
    if (current === undefined) return;
    const remaining = current.filter((s) => s !== subscription);
    if (remaining.length === 0) this.#channels.delete(channel);
    else this.#channels.set(channel, remaining);
  }
}
