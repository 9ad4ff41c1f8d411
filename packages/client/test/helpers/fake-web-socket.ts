import type { ClientFrame, ServerFrame } from '@roomcast/protocol';
import type { WebSocketConstructor, WebSocketLike } from '../../src/index.ts';

/**
 * An in-memory WebSocket for unit tests: the test plays the server. Every constructed socket is
 * recorded in `FakeServer.sockets`; the test opens, feeds frames to, and closes them.
 */
export class FakeSocket implements WebSocketLike {
  protocol = '';
  readyState = 0;
  binaryType = 'blob';
  onopen: ((event: never) => void) | null = null;
  onmessage: ((event: never) => void) | null = null;
  onclose: ((event: never) => void) | null = null;
  onerror: ((event: never) => void) | null = null;
  readonly sent: ClientFrame[] = [];
  closedWith: { code: number | undefined; reason: string | undefined } | undefined;

  constructor(
    readonly url: string,
    readonly protocols: string | string[] | undefined,
  ) {}

  send(data: string | Uint8Array): void {
    if (typeof data !== 'string') throw new Error('the fake only speaks JSON');
    this.sent.push(JSON.parse(data) as ClientFrame);
  }

  close(code?: number, reason?: string): void {
    this.closedWith = { code, reason };
    this.readyState = 3;
  }

  // ---- the server side

  /** Accepts the connection and answers the client's opening ping (unless `answer` is false). */
  accept(protocol = 'roomcast.v1.json', answer = true): void {
    this.protocol = protocol;
    this.readyState = 1;
    (this.onopen as ((e: unknown) => void) | null)?.({});
    if (answer) this.push({ op: 'pong' });
  }

  /** Sends a frame to the client. */
  push(frame: ServerFrame): void {
    (this.onmessage as ((e: { data: unknown }) => void) | null)?.({ data: JSON.stringify(frame) });
  }

  /** Closes from the server side (or fails to connect, before `accept`). */
  drop(code = 1006, reason = ''): void {
    this.readyState = 3;
    (this.onerror as ((e: unknown) => void) | null)?.({});
    (this.onclose as ((e: { code: number; reason: string }) => void) | null)?.({ code, reason });
  }

  /** Frames the client sent with this op. */
  sentOps<Op extends ClientFrame['op']>(op: Op): Extract<ClientFrame, { op: Op }>[] {
    return this.sent.filter((f): f is Extract<ClientFrame, { op: Op }> => f.op === op);
  }
}

/** A factory of fake sockets to pass as `options.webSocket`. */
export class FakeServer {
  readonly sockets: FakeSocket[] = [];

  readonly WebSocket: WebSocketConstructor = ((server: FakeServer) =>
    class extends FakeSocket {
      constructor(url: string, protocols?: string | string[]) {
        super(url, protocols);
        server.sockets.push(this);
      }
    })(this);

  /** The newest socket. */
  get last(): FakeSocket {
    const socket = this.sockets[this.sockets.length - 1];
    if (socket === undefined) throw new Error('no socket yet');
    return socket;
  }
}

/** Lets pending promise callbacks (and microtasks) run. */
export async function flush(times = 20): Promise<void> {
  for (let i = 0; i < times; i++) await Promise.resolve();
}
