/**
 * The steady workload of the fault suite: comments over HTTP (round robin over the API nodes, one
 * Idempotency-Key per comment, retried with the same key until acknowledged or a deadline), state
 * changes by the host, peer signals from a service, gifts with Idempotency-Key. Every attempt that
 * was not acknowledged is counted by status in the fault window it happened in.
 */
import { http, isRecord, retryable, sleep } from './http.ts';

/** Per fault window. */
export interface WindowStats {
  attempts: number;
  /** Publishes first attempted in this window. */
  published: number;
  acked: number;
  /** Not acknowledged before the deadline. */
  gaveUp: number;
  /** Failed attempts (comments, gifts, state, peers) by outcome: `503`, `500`, `network`, … */
  failures: Map<string, number>;
  duplicates: number;
  outOfOrder: number;
  resets: number;
  /** Time of the first ack received in this window and of the last failed comment attempt. */
  firstAckAt?: number;
  lastFailureAt?: number;
  /** A few bodies of 500 answers, for the report. */
  samples: string[];
  networkSamples: string[];
}

export function newWindow(): WindowStats {
  return {
    attempts: 0,
    published: 0,
    acked: 0,
    gaveUp: 0,
    failures: new Map(),
    duplicates: 0,
    outOfOrder: 0,
    resets: 0,
    samples: [],
    networkSamples: [],
  };
}

export interface Ack {
  room: string;
  text: string;
  seq: number;
  window: number;
}

export interface GiftRecord {
  key: string;
  room: string;
  sender: string;
  gift: string;
  count: number;
  window: number;
  acked?: { transfer: string; amount: number; seq: number };
  /** A 4xx answer: no money moved, no key kept. */
  refused?: number;
}

export interface WorkloadContext {
  apis(): string[];
  window(): number;
  stats(window: number): WindowStats;
  running(): boolean;
}

export class Workload {
  readonly acks: Ack[] = [];
  readonly gifts: GiftRecord[] = [];
  readonly peersSent = new Map<string, string[]>();
  stateAcked = 0;
  lastAckAt = 0;
  lastStateValue: string | undefined;
  inflight = 0;
  skipped = 0;
  private rr = 0;
  private seqNo = 0;
  private readonly loops: Promise<void>[] = [];

  constructor(
    private readonly ctx: WorkloadContext,
    private readonly opts: {
      rooms: string[];
      publisher: string;
      hosts: string[];
      service: string;
      viewers: { user: string; token: string; room: string }[];
      ratePerSecond: number;
      deadlineMs: number;
      random: () => number;
    },
  ) {}

  api(): string {
    const apis = this.ctx.apis();
    return apis[this.rr++ % apis.length] as string;
  }

  start(): void {
    this.loops.push(this.every(1000 / this.opts.ratePerSecond, () => this.comment()));
    this.loops.push(this.every(2000, () => this.stateChange()));
    this.loops.push(this.every(1000, () => this.peer()));
    this.loops.push(this.every(700, () => this.gift()));
  }

  async stop(): Promise<void> {
    await Promise.all(this.loops);
    // Let the requests in flight finish (each is bounded by the deadline).
    for (let i = 0; i < 400 && this.inflight > 0; i++) await sleep(100);
  }

  private async every(ms: number, task: () => Promise<void>): Promise<void> {
    let next = Date.now();
    while (this.ctx.running()) {
      if (this.inflight < 400) {
        this.inflight++;
        void task().finally(() => this.inflight--);
      } else this.skipped++;
      next += ms;
      await sleep(Math.max(0, next - Date.now()));
    }
  }

  private fail(window: number, outcome: string, text: string, comment: boolean): void {
    const stats = this.ctx.stats(window);
    stats.failures.set(outcome, (stats.failures.get(outcome) ?? 0) + 1);
    if (comment) stats.lastFailureAt = Date.now();
    if (/(^| )500$/.test(outcome) && stats.samples.length < 3)
      stats.samples.push(`${outcome}: ${text.slice(0, 300)}`);
    if (/network|timeout/.test(outcome) && stats.networkSamples.length < 2)
      stats.networkSamples.push(text.slice(0, 200));
  }

  /**
   * Sends one request until it is answered with something other than a retryable failure, or the
   * deadline passes; retries go to the next API node with the same body and key.
   */
  private async untilAnswered(
    method: 'POST' | 'PUT',
    path: string,
    opts: { token: string; body?: unknown; key?: string; comment?: boolean; kind: string },
  ): Promise<{ status: number; body: unknown; text: string } | undefined> {
    const deadline = Date.now() + this.opts.deadlineMs;
    for (let attempt = 0; Date.now() < deadline && attempt < 200; attempt++) {
      const window = this.ctx.window();
      if (opts.comment === true) this.ctx.stats(window).attempts++;
      const result = await http(method, `${this.api()}${path}`, {
        token: opts.token,
        ...(opts.body === undefined ? {} : { body: opts.body }),
        ...(opts.key === undefined ? {} : { key: opts.key }),
        timeoutMs: 4000,
      });
      if (!retryable(result)) return result;
      const label = opts.kind === 'comment' ? result.outcome : `${opts.kind} ${result.outcome}`;
      this.fail(window, label, result.text, opts.comment === true);
      await sleep(Math.min(1000, result.retryAfterMs ?? 100 * 2 ** Math.min(attempt, 3)));
    }
    return undefined;
  }

  async comment(): Promise<void> {
    const n = ++this.seqNo;
    const room = this.opts.rooms[n % this.opts.rooms.length] as string;
    const text = `chaos-${n}`;
    const window = this.ctx.window();
    this.ctx.stats(window).published++;
    const result = await this.untilAnswered('POST', `/v1/rooms/${room}/events`, {
      token: this.opts.publisher,
      body: { type: 'comment', data: { text } },
      key: `c-${n}`,
      comment: true,
      kind: 'comment',
    });
    const seq = isRecord(result?.body) ? result.body.seq : undefined;
    if (result?.status === 201 && typeof seq === 'number') {
      this.acks.push({ room, text, seq, window });
      this.lastAckAt = Date.now();
      this.ctx.stats(window).acked++;
      this.ctx.stats(this.ctx.window()).firstAckAt ??= Date.now();
    } else if (result === undefined) this.ctx.stats(window).gaveUp++;
    else this.fail(window, `refused ${result.status}`, result.text, true);
  }

  private async stateChange(): Promise<void> {
    const index = Math.floor(this.opts.random() * this.opts.rooms.length);
    const room = this.opts.rooms[index] as string;
    const value = `title-${Date.now()}`;
    const result = await this.untilAnswered('PUT', `/v1/rooms/${room}/state/title`, {
      token: this.opts.hosts[index] as string,
      body: { value },
      kind: 'state',
    });
    if (result?.status === 200) this.stateAcked++;
    else if (result !== undefined) this.fail(this.ctx.window(), `state ${result.status}`, result.text, false);
  }

  private async peer(): Promise<void> {
    const index = Math.floor(this.opts.random() * this.opts.rooms.length);
    const room = this.opts.rooms[index] as string;
    const members = this.opts.viewers.filter((v) => v.room === room);
    const to = [0, 1, 2].map(() => members[Math.floor(this.opts.random() * members.length)]?.user as string);
    const targets = [...new Set(to)];
    const result = await this.untilAnswered('POST', `/v1/rooms/${room}/peer`, {
      token: this.opts.service,
      body: { to: targets, type: 'note', data: { at: Date.now() } },
      kind: 'peer',
    });
    const id = isRecord(result?.body) ? result.body.id : undefined;
    if (result?.status === 202 && typeof id === 'string') this.peersSent.set(id, targets);
    else if (result !== undefined) this.fail(this.ctx.window(), `peer ${result.status}`, result.text, false);
  }

  private async gift(): Promise<void> {
    const viewer = this.opts.viewers[Math.floor(this.opts.random() * this.opts.viewers.length)];
    if (viewer === undefined) return;
    const record: GiftRecord = {
      key: `g-${this.gifts.length + 1}-${viewer.user}`,
      room: viewer.room,
      sender: viewer.user,
      gift: this.opts.random() < 0.8 ? 'rose' : 'heart',
      count: 1 + Math.floor(this.opts.random() * 3),
      window: this.ctx.window(),
    };
    this.gifts.push(record);
    await this.sendGift(record, viewer.token);
  }

  /** Sends (or resends, with the same key) one gift until acknowledged, refused, or the deadline. */
  async sendGift(record: GiftRecord, token: string): Promise<void> {
    const result = await this.untilAnswered('POST', `/v1/rooms/${record.room}/gifts`, {
      token,
      body: { gift: record.gift, count: record.count },
      key: record.key,
      kind: 'gift',
    });
    const body = isRecord(result?.body) ? result.body : undefined;
    const transfer = isRecord(body?.transfer) ? body.transfer : undefined;
    if (result?.status === 201 && transfer !== undefined && typeof body?.seq === 'number') {
      record.acked = { transfer: String(transfer.id), amount: Number(transfer.amount), seq: body.seq };
    } else if (result !== undefined) {
      record.refused = result.status;
      this.fail(this.ctx.window(), `gift ${result.status}`, result.text, false);
    }
  }
}
