import { type ErrorCode, RoomcastError } from '@roomcast/protocol';

export { RoomcastError };

/** Shorthand for throwing a catalogued error. */
export function fail(code: ErrorCode, message: string, retryAfterSeconds?: number): never {
  throw new RoomcastError(code, message, retryAfterSeconds);
}
