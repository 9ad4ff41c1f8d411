import { type ClientFrame, codecFor, type FrameCodec, type ServerFrame } from '@roomcast/protocol';
import { type CloseInfo, type Transport, TransportOpenError, type TransportSink } from './transport.ts';

/** The close event fields the SDK reads. */
export interface WebSocketCloseEventLike {
  readonly code: number;
  readonly reason: string;
}

/** The message event fields the SDK reads. */
export interface WebSocketMessageEventLike {
  readonly data: unknown;
}

/**
 * The part of the WebSocket API the SDK uses. Browsers' `WebSocket`, Node 22's global one and the
 * `ws` package's `WebSocket` all fit.
 */
export interface WebSocketLike {
  readonly protocol: string;
  readonly readyState: number;
  binaryType: string;
  // Parameters typed `never` accept every implementation's own event types.
  onopen: ((event: never) => void) | null;
  onmessage: ((event: never) => void) | null;
  onclose: ((event: never) => void) | null;
  onerror: ((event: never) => void) | null;
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
  /** Drops the connection without a closing handshake (the `ws` package has it; browsers do not). */
  terminate?(): void;
}

/** A WebSocket constructor: `new WebSocket(url, protocols)`. */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

const OPEN = 1;
const textDecoder = new TextDecoder();

/** WebSocket push transport: frames encoded with the subprotocol's codec. Internal. */
export class WsTransport implements Transport {
  readonly kind = 'ws' as const;
  #socket: WebSocketLike | undefined;
  #codec: FrameCodec;
  #closed = false;

  constructor(
    private readonly options: {
      /**
       * The full `ws(s)://…/v1/ws?token=…` URL, or a function that finds it when the transport
       * opens (dispatch: which gateway serves the client's rooms).
       */
      url: string | (() => Promise<string>);
      codec: FrameCodec;
      WebSocket: WebSocketConstructor;
      sink: TransportSink;
      /** How long opening (connect, upgrade, first answer) may take. */
      openTimeoutMs: number;
    },
  ) {
    this.#codec = options.codec;
  }

  /**
   * Opens the socket, then sends a ping and resolves on the server's first frame: roomcast accepts
   * the upgrade even for a bad token (browsers cannot read a refused upgrade's status) and closes
   * with 4001 right after, so only an answer proves the session. Rejects on a close before that,
   * or after `openTimeoutMs`.
   */
  async open(): Promise<void> {
    const { url } = this.options;
    const resolved = typeof url === 'string' ? url : await url();
    if (this.#closed) throw new TransportOpenError({ code: 1006, reason: 'closed while finding a gateway' });
    return this.#openAt(resolved);
  }

  #openAt(url: string): Promise<void> {
    return new Promise((resolve, reject) => {
      let established = false;
      let socket: WebSocketLike;
      const fail = (info: CloseInfo, cause?: unknown) => {
        if (established) return;
        established = true; // settled
        clearTimeout(timer);
        this.close(4000, 'open failed');
        reject(new TransportOpenError(info, cause === undefined ? undefined : { cause }));
      };
      const timer = setTimeout(
        () => fail({ code: 1006, reason: `no answer within ${this.options.openTimeoutMs} ms` }),
        this.options.openTimeoutMs,
      );
      try {
        socket = new this.options.WebSocket(url, this.#codec.subprotocol);
      } catch (cause) {
        fail({ code: 1006, reason: String(cause) }, cause);
        return;
      }
      this.#socket = socket;
      socket.binaryType = 'arraybuffer';
      socket.onopen = () => {
        if (this.#closed) return;
        // The server picks the subprotocol; an empty one means its default, JSON.
        this.#codec = codecFor(socket.protocol) ?? this.#codec;
        this.send({ op: 'ping' });
      };
      socket.onmessage = (event: WebSocketMessageEventLike) => {
        if (this.#closed) return;
        const frame = this.#decode(event.data);
        if (!established) {
          established = true;
          clearTimeout(timer);
          resolve();
          // After the opener's continuation has run (it is queued first), so the frame is not lost.
          if (frame !== undefined) queueMicrotask(() => this.#closed || this.options.sink.onFrame(frame));
          return;
        }
        if (frame !== undefined) this.options.sink.onFrame(frame);
      };
      socket.onclose = (event: WebSocketCloseEventLike) => {
        const info: CloseInfo = { code: event.code, reason: event.reason };
        if (!established) fail(info);
        else if (!this.#closed) {
          this.#closed = true;
          this.options.sink.onClose(info);
        }
      };
      // An error is always followed by a close, which reports it.
      socket.onerror = () => {};
    });
  }

  send(frame: ClientFrame): void {
    const socket = this.#socket;
    if (socket === undefined || socket.readyState !== OPEN || this.#closed) return;
    const bytes = this.#codec.encode(frame);
    socket.send(this.#codec.binary ? bytes : textDecoder.decode(bytes));
  }

  close(code = 1000, reason = ''): void {
    if (this.#closed) return;
    this.#closed = true;
    const socket = this.#socket;
    if (socket === undefined) return;
    try {
      // A dead peer would never answer the closing handshake.
      if (code !== 1000 && socket.terminate !== undefined) socket.terminate();
      else socket.close(code, reason);
    } catch {
      // Closing a socket that is still connecting throws in some implementations; it is gone anyway.
    }
  }

  #decode(data: unknown): ServerFrame | undefined {
    try {
      let input: string | Uint8Array;
      if (typeof data === 'string') input = data;
      else if (data instanceof ArrayBuffer) input = new Uint8Array(data);
      else if (ArrayBuffer.isView(data))
        input = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      else return undefined;
      const frame = this.#codec.decode(input);
      if (typeof frame !== 'object' || frame === null || typeof (frame as { op?: unknown }).op !== 'string') {
        return undefined;
      }
      return frame as ServerFrame;
    } catch {
      // A frame we cannot read is skipped; the server's frames are one object each.
      return undefined;
    }
  }
}

/** The WebSocket URL for an HTTP base URL: `http://h/base` → `ws://h/base/v1/ws?token=…`. */
export function webSocketUrl(baseUrl: string, token: string): string {
  const url = new URL(baseUrl);
  if (url.protocol === 'http:') url.protocol = 'ws:';
  else if (url.protocol === 'https:') url.protocol = 'wss:';
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/v1/ws`;
  url.search = '';
  url.hash = '';
  url.searchParams.set('token', token);
  return url.toString();
}
