import type { PeerFrame } from '@roomcast/protocol';
import type { RoomcastClientError } from './errors.ts';
import type { TransportKind } from './transport.ts';

/** Where the client's connection stands. */
export type ConnectionStatus =
  /** `connect()` was never called. */
  | 'idle'
  /** Trying to connect for the first time. */
  | 'connecting'
  /** Connected over `client.transport`. */
  | 'connected'
  /** Lost the connection; waiting or trying to get it back. */
  | 'reconnecting'
  /** Closed by `close()`, or gave up (see the `error` event). */
  | 'closed';

/** A peer signal addressed to this user. */
export type PeerSignal = Omit<PeerFrame, 'op'>;

/** Events of a `RoomcastClient`, by name. */
export interface ClientEvents {
  /** A connection attempt starts. `attempt` counts attempts since the last healthy connection. */
  connecting: { transport: TransportKind; attempt: number };
  /** A connection is up; rooms are being (re-)joined. */
  connected: { transport: TransportKind };
  /** The connection ended, with the WebSocket close code and reason (pull mode maps its failures to codes). */
  disconnected: { code: number; reason: string; willReconnect: boolean };
  /** The next attempt waits `delayMs`: `backoff` after a failure, `server` when the server asked for it. */
  reconnecting: { attempt: number; delayMs: number; reason: 'backoff' | 'server' };
  /** The transport in use changed (also the first time one connects). */
  transport: { transport: TransportKind; previous: TransportKind | null };
  /** A peer signal arrived; each `id` is delivered once. */
  peer: PeerSignal;
  /** Something failed outside any one request: the client gave up, a token function threw, a catch-up read failed. */
  error: RoomcastClientError;
}
