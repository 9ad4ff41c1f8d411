/**
 * MessageBus: named channels carrying opaque byte payloads between roomcast processes.
 *
 * The core owns the channel names (`room.<roomId>` for a room's signals, `gw.<gatewayId>` for one
 * gateway's inbox) and the payload encoding (see core/bus-messages.ts); an adapter only moves bytes.
 *
 * Guarantees every adapter gives (checked by the bus contract suite):
 * - At-most-once delivery to each subscription that is active when the message is published; no
 *   persistence, no replay (history and inboxes are the recovery path, not the bus).
 * - Per channel, messages from one publisher arrive in the order they were published.
 * - `subscribe` resolves only once the subscription is active: a message published after the
 *   promise resolved reaches the handler.
 * - Several subscriptions to one channel in one process each receive every message.
 * - A handler that throws does not break the subscription or the bus.
 * - Payloads arrive byte-for-byte as published.
 */
export interface MessageBus {
  publish(channel: string, payload: Uint8Array): Promise<void>;
  subscribe(channel: string, handler: (payload: Uint8Array) => void): Promise<BusSubscription>;
  /**
   * Calls `listener` each time the bus has its subscriptions back after losing its connection
   * (never for the first connect). Messages published in between were lost, so a subscriber
   * re-reads what it needs from history. Returns a function that removes the listener.
   */
  onReconnect(listener: () => void): () => void;
  /**
   * Resolves once the engine answered a round trip on every connection the bus uses (used by
   * `/readyz`); rejects while it is unreachable and after `close`.
   */
  ping(): Promise<void>;
  /** Closes the bus's connections; later calls reject. */
  close(): Promise<void>;
}

export interface BusSubscription {
  /** Stops delivery to this subscription. Idempotent. */
  unsubscribe(): Promise<void>;
}

/** Thrown by every MessageBus adapter's publish and subscribe once the bus is closed. */
export class BusClosedError extends Error {
  override readonly name = 'BusClosedError';
  constructor() {
    super('the message bus is closed');
  }
}
