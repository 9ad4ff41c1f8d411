import type { PeerMessage } from '@roomcast/protocol';
import type { InboxPage, PeerInbox } from '../../core/ports/peer-inbox.ts';

export interface MemoryPeerInboxOptions {
  /** Newest messages kept per user. */
  capacity: number;
  /** An inbox with no push for this long is dropped, and its seqs start again at 1. */
  ttlMs: number;
  /** Clock in ms since the epoch; tests inject one to skip time. Defaults to Date.now. */
  now?: () => number;
}

interface Inbox {
  top: number;
  /** Seq s lives at index (s - 1) % capacity: grows to capacity, then wraps (see MemoryRoomHistory). */
  readonly ring: PeerMessage[];
  pushedAt: number;
}

/**
 * MemoryPeerInbox: PeerInbox in a ring buffer per user.
 *
 * Guarantees the port's contract within one process: a `push` runs synchronously, so each user's
 * seq is assigned atomically. An inbox expires `ttlMs` after its last push (reads do not keep it
 * alive, so a polling client cannot pin messages forever); reads never create an inbox.
 * `read` costs O(limit). Returned messages are the stored objects: treat them as read-only.
 */
export class MemoryPeerInbox implements PeerInbox {
  readonly #inboxes = new Map<string, Inbox>();
  readonly #capacity: number;
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #sweeper: NodeJS.Timeout;

  constructor(options: MemoryPeerInboxOptions) {
    if (!Number.isSafeInteger(options.capacity) || options.capacity < 1) {
      throw new RangeError(`inbox capacity must be a positive integer, got ${options.capacity}`);
    }
    if (!(options.ttlMs > 0)) throw new RangeError(`inbox ttlMs must be positive, got ${options.ttlMs}`);
    this.#capacity = options.capacity;
    this.#ttlMs = options.ttlMs;
    this.#now = options.now ?? Date.now;
    // Lazy expiry keeps reads correct; the sweep only frees memory, so a coarse period is enough.
    const sweepMs = Math.min(Math.max(options.ttlMs, 1_000), 60_000);
    this.#sweeper = setInterval(() => this.#sweep(), sweepMs).unref();
  }

  async push(users: readonly string[], message: Omit<PeerMessage, 'seq'>): Promise<number[]> {
    const now = this.#now();
    const seqs: number[] = [];
    for (const user of users) {
      let inbox = this.#live(user, now);
      if (inbox === undefined) {
        inbox = { top: 0, ring: [], pushedAt: now };
        this.#inboxes.set(user, inbox);
      }
      inbox.pushedAt = now;
      const seq = ++inbox.top;
      const stored: PeerMessage = {
        id: message.id,
        seq,
        room: message.room,
        from: message.from,
        type: message.type,
        data: message.data,
        ts: message.ts,
      };
      const index = (seq - 1) % this.#capacity;
      if (index === inbox.ring.length) inbox.ring.push(stored);
      else inbox.ring[index] = stored;
      seqs.push(seq);
    }
    return seqs;
  }

  async read(user: string, after: number, limit: number): Promise<InboxPage> {
    const inbox = this.#live(user, this.#now());
    if (inbox === undefined) return { messages: [], top: 0 };
    const oldest = Math.max(1, inbox.top - this.#capacity + 1);
    const first = Math.max(Math.floor(after) + 1, oldest);
    const last = Math.min(inbox.top, first + Math.floor(limit) - 1);
    const messages: PeerMessage[] = [];
    for (let seq = first; seq <= last; seq++) {
      const message = inbox.ring[(seq - 1) % this.#capacity];
      if (message !== undefined) messages.push(message);
    }
    return { messages, top: inbox.top };
  }

  /** Stops the sweep timer. The inbox stays usable (lazy expiry still applies). */
  close(): void {
    clearInterval(this.#sweeper);
  }

  #live(user: string, now: number): Inbox | undefined {
    const inbox = this.#inboxes.get(user);
    if (inbox === undefined || now - inbox.pushedAt < this.#ttlMs) return inbox;
    this.#inboxes.delete(user);
    return undefined;
  }

  #sweep(): void {
    const now = this.#now();
    for (const [user, inbox] of this.#inboxes) {
      if (now - inbox.pushedAt >= this.#ttlMs) this.#inboxes.delete(user);
    }
  }
}
