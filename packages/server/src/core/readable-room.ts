import type { Room } from '@roomcast/protocol';
import { fail } from './errors.ts';
import { type Identity, isPrivileged } from './identity.ts';
import type { ModerationStore } from './ports/moderation.ts';
import type { RoomService } from './room-service.ts';

/**
 * The room, when `identity` may read it: 403 `forbidden` for a private room they may not see, 403
 * `banned` when they are banned from it (admins and services never are). Every read path asks
 * this — pull, state, and the access check an HTTP cache in front makes before serving a copy.
 */
export async function readableRoom(
  rooms: Pick<RoomService, 'getVisible'>,
  moderation: Pick<ModerationStore, 'status'>,
  identity: Identity,
  roomId: string,
): Promise<Room> {
  const room = await rooms.getVisible(identity, roomId);
  // A ban holds on every read path, as it does for a WebSocket join.
  if (!isPrivileged(identity)) {
    const status = await moderation.status(room.id, identity.userId);
    if (status.bannedUntil !== null) fail('banned', 'you are banned from this room');
  }
  return room;
}
