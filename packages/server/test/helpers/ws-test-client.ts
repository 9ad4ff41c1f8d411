import type { ServerFrame } from '@roomcast/protocol';
import { jsonCodec, msgpackCodec, SUBPROTOCOL_JSON, SUBPROTOCOL_MSGPACK } from '@roomcast/protocol';
import { onTestFailed } from 'vitest';
import WebSocket from 'ws';
import { eventually } from './eventually.ts';

/**
 * A raw protocol client for tests: records every frame, lets a test wait for the frame it
 * expects, and sends raw bytes when a test needs to misbehave.
 */
export class WsTestClient {
  readonly frames: ServerFrame[] = [];
  closeCode: number | undefined;
  closeReason = '';
  private waiters: Array<{ match: (f: ServerFrame) => boolean; resolve: (f: ServerFrame) => void }> = [];
  private readonly closed: Promise<number>;
  private constructor(
    readonly ws: WebSocket,
    readonly codec: typeof jsonCodec,
  ) {
    ws.on('message', (data: Buffer) => {
      const frame = codec.decode(codec.binary ? new Uint8Array(data) : data.toString('utf8')) as ServerFrame;
      this.frames.push(frame);
      this.waiters = this.waiters.filter((w) => {
        if (!w.match(frame)) return true;
        w.resolve(frame);
        return false;
      });
    });
    this.closed = new Promise((resolve) =>
      ws.on('close', (code, reason) => {
        this.closeCode = code;
        this.closeReason = reason.toString();
        resolve(code);
      }),
    );
  }

  static async connect(
    wsUrl: string,
    token: string | undefined,
    opts: { codec?: 'json' | 'msgpack'; via?: 'query' | 'header' } = {},
  ): Promise<WsTestClient> {
    const codec = opts.codec === 'msgpack' ? msgpackCodec : jsonCodec;
    const url =
      token !== undefined && opts.via !== 'header' ? `${wsUrl}?token=${encodeURIComponent(token)}` : wsUrl;
    const headers =
      token !== undefined && opts.via === 'header' ? { authorization: `Bearer ${token}` } : undefined;
    const ws = new WebSocket(
      url,
      opts.codec === 'msgpack' ? SUBPROTOCOL_MSGPACK : SUBPROTOCOL_JSON,
      headers ? { headers } : {},
    );
    const client = new WsTestClient(ws, codec);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return client;
  }

  send(frame: unknown): void {
    this.ws.send(this.codec.encode(frame), { binary: this.codec.binary });
  }

  sendRaw(data: string | Buffer, binary = false): void {
    this.ws.send(data, { binary });
  }

  /**
   * Resolves with the first recorded or future frame matching `match`. Without `timeoutMs` it waits
   * as long as the test may run (its timeout is the deadline; a failed test prints the last frames).
   */
  waitFor<T extends ServerFrame>(match: (f: ServerFrame) => f is T, timeoutMs?: number): Promise<T>;
  waitFor(match: (f: ServerFrame) => boolean, timeoutMs?: number): Promise<ServerFrame>;
  waitFor(match: (f: ServerFrame) => boolean, timeoutMs?: number): Promise<ServerFrame> {
    const found = this.frames.find(match);
    if (found !== undefined) return Promise.resolve(found);
    const lastFrames = () => JSON.stringify(this.frames.slice(-5));
    let pending = true;
    reportIfTestFails(() =>
      pending ? `still waiting for a matching frame; got ${lastFrames()}` : undefined,
    );
    return new Promise((resolve, reject) => {
      const timer =
        timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              pending = false;
              reject(new Error(`no matching frame in ${timeoutMs} ms; got ${lastFrames()}`));
            }, timeoutMs);
      this.waiters.push({
        match,
        resolve: (f) => {
          pending = false;
          clearTimeout(timer);
          resolve(f);
        },
      });
    });
  }

  async join(
    room: string,
    extra: { cursor?: number; epoch?: string } = {},
  ): Promise<Extract<ServerFrame, { op: 'joined' }>> {
    this.send({ op: 'join', room, ...extra });
    const frame = await this.waitFor(
      (f) => (f.op === 'joined' && f.room === room) || (f.op === 'error' && f.room === room),
    );
    if (frame.op !== 'joined') throw new Error(`join failed: ${JSON.stringify(frame)}`);
    return frame;
  }

  /** Every event received for a room, in arrival order. */
  events(
    room: string,
  ): Array<{ seq: number; type: string; data: Record<string, unknown>; from: string | null }> {
    return this.frames.flatMap((f) => (f.op === 'ts' && f.room === room ? f.events : []));
  }

  /**
   * Waits until `count` events (of `type`, when given) of the room have arrived; as long as the
   * test may run unless `timeoutMs` is given.
   */
  async waitForEvents(room: string, count: number, type?: string, timeoutMs?: number): Promise<void> {
    const seen = () => this.events(room).filter((e) => type === undefined || e.type === type).length;
    const what = `${count} ${type ?? ''} events in ${room}`;
    if (timeoutMs === undefined) {
      await eventually(what, () => seen() >= count, { seen });
      return;
    }
    const deadline = Date.now() + timeoutMs;
    while (seen() < count) {
      if (Date.now() > deadline) throw new Error(`got ${seen()} of ${count} events in ${room}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Resolves with the close code; as long as the test may run unless `timeoutMs` is given. */
  waitClosed(timeoutMs?: number): Promise<number> {
    if (timeoutMs === undefined) return this.closed;
    return Promise.race([
      this.closed,
      new Promise<number>((_, reject) => setTimeout(() => reject(new Error('not closed')), timeoutMs)),
    ]);
  }

  /**
   * A ping and its pong: every frame the server sent before answering is in `frames` now. How a test
   * shows that something did not arrive without sleeping.
   */
  async roundTrip(): Promise<void> {
    const pongs = () => this.frames.filter((f) => f.op === 'pong').length;
    const before = pongs();
    this.send({ op: 'ping' });
    await eventually('a pong', () => pongs() > before);
  }

  close(): void {
    this.ws.close();
  }

  terminate(): void {
    this.ws.terminate();
  }
}

/** Prints `message()` (when it has one) if the current test fails; nothing outside a test. */
function reportIfTestFails(message: () => string | undefined): void {
  try {
    onTestFailed(() => {
      const text = message();
      if (text !== undefined) console.error(text);
    });
  } catch {
    // Outside a test (a beforeAll hook): nothing to report to.
  }
}
