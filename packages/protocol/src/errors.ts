/**
 * The one error catalogue of roomcast: stable codes with their HTTP status.
 * HTTP errors are `{"error":{"code","message"}}`; WebSocket op errors are `{"op":"error","code","message"}`.
 */
export const ErrorCodes = {
  bad_request: 400,
  unauthorized: 401,
  insufficient_funds: 402,
  forbidden: 403,
  muted: 403,
  banned: 403,
  not_found: 404,
  conflict: 409,
  room_ended: 409,
  too_large: 413,
  rate_limited: 429,
  internal: 500,
  unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

/** The body of every HTTP error response. */
export interface ErrorBody {
  error: { code: ErrorCode | string; message: string };
}

export function statusOf(code: ErrorCode): number {
  return ErrorCodes[code];
}

/** An error that crosses the wire: it carries a stable code, and the HTTP status follows from it. */
export class RoomcastError extends Error {
  override readonly name = 'RoomcastError';
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Seconds after which a rate-limited request may be retried. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.status = statusOf(code);
  }
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ErrorCodes, value);
}
