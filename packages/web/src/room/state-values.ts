export { partialText } from '../shared/partial-text.ts';

/** The state partials the room page shows and the host console edits. */
export const ROOM_PARTIALS = ['title', 'pinned', 'announcement'] as const;
export type RoomPartialName = (typeof ROOM_PARTIALS)[number];

export function isRoomPartial(name: string): name is RoomPartialName {
  return (ROOM_PARTIALS as readonly string[]).includes(name);
}
