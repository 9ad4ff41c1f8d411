import type { Room, RoomStatus, RoomVisibility } from '@roomcast/protocol';

/** A room as the SQL adapters select it, from a shard or from the archive. */
export interface RoomRow {
  id: string;
  host_id: string;
  title: string;
  visibility: RoomVisibility;
  status: RoomStatus;
  started_at: Date | string;
  ended_at: Date | string | null;
}

/** The select list of a shard's `rooms` table. */
export const SHARD_COLUMNS = 'id, host_id, title, visibility, status, started_at, ended_at';
/** The same shape from the archive, whose rows are all ended and so store no status. */
export const ARCHIVE_COLUMNS = `id, host_id, title, visibility, 'ended' AS status, started_at, ended_at`;

export function toRoom(row: RoomRow): Room {
  return {
    id: row.id,
    hostId: row.host_id,
    title: row.title,
    visibility: row.visibility,
    status: row.status,
    startedAt: toIso(row.started_at),
    endedAt: row.ended_at === null ? null : toIso(row.ended_at),
  };
}

export function toIso(value: Date | string): string {
  // pg and PGlite parse timestamptz into Date; a driver set to return text gets parsed here.
  return (value instanceof Date ? value : new Date(value)).toISOString();
}

/** Newest first by start, then by ID descending: the order of `listLive`. */
export function newestFirst(a: Room, b: Room): number {
  const byStart = Date.parse(b.startedAt) - Date.parse(a.startedAt);
  if (byStart !== 0) return byStart;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}
