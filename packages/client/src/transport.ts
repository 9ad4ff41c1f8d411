import type { ClientFrame, ServerFrame } from '@roomcast/protocol';

/** How the client talks to the server: WebSocket push, or HTTP polling. */
export type TransportKind = 'ws' | 'pull';

/** How a connection ended. */
export interface CloseInfo {
  /** A WebSocket close code; pull mode maps HTTP 401/403 to 4001/4003 and network failures to 1006. */
  code: number;
  reason: string;
}

/** Where a transport reports to. Internal. */
export interface TransportSink {
  /** One frame from the server (or, in pull mode, synthesized from HTTP answers). */
  onFrame(frame: ServerFrame): void;
  /** The open connection ended. Reported at most once, and never after `close()` was called. */
  onClose(info: CloseInfo): void;
}

/**
 * The thin, internal seam between the client core and a way of talking to the server. A transport
 * only translates: joins, resumes, de-duplication, state, heartbeats and reconnects live in the
 * core, which sees the same `ServerFrame`s whichever transport is in use.
 */
export interface Transport {
  readonly kind: TransportKind;
  /** Opens the connection. Rejects with a `TransportOpenError` when it cannot. */
  open(): Promise<void>;
  /** Sends one frame; only after `open()` resolved. Pull mode handles `join` and `leave`. */
  send(frame: ClientFrame): void;
  /** Ends the connection; nothing is reported after this. */
  close(code?: number, reason?: string): void;
}

/** A transport could not open. */
export class TransportOpenError extends Error {
  override readonly name = 'TransportOpenError';
  constructor(
    readonly info: CloseInfo,
    options?: { cause?: unknown },
  ) {
    super(`could not connect (${info.code}${info.reason === '' ? '' : ` ${info.reason}`})`, options);
  }
}
