import type { JsonObject, PeerMessage, RoomEvent, StateSnapshot } from './model.ts';

/** WebSocket subprotocols. JSON is the default when the client names none. */
export const SUBPROTOCOL_JSON = 'roomcast.v1.json';
export const SUBPROTOCOL_MSGPACK = 'roomcast.v1.msgpack';
export type Subprotocol = typeof SUBPROTOCOL_JSON | typeof SUBPROTOCOL_MSGPACK;

/** Client → server frames. */
export type ClientFrame = JoinFrame | LeaveFrame | PublishFrame | PingFrame | AuthFrame;

export interface JoinFrame {
  op: 'join';
  room: string;
  /** Resume after this seq. */
  cursor?: number;
  /** History epoch the cursor belongs to (addition): a different epoch means the history was lost → reset. */
  epoch?: string;
}
export interface LeaveFrame {
  op: 'leave';
  room: string;
}
export interface PublishFrame {
  op: 'publish';
  room: string;
  type: string;
  data?: JsonObject;
  ref?: string;
  /**
   * Idempotency key (addition): a retry with the same `id` within the replay window is acked
   * with the first seq and stores nothing. 1–128 visible ASCII characters, scoped to the user and room.
   */
  id?: string;
}
export interface PingFrame {
  op: 'ping';
}
/**
 * Addition: renews the connection's token before it expires, so a long session needs no
 * reconnect. The new token must name the same user with the same roles and private rooms.
 */
export interface AuthFrame {
  op: 'auth';
  token: string;
  ref?: string;
}

/** Server → client frames. */
export type ServerFrame =
  | JoinedFrame
  | LeftFrame
  | AckFrame
  | PongFrame
  | TsFrame
  | SsFrame
  | PeerFrame
  | ResetFrame
  | ErrorFrame
  | ReconnectFrame
  | AuthedFrame;

export interface JoinedFrame {
  op: 'joined';
  room: string;
  /** The room's newest seq at the time of joining. */
  seq: number;
  /** The room's history epoch (addition); send it back with the cursor when resuming. */
  epoch: string;
  state: StateSnapshot;
}
export interface LeftFrame {
  op: 'left';
  room: string;
  /** Why the server ended the subscription (addition): `kicked`, `banned`, `room_ended`. Absent for a client's leave. */
  reason?: string;
}
export interface AckFrame {
  op: 'ack';
  ref?: string;
  seq: number;
}
export interface PongFrame {
  op: 'pong';
}
export interface TsFrame {
  op: 'ts';
  room: string;
  events: RoomEvent[];
  /** Low-priority events left out of this frame for this slow connection (addition; absent when none). */
  dropped?: number;
}
export interface SsFrame {
  op: 'ss';
  room: string;
  total: number;
  partials: StateSnapshot['partials'];
}
export interface PeerFrame extends Omit<PeerMessage, 'seq' | 'ts'> {
  op: 'peer';
  seq?: number;
  ts?: number;
}
export interface ResetFrame {
  op: 'reset';
  room: string;
  /** The room's newest seq and epoch: continue from here after reloading state. */
  seq?: number;
  epoch?: string;
}
export interface ErrorFrame {
  op: 'error';
  code: string;
  message: string;
  ref?: string;
  room?: string;
}
export interface ReconnectFrame {
  op: 'reconnect';
  delayMs: number;
}
/** Addition: the answer to `auth`: the connection now lasts until the new token's expiry. */
export interface AuthedFrame {
  op: 'authed';
  ref?: string;
  /** The new token's expiry, ms since the epoch. */
  expiresAt: number;
}

/** WebSocket close codes of the contract. */
export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  messageTooBig: 1009,
  unauthorized: 4001,
  forbidden: 4003,
  tooSlow: 4008,
  frameTooLarge: 4009,
  malformed: 4400,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];
