import { isRoomId, type Room } from '@roomcast/protocol';
import type { LiveRoomsCursor } from './ports/rooms.ts';

/**
 * The `cursor` of `GET /v1/rooms?status=live`: opaque to clients, it names the last room a page
 * showed (its start time and ID), so the next page continues strictly after it however rooms
 * start and end meanwhile (keyset paging: no skipped or repeated rooms among those still live).
 */
export function encodeLiveRoomsCursor(room: Pick<Room, 'startedAt' | 'id'>): string {
  return Buffer.from(`${room.startedAt}|${room.id}`, 'utf8').toString('base64url');
}

/** The cursor's room, or undefined when `text` is not a cursor this server made. */
export function decodeLiveRoomsCursor(text: string): LiveRoomsCursor | undefined {
  if (text.length > 200 || !/^[A-Za-z0-9_-]+$/.test(text)) return undefined;
  const [iso, id, ...rest] = Buffer.from(text, 'base64url').toString('utf8').split('|');
  if (iso === undefined || id === undefined || rest.length > 0 || !isRoomId(id)) return undefined;
  const startedAt = new Date(iso);
  if (Number.isNaN(startedAt.getTime()) || startedAt.toISOString() !== iso) return undefined;
  return { startedAt, id };
}
