import type { PeerMessage } from '@roomcast/protocol';

export interface InboxPage {
  /** Messages with seq > `after`, oldest first, at most `limit`. */
  messages: PeerMessage[];
  /** The newest seq of this user's inbox (0 when empty). */
  top: number;
}

/**
 * PeerInbox: a capped, short-lived inbox per user for peer signals, read by pull clients and by
 * push clients catching up.
 *
 * Guarantees (peer inbox contract suite):
 * - `push` appends one message to each user's inbox atomically per user, assigning that user's
 *   next seq (strictly increasing per user, also under concurrency), and returns the seqs in the
 *   order of `users`.
 * - Each inbox keeps at most the adapter's configured capacity of newest messages and expires after
 *   its configured idle time.
 */
export interface PeerInbox {
  push(users: readonly string[], message: Omit<PeerMessage, 'seq'>): Promise<number[]>;
  read(user: string, after: number, limit: number): Promise<InboxPage>;
}
