/** Where the room app is: the lobby (`/`) or a room (`/rooms/<id>`, the link people share). */
export type RoomAppRoute = { page: 'lobby' } | { page: 'room'; roomId: string };

export function parseRoute(pathname: string): RoomAppRoute {
  const match = /^\/rooms\/([^/]+)\/?$/.exec(pathname);
  if (match?.[1] !== undefined) {
    try {
      return { page: 'room', roomId: decodeURIComponent(match[1]) };
    } catch {
      return { page: 'lobby' };
    }
  }
  return { page: 'lobby' };
}

/** The path of a room's page. */
export function roomPath(roomId: string): string {
  return `/rooms/${encodeURIComponent(roomId)}`;
}
