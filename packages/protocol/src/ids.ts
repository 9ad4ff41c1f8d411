/** A region prefix: 2–8 lower-case letters or digits. */
export const REGION_PATTERN = /^[a-z0-9]{2,8}$/;
/** A user ID: `<region>_<rest>`, rest 1–64 of [A-Za-z0-9-]. */
export const USER_ID_PATTERN = /^([a-z0-9]{2,8})_([A-Za-z0-9-]{1,64})$/;
/** A room ID: `<host region>_<rest>`; roomcast makes rest from [A-Za-z0-9-] too. */
export const ROOM_ID_PATTERN = /^([a-z0-9]{2,8})_([A-Za-z0-9-]{1,64})$/;

/** The region prefix of a user or room ID, or undefined when the ID is malformed. */
export function regionOf(id: string): string | undefined {
  const m = USER_ID_PATTERN.exec(id);
  return m?.[1];
}

export function isUserId(id: unknown): id is string {
  return typeof id === 'string' && USER_ID_PATTERN.test(id);
}

export function isRoomId(id: unknown): id is string {
  return typeof id === 'string' && ROOM_ID_PATTERN.test(id);
}
