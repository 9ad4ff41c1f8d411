import { ErrorCodes, isErrorCode } from '@roomcast/protocol';

/** Base class of every error the SDK raises or reports: each carries a stable `code`. */
export class RoomcastClientError extends Error {
  override readonly name: string = 'RoomcastClientError';
  constructor(
    /** A stable, machine-readable code (`not_found`, `unauthorized`, `disconnected` …). */
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * The server refused a request: an HTTP error body `{"error":{"code","message"}}` or a WebSocket
 * `{"op":"error"}` frame. `code` is one of the protocol's error catalogue.
 */
export class RoomcastApiError extends RoomcastClientError {
  override readonly name: string = 'RoomcastApiError';
  /** The HTTP status; for a WebSocket error, the status the catalogue gives its code (0 if unknown). */
  readonly status: number;
  /** For `rate_limited`: how long to wait before trying again, from `Retry-After`. */
  readonly retryAfterMs: number | undefined;
  /** The `ref` of the WebSocket op that failed, if any. */
  readonly ref: string | undefined;
  /** The room the failed op was about, if the server said so. */
  readonly room: string | undefined;

  constructor(
    code: string,
    message: string,
    details: { status?: number; retryAfterMs?: number; ref?: string; room?: string } = {},
  ) {
    super(code, message);
    this.status = details.status ?? (isErrorCode(code) ? ErrorCodes[code] : 0);
    this.retryAfterMs = details.retryAfterMs;
    this.ref = details.ref;
    this.room = details.room;
  }
}

/** Why the SDK has no usable connection. */
export type ConnectionErrorCode =
  /** The server rejected the token (close 4001 / HTTP 401) and no new token could be had. */
  | 'unauthorized'
  /** The server forbade the connection (close 4003 / HTTP 403) and no new token could be had. */
  | 'forbidden'
  /** The connection dropped before the request was answered. */
  | 'disconnected'
  /** The client is not connected (call `connect()` first) or was closed meanwhile. */
  | 'not_connected'
  /** The request was not answered in time. */
  | 'timeout'
  /** The server could not be reached (network error). */
  | 'unreachable'
  /** The token function failed. */
  | 'token_failed'
  /** No transport can be used (for example `transport: 'ws'` without any WebSocket). */
  | 'no_transport';

/** A connection-level failure: nothing the server said about the request itself. */
export class RoomcastConnectionError extends RoomcastClientError {
  override readonly name: string = 'RoomcastConnectionError';
  constructor(
    override readonly code: ConnectionErrorCode,
    message: string,
    /** The WebSocket close code that caused it, if any. */
    readonly closeCode?: number,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}
