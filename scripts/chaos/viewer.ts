/**
 * One WebSocket viewer on the raw protocol: asks dispatch (`GET /v1/rooms/:room/endpoint`) for the
 * room's gateways before every connect, joins with its cursor and epoch, reconnects (with backoff)
 * whenever the connection ends or the gateway says `reconnect`, and checks its own stream: a seq
 * seen twice is a duplicate delivery, a seq not above the previous one on the same connection is
 * out of order.
 */
import WebSocket from 'ws';
import { http, isRecord } from './http.ts';

export interface ViewerSink {
  /** The fault window an observation belongs to. */
  window(): number;
  /** A comment the suite published (`chaos-…` text), received at `seq`. */
  comment(room: string, text: string, seq: number): void;
  duplicate(window: number): void;
  outOfOrder(window: number): void;
  reset(window: number): void;
  /** The next API base URL (round robin). */
  api(): string;
}

interface WireEvent {
  seq: number;
  type: string;
  data?: Record<string, unknown>;
}

export class Viewer {
  joined = false;
  cursor = 0;
  epoch: string | undefined;
  /** The gateway URL of the current connection. */
  gateway: string | undefined;
  connects = 0;
  lastJoinedAt = 0;
  readonly closes = new Map<string, number>();
  readonly errors = new Map<string, number>();
  readonly state = new Map<string, number>();
  readonly peers = new Set<string>();
  private readonly seen = new Set<number>();
  private ws: WebSocket | undefined;
  private lastInConnection = 0;
  private running = true;
  private lastFrameAt = 0;
  private failures = 0;
  private loop: Promise<void> | undefined;

  constructor(
    readonly user: string,
    private readonly token: string,
    readonly room: string,
    private readonly sink: ViewerSink,
  ) {}

  start(): void {
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.ws?.close(1000);
    await this.loop;
  }

  private async run(): Promise<void> {
    while (this.running) {
      const url = await this.endpoint();
      if (url !== undefined) await this.connectOnce(url);
      if (!this.running) return;
      // Backoff with jitter: 100 ms after a clean reconnect, up to 2 s after repeated failures.
      const delay = Math.min(2000, 100 * 2 ** Math.min(this.failures, 5)) * (0.5 + Math.random());
      await new Promise((r) => setTimeout(r, delay));
    }
  }

  private async endpoint(): Promise<string | undefined> {
    const result = await http('GET', `${this.sink.api()}/v1/rooms/${this.room}/endpoint`, {
      token: this.token,
      timeoutMs: 3000,
    });
    const ws = isRecord(result.body) ? result.body.ws : undefined;
    if (result.status !== 200 || !Array.isArray(ws) || ws.length === 0) {
      this.failures++;
      return undefined;
    }
    return String(ws[Math.floor(Math.random() * ws.length)]);
  }

  private connectOnce(url: string): Promise<void> {
    return new Promise((resolve) => {
      this.connects++;
      this.lastInConnection = 0;
      this.gateway = url;
      const ws = new WebSocket(`${url}?token=${encodeURIComponent(this.token)}`, 'roomcast.v1.json', {
        handshakeTimeout: 3000,
      });
      this.ws = ws;
      this.lastFrameAt = Date.now();
      const liveness = setInterval(() => {
        // A connection that stays silent (no pong to our ping) is dead: start again.
        if (Date.now() - this.lastFrameAt > 10_000) ws.terminate();
        else if (ws.readyState === WebSocket.OPEN) ws.send('{"op":"ping"}');
      }, 4000);
      ws.on('open', () => {
        const join: Record<string, unknown> = { op: 'join', room: this.room };
        if (this.cursor > 0) join.cursor = this.cursor;
        if (this.epoch !== undefined) join.epoch = this.epoch;
        ws.send(JSON.stringify(join));
      });
      ws.on('message', (data) => {
        this.lastFrameAt = Date.now();
        let frame: unknown;
        try {
          frame = JSON.parse(data.toString());
        } catch {
          return;
        }
        if (isRecord(frame)) this.onFrame(ws, frame);
      });
      ws.on('error', () => undefined);
      ws.on('close', (code) => {
        clearInterval(liveness);
        if (this.joined) this.failures = 0;
        else this.failures++;
        this.joined = false;
        this.gateway = undefined;
        this.closes.set(String(code), (this.closes.get(String(code)) ?? 0) + 1);
        resolve();
      });
    });
  }

  private onFrame(ws: WebSocket, frame: Record<string, unknown>): void {
    switch (frame.op) {
      case 'joined': {
        this.joined = true;
        this.lastJoinedAt = Date.now();
        if (typeof frame.epoch === 'string') this.epoch = frame.epoch;
        const state = isRecord(frame.state) ? frame.state.partials : undefined;
        if (isRecord(state)) this.applyState(state);
        break;
      }
      case 'ts': {
        const window = this.sink.window();
        for (const event of (frame.events ?? []) as WireEvent[]) {
          if (event.seq <= this.lastInConnection) this.sink.outOfOrder(window);
          this.lastInConnection = Math.max(this.lastInConnection, event.seq);
          if (this.seen.has(event.seq)) {
            this.sink.duplicate(window);
            continue;
          }
          this.seen.add(event.seq);
          this.cursor = Math.max(this.cursor, event.seq);
          const text = event.data?.text;
          if (event.type === 'comment' && typeof text === 'string' && text.startsWith('chaos-'))
            this.sink.comment(this.room, text, event.seq);
        }
        break;
      }
      case 'ss':
        if (isRecord(frame.partials)) this.applyState(frame.partials);
        break;
      case 'reset':
        this.sink.reset(this.sink.window());
        if (typeof frame.seq === 'number') this.cursor = frame.seq;
        if (typeof frame.epoch === 'string') this.epoch = frame.epoch;
        break;
      case 'peer':
        if (typeof frame.id === 'string') this.peers.add(frame.id);
        break;
      case 'reconnect':
        setTimeout(() => ws.close(1000), Number(frame.delayMs) || 0);
        break;
      case 'error': {
        const code = String(frame.code);
        this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
        // A refused join (a store down): start over on a fresh connection.
        if (frame.room === this.room && !this.joined) ws.close(1000);
        break;
      }
    }
  }

  private applyState(partials: Record<string, unknown>): void {
    for (const [name, partial] of Object.entries(partials)) {
      if (isRecord(partial) && typeof partial.v === 'number')
        this.state.set(name, Math.max(this.state.get(name) ?? 0, partial.v));
    }
  }
}
