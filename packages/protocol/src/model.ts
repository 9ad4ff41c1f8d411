/**
 * Resource shapes of the roomcast wire contract v1 (see PROTOCOL.md and docs/protocol.md).
 * Shared by the server, the client SDK and the benchmarks.
 */

/** JSON value as carried in event data, state values and peer data. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export type RoomVisibility = 'public' | 'private';
export type RoomStatus = 'live' | 'ended';

/** A live room. Times are ISO 8601 strings; `endedAt` is null while live. */
export interface Room {
  id: string;
  hostId: string;
  title: string;
  visibility: RoomVisibility;
  status: RoomStatus;
  startedAt: string;
  endedAt: string | null;
}

/** A time-series event of a room. `seq` is the room's sequence number (1, 2, 3 …). */
export interface RoomEvent {
  seq: number;
  type: string;
  /** The user who published it, or null for events the service makes (online count, room end). */
  from: string | null;
  data: JsonObject;
  /** Milliseconds since the epoch, set by the server when it accepted the event. */
  ts: number;
}

/** One partial of a room's state with its version. `value` is absent in a notice when it is large. */
export interface PartialState {
  v: number;
  value?: JsonValue;
}

/** A room's state: the total version plus each partial. */
export interface StateSnapshot {
  total: number;
  partials: Record<string, PartialState>;
}

/** Versions only: what a pull client polls. */
export interface StateVersions {
  total: number;
  partials: Record<string, number>;
}

/** A peer signal addressed to one or more users. */
export interface PeerMessage {
  id: string;
  /** The recipient's inbox sequence number (per user, 1, 2, 3 …); an addition to PROTOCOL.md. */
  seq: number;
  room: string;
  from: string;
  type: string;
  data: JsonObject;
  ts: number;
}

/** Event types a plain user may publish; admins and services may publish any type. */
export const USER_EVENT_TYPES = ['comment', 'like'] as const;

/**
 * Event types that are never dropped or sampled for a slow consumer or an overloaded room.
 * Everything else (comments, likes, enter, online …) is low priority.
 */
export const HIGH_PRIORITY_EVENT_TYPES: ReadonlySet<string> = new Set([
  'gift',
  'moderation',
  'room_start',
  'room_end',
  'host',
  'announcement',
]);

export function isHighPriorityEventType(type: string): boolean {
  return HIGH_PRIORITY_EVENT_TYPES.has(type);
}
