import { msgpackCodec, SUBPROTOCOL_JSON, SUBPROTOCOL_MSGPACK } from '@roomcast/protocol';
import WebSocket from 'ws';

/** What a control client needs of the server under test. */
export interface ControlServer {
  wsUrl: string;
  /** A token for `user`. */
  token(user: string): Promise<string>;
}

/**
 * A well-behaved client of the fuzz suites: joins the room and records every event it gets, and
 * anything a well-behaved client should never see (an error, a reset, dropped events) as a problem.
 */
export class ControlClient {
  readonly ws: WebSocket;
  readonly events: Array<{ seq: number; type: string; data: Record<string, unknown> }> = [];
  readonly problems: string[] = [];
  closeCode: number | undefined;
  private joined: ((error?: string) => void) | undefined;

  private constructor(
    server: ControlServer,
    readonly binary: boolean,
    token: string,
    readonly room: string,
  ) {
    this.ws = new WebSocket(
      `${server.wsUrl}?token=${encodeURIComponent(token)}`,
      binary ? SUBPROTOCOL_MSGPACK : SUBPROTOCOL_JSON,
    );
    this.ws.on('error', () => undefined);
    this.ws.on('close', (code) => {
      this.closeCode = code;
    });
    this.ws.on('message', (data: Buffer) => {
      let frame: { op: string; room?: string; events?: ControlClient['events']; dropped?: number };
      try {
        frame = (
          binary ? msgpackCodec.decode(new Uint8Array(data)) : JSON.parse(data.toString('utf8'))
        ) as typeof frame;
      } catch (err) {
        this.problems.push(`undecodable frame: ${String(err)}`);
        return;
      }
      if (frame.op === 'joined' && frame.room === room) this.joined?.();
      if (frame.op === 'error') this.joined?.(JSON.stringify(frame));
      if (frame.op === 'error' || frame.op === 'left' || frame.op === 'reset')
        this.problems.push(`unexpected ${JSON.stringify(frame).slice(0, 200)}`);
      if (frame.op === 'ts' && frame.room === room) {
        if (frame.dropped !== undefined) this.problems.push(`events dropped: ${frame.dropped}`);
        this.events.push(...(frame.events ?? []));
      }
    });
  }

  /** Connects as `user` (JSON, or MessagePack when `binary`) and joins `room`. */
  static async join(
    server: ControlServer,
    user: string,
    binary: boolean,
    room: string,
  ): Promise<ControlClient> {
    const c = new ControlClient(server, binary, await server.token(user), room);
    await new Promise<void>((resolve, reject) => {
      c.ws.once('open', () => resolve());
      c.ws.once('error', reject);
    });
    const joined = new Promise<void>((resolve, reject) => {
      c.joined = (error) => (error === undefined ? resolve() : reject(new Error(`control join: ${error}`)));
    });
    c.ws.send(binary ? msgpackCodec.encode({ op: 'join', room }) : JSON.stringify({ op: 'join', room }), {
      binary,
    });
    await joined;
    return c;
  }

  has(seq: number): boolean {
    return this.events.some((e) => e.seq >= seq);
  }
}

/** Resolves once `done()` holds, checking after each turn of the event loop; rejects after `ms`. */
export async function until(done: () => boolean, ms: number, what: () => string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
