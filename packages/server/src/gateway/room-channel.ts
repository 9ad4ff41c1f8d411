import {
  type FrameCodec,
  isHighPriorityEventType,
  type PartialState,
  type RoomEvent,
  type SsFrame,
  type StateSnapshot,
  type TsFrame,
} from '@roomcast/protocol';
import type { Logger } from 'pino';
import type { KickReason, RoomSignal } from '../core/bus-signals.ts';
import { getOrInsert } from '../core/get-or-insert.ts';
import type { HistoryPage, RoomHistory } from '../core/ports/room-history.ts';
import type { RoomStateStore } from '../core/ports/room-state.ts';
import { needsReset } from '../core/room-events.ts';
import type { RoomcastMetrics } from '../observability/metrics.ts';
import type { ClientConnection, OutboundFrame } from './client-connection.ts';
import { RecentEvents } from './recent-events.ts';

export interface RoomChannelOptions {
  batchWindowMs: number;
  immediateBelowMembers: number;
  /** Rooms with at least this many members here wait `hugeRoomWindowMs` instead: a frame per recipient is the fan-out's unit cost. */
  hugeRoomMembers: number;
  hugeRoomWindowMs: number;
  /** How long an out-of-order event waits for the missing seqs before they are read from history. */
  gapWaitMs: number;
  recentCapacity: number;
  historyCapacity: number;
}

/** What a joining connection gets besides live events, prepared before it is added. */
export interface JoinPlan {
  state: StateSnapshot;
  /** Missed events to replay (resume), already read; see RoomChannel.prepareResume. */
  replay?: ResumeRead;
}

export interface ResumeRead {
  cursor: number;
  reset: boolean;
  events: RoomEvent[];
}

const REPLAY_CHUNK = 200;

/**
 * One room on one gateway: the members connected here, the room's bus subscription, and the
 * fan-out. Events are put in seq order (a gap waits briefly, then is filled from history), merged
 * per window, encoded once per codec and handed to every member as the same bytes.
 */
export class RoomChannel {
  private readonly members = new Set<ClientConnection>();
  private readonly byCodec = new Map<FrameCodec, Set<ClientConnection>>();
  /** History epoch and the newest seq taken into this channel, in order. */
  epoch = '';
  private lastSeq = 0;
  /** The newest seq already handed to members. */
  private flushedSeq = 0;
  private pending: RoomEvent[] = [];
  private pendingState: Map<string, PartialState> | undefined;
  private pendingTotal = 0;
  /** Newest state notice per partial since subscribing, for joiners whose snapshot raced a change. */
  private readonly knownState = new Map<string, PartialState>();
  private readonly outOfOrder = new Map<number, RoomEvent>();
  private gapTimer: NodeJS.Timeout | undefined;
  private flushScheduled = false;
  private lastFlushAt = Number.NEGATIVE_INFINITY;
  private readonly recent: RecentEvents;
  private readonly inflightReads: Array<{ after: number; page: Promise<HistoryPage> }> = [];
  private ready = false;
  private readonly early: RoomSignal[] = [];
  /** The history's top at the previous position check, to tell a lost tail from one still in flight. */
  private checkedTop = 0;
  private checking = false;
  /** Encode failures already logged for this room, by codec and cause. */
  private readonly loggedFailures = new Set<string>();
  closed = false;

  constructor(
    readonly room: string,
    private readonly deps: {
      history: RoomHistory;
      state: RoomStateStore;
      metrics: RoomcastMetrics;
      logger?: Logger;
      options: RoomChannelOptions;
      /** A member's subscription ended by the server (kick, ban, room end). */
      onEvicted(conn: ClientConnection, room: string, reason: KickReason): void;
    },
  ) {
    this.recent = new RecentEvents(deps.options.recentCapacity);
  }

  get size(): number {
    return this.members.size;
  }

  /** Called once the bus subscription is active: where the room's history stands now. */
  start(epoch: string, top: number): void {
    this.epoch = epoch;
    this.lastSeq = top;
    this.flushedSeq = top;
    this.checkedTop = top;
    this.ready = true;
    for (const signal of this.early.splice(0)) this.onSignal(signal);
  }

  onSignal(signal: RoomSignal): void {
    if (this.closed) return;
    if (!this.ready) {
      this.early.push(signal);
      return;
    }
    switch (signal.kind) {
      case 'ts':
        this.onEvent(signal.epoch, signal.event, signal.floor);
        return;
      case 'ss':
        this.onState(signal.total, signal.partials);
        return;
      case 'kick':
        this.flush();
        for (const conn of [...this.members]) {
          if (conn.userId === signal.user) this.evict(conn, signal.reason);
        }
        return;
      case 'close':
        this.flush();
        for (const conn of [...this.members]) this.evict(conn, signal.reason);
        return;
    }
  }

  /**
   * Reads what a resuming client missed. Concurrent resumes share reads: recent events come from
   * memory, and an in-flight history read from an earlier cursor serves every later cursor.
   */
  async prepareResume(cursor: number, epoch: string | undefined): Promise<ResumeRead> {
    const { metrics } = this.deps;
    if (epoch !== undefined && epoch !== '' && epoch !== this.epoch)
      return { cursor, reset: true, events: [] };
    if (cursor >= this.flushedSeq) {
      if (cursor <= this.lastSeq) return { cursor, reset: false, events: [] };
      // Ahead of everything this gateway has seen: valid only if the history agrees.
      const page = await this.sharedRead(cursor);
      return { cursor, reset: needsReset(cursor, epoch, page), events: [] };
    }
    if (this.recent.covers(cursor)) {
      metrics.historyReads.inc({ source: 'memory' });
      return { cursor, reset: false, events: [] };
    }
    const page = await this.sharedRead(cursor);
    if (needsReset(cursor, epoch, page)) return { cursor, reset: true, events: [] };
    return { cursor, reset: false, events: page.events.filter((e) => e.seq > cursor) };
  }

  /**
   * Adds a member and sends it `joined`, then whatever it missed up to what this channel already
   * flushed; everything later reaches it with the next flush. Synchronous, so no event can fall
   * between the replay and the live stream.
   */
  addMember(conn: ClientConnection, plan: JoinPlan): void {
    conn.sendFrame({
      op: 'joined',
      room: this.room,
      seq: this.flushedSeq,
      epoch: this.epoch,
      state: plan.state,
    });
    const replay = plan.replay;
    if (replay !== undefined) {
      const events = replay.reset ? undefined : this.completeReplay(replay);
      if (events === undefined) {
        this.deps.metrics.resumes.inc({ outcome: 'reset' });
        conn.sendFrame({ op: 'reset', room: this.room, seq: this.flushedSeq, epoch: this.epoch });
      } else {
        this.deps.metrics.resumes.inc({ outcome: 'replayed' });
        for (let i = 0; i < events.length; i += REPLAY_CHUNK) {
          conn.sendFrame({ op: 'ts', room: this.room, events: events.slice(i, i + REPLAY_CHUNK) });
        }
      }
    }
    const raced: Record<string, PartialState> = {};
    let racedAny = false;
    for (const [name, partial] of this.knownState) {
      if ((plan.state.partials[name]?.v ?? 0) < partial.v) {
        raced[name] = partial;
        racedAny = true;
      }
    }
    // What the joiner's snapshot holds is known here too: the position check and the catch-up
    // then announce only partials newer than that, not every partial of a fresh channel again.
    for (const [name, partial] of Object.entries(plan.state.partials)) {
      if ((this.knownState.get(name)?.v ?? 0) < partial.v) this.knownState.set(name, partial);
    }
    this.pendingTotal = Math.max(this.pendingTotal, plan.state.total);
    if (racedAny) conn.sendFrame({ op: 'ss', room: this.room, total: this.pendingTotal, partials: raced });
    this.members.add(conn);
    getOrInsert(this.byCodec, conn.codec, () => new Set<ClientConnection>()).add(conn);
  }

  removeMember(conn: ClientConnection): void {
    if (!this.members.delete(conn)) return;
    this.byCodec.get(conn.codec)?.delete(conn);
  }

  /**
   * The bus reconnected and may have dropped signals: take whatever history holds after the last
   * seq, as if it had arrived on the bus (in order, no duplicates, a reset if the epoch changed).
   */
  async catchUp(): Promise<void> {
    if (!this.ready || this.closed) return;
    const versions = await this.deps.state.versions(this.room);
    // State notices may be lost too: announce every partial (version only) this channel has not
    // seen at that version; members already there ignore it, the others fetch the value.
    const partials: Record<string, PartialState> = {};
    for (const [name, v] of Object.entries(versions.partials)) partials[name] = { v };
    if (Object.keys(partials).length > 0) this.onState(versions.total, partials);
    await this.readTail();
  }

  /**
   * The position check (Centrifugo's stream position check): compares the history's top with the
   * newest seq taken here. A difference that was already there at the previous check is not in
   * flight on the bus but lost (a publisher died between storing and announcing, a bus hiccup):
   * it is read from history, so even a quiet room's last event reaches every member within two
   * check intervals. A changed epoch is taken at once. State versions are compared the same way.
   */
  async checkPosition(): Promise<void> {
    if (!this.ready || this.closed || this.checking) return;
    this.checking = true;
    try {
      const [position, versions] = await Promise.all([
        this.deps.history.position(this.room),
        this.deps.state.versions(this.room),
      ]);
      if (this.closed) return;
      const missing: Record<string, PartialState> = {};
      for (const [name, v] of Object.entries(versions.partials)) {
        if ((this.knownState.get(name)?.v ?? 0) < v) missing[name] = { v };
      }
      if (Object.keys(missing).length > 0 && versions.total > this.pendingTotal) {
        this.onState(versions.total, missing);
      }
      const epochChanged = position.epoch !== this.epoch;
      const lostTail = position.top > this.lastSeq && this.checkedTop > this.lastSeq;
      this.checkedTop = position.top;
      if (!epochChanged && !lostTail) return;
      this.deps.metrics.positionCatchUps.inc({ cause: epochChanged ? 'epoch' : 'tail' });
      await this.readTail();
    } finally {
      this.checking = false;
    }
  }

  /** Takes every event history holds after the last seq taken here, in pages. */
  private async readTail(): Promise<void> {
    while (this.ready && !this.closed) {
      const before = this.lastSeq;
      const page = await this.deps.history.read(this.room, before, REPLAY_CHUNK);
      if (page.epoch !== this.epoch) this.switchEpoch(page.epoch, page.floor);
      for (const event of page.events) this.onEvent(page.epoch, event, page.floor);
      // A short page is the end; no progress (a gap now waiting for its fill) ends it too.
      if (page.events.length < REPLAY_CHUNK || this.lastSeq <= before) return;
    }
  }

  hasMember(conn: ClientConnection): boolean {
    return this.members.has(conn);
  }

  /** Stops the channel: pending events are flushed, timers cleared. */
  close(): void {
    this.flush();
    this.closed = true;
    if (this.gapTimer !== undefined) clearTimeout(this.gapTimer);
  }

  /**
   * Takes one event into the channel in seq order. Seqs are never reused in a room, so an event of
   * another epoch with a seq above the last one starts that epoch (its floor says where: nothing
   * between the floor and the event exists), and one at or below it is a late echo of an older
   * epoch. Within an epoch, a floor above the last seq means the epoch started above it.
   */
  private onEvent(epoch: string, event: RoomEvent, floor: number | undefined): void {
    if (event.seq <= this.lastSeq) return;
    if (epoch !== this.epoch) this.switchEpoch(epoch, floor ?? event.seq - 1);
    else if (floor !== undefined && floor > this.lastSeq) this.skipTo(floor);
    if (event.seq === this.lastSeq + 1) {
      this.accept(event);
      this.drainOutOfOrder();
      return;
    }
    this.outOfOrder.set(event.seq, event);
    if (this.gapTimer === undefined) {
      this.gapTimer = setTimeout(() => void this.fillGap(), this.deps.options.gapWaitMs);
    }
  }

  /**
   * The room's history was lost and continues under a new epoch above `floor`: what members missed
   * in between is gone, so they are told to reset, and the channel continues from the floor.
   */
  private switchEpoch(epoch: string, floor: number): void {
    this.flush();
    this.epoch = epoch;
    this.recent.clear();
    this.knownState.clear();
    this.skipTo(Math.max(floor, this.lastSeq));
    const reset = { op: 'reset', room: this.room, seq: this.flushedSeq, epoch } as const;
    for (const conn of this.members) conn.sendFrame(reset);
  }

  /** No seq up to `seq` will come: continue after it (out-of-order events above it stay waiting). */
  private skipTo(seq: number): void {
    this.lastSeq = seq;
    this.flushedSeq = Math.max(this.flushedSeq, seq);
    for (const waiting of this.outOfOrder.keys()) if (waiting <= seq) this.outOfOrder.delete(waiting);
  }

  private accept(event: RoomEvent): void {
    this.lastSeq = event.seq;
    this.pending.push(event);
    this.recent.push(event);
    this.scheduleFlush();
  }

  private drainOutOfOrder(): void {
    let next = this.outOfOrder.get(this.lastSeq + 1);
    while (next !== undefined) {
      this.outOfOrder.delete(next.seq);
      this.accept(next);
      next = this.outOfOrder.get(this.lastSeq + 1);
    }
    if (this.outOfOrder.size === 0 && this.gapTimer !== undefined) {
      clearTimeout(this.gapTimer);
      this.gapTimer = undefined;
    }
  }

  /** The missing seqs did not arrive on the bus in time: read them from history. */
  private async fillGap(): Promise<void> {
    this.gapTimer = undefined;
    if (this.outOfOrder.size === 0 || this.closed) return;
    this.deps.metrics.sequenceGaps.inc();
    const until = Math.max(...this.outOfOrder.keys());
    try {
      const page = await this.deps.history.read(this.room, this.lastSeq, until - this.lastSeq);
      if (page.epoch === this.epoch) {
        for (const event of page.events) if (event.seq === this.lastSeq + 1) this.accept(event);
      }
    } catch {
      // History unreachable: skip ahead below rather than stall the room.
    }
    for (const seq of this.outOfOrder.keys()) if (seq <= this.lastSeq) this.outOfOrder.delete(seq);
    if (this.outOfOrder.size > 0 && !this.outOfOrder.has(this.lastSeq + 1)) {
      // Lost for good (trimmed or unreadable): continue from the oldest waiting event.
      this.lastSeq = Math.min(...this.outOfOrder.keys()) - 1;
    }
    this.drainOutOfOrder();
  }

  private onState(total: number, partials: Record<string, PartialState>): void {
    if (this.pendingState === undefined) this.pendingState = new Map();
    for (const [name, partial] of Object.entries(partials)) {
      if ((this.knownState.get(name)?.v ?? 0) >= partial.v) continue;
      this.knownState.set(name, partial);
      this.pendingState.set(name, partial);
    }
    this.pendingTotal = Math.max(this.pendingTotal, total);
    this.scheduleFlush();
  }

  /**
   * Throttles flushes to one per window, leading edge first: the first event after a quiet window
   * goes out on the next turn of the event loop, and only events that follow it within the window
   * wait for the window's end. A room at low rates gets no added latency; a busy room gets full frames.
   */
  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    const { batchWindowMs, immediateBelowMembers, hugeRoomMembers, hugeRoomWindowMs } = this.deps.options;
    const size = this.members.size;
    const window =
      size >= hugeRoomMembers ? hugeRoomWindowMs : size < immediateBelowMembers ? 0 : batchWindowMs;
    const wait = window - (performance.now() - this.lastFlushAt);
    if (wait <= 0) setImmediate(() => this.flush());
    else setTimeout(() => this.flush(), wait);
  }

  /** Hands everything pending to every member: one encoding per codec, the same bytes for all. */
  flush(): void {
    this.flushScheduled = false;
    const started = performance.now();
    this.lastFlushAt = started;
    const { metrics } = this.deps;
    const events = this.pending;
    if (events.length > 0) {
      this.pending = [];
      this.flushedSeq = (events[events.length - 1] as RoomEvent).seq;
      let lowEvents = 0;
      for (const e of events) if (!isHighPriorityEventType(e.type)) lowEvents++;
      const frame: TsFrame = { op: 'ts', room: this.room, events };
      let bytes = 0;
      let frames = 0;
      for (const [codec, set] of this.byCodec) {
        if (set.size === 0) continue;
        const outbound = this.outbound(codec, frame, lowEvents);
        if (outbound === undefined) continue;
        metrics.framesEncoded.inc({ codec: codec.subprotocol });
        for (const conn of set) bytes += conn.send(outbound);
        frames += set.size;
      }
      metrics.deliveries.inc(events.length * this.members.size);
      metrics.framesSent.inc(frames);
      metrics.bytesSent.inc(bytes);
    }
    const state = this.pendingState;
    if (state !== undefined && state.size > 0) {
      this.pendingState = undefined;
      const frame: SsFrame = {
        op: 'ss',
        room: this.room,
        total: this.pendingTotal,
        partials: Object.fromEntries(state),
      };
      for (const [codec, set] of this.byCodec) {
        if (set.size === 0) continue;
        const bytes = this.encodeState(codec, frame);
        if (bytes === undefined) continue;
        const outbound: OutboundFrame = { bytes, lowEvents: 0 };
        for (const conn of set) conn.send(outbound);
      }
    }
    if (events.length > 0) metrics.fanoutFlushes.observe((performance.now() - started) / 1000);
  }

  private outbound(codec: FrameCodec, frame: TsFrame, lowEvents: number): OutboundFrame | undefined {
    const encoded = this.encodeEvents(codec, frame);
    if (encoded === undefined) return undefined;
    const out: OutboundFrame = { bytes: encoded.bytes, lowEvents };
    if (lowEvents > 0) {
      const sent = encoded.frame;
      let degraded: OutboundFrame | null | undefined;
      out.degrade = () => {
        if (degraded === undefined) {
          const kept = sent.events.filter((e) => isHighPriorityEventType(e.type));
          degraded =
            kept.length === 0
              ? null
              : { bytes: codec.encode({ ...sent, events: kept, dropped: lowEvents }), lowEvents: 0 };
        }
        return degraded;
      };
    }
    return out;
  }

  /**
   * Encodes a window's events for one codec. Values are validated where they enter, but an event
   * this codec still cannot encode (one no limit stopped, e.g. an older publisher's) must not take
   * the room, the gateway or the process down: the frame is then encoded event by event and the
   * failing events are dropped for this codec alone, counted and logged once per room and cause.
   */
  private encodeEvents(codec: FrameCodec, frame: TsFrame): { bytes: Uint8Array; frame: TsFrame } | undefined {
    try {
      return { bytes: codec.encode(frame), frame };
    } catch (err) {
      const events = frame.events.filter((event) => {
        try {
          codec.encode(event);
          return true;
        } catch (eventErr) {
          this.encodeFailed(codec, 'ts', eventErr, event.seq);
          return false;
        }
      });
      if (events.length === frame.events.length) {
        this.encodeFailed(codec, 'ts', err, undefined);
        return undefined;
      }
      if (events.length === 0) return undefined;
      const kept: TsFrame = { ...frame, events };
      try {
        return { bytes: codec.encode(kept), frame: kept };
      } catch (keptErr) {
        this.encodeFailed(codec, 'ts', keptErr, undefined);
        return undefined;
      }
    }
  }

  /** A state notice for one codec; a partial whose value it cannot encode goes out as its version only. */
  private encodeState(codec: FrameCodec, frame: SsFrame): Uint8Array | undefined {
    try {
      return codec.encode(frame);
    } catch (err) {
      this.encodeFailed(codec, 'ss', err, undefined);
      const partials: Record<string, PartialState> = {};
      for (const [name, partial] of Object.entries(frame.partials)) partials[name] = { v: partial.v };
      try {
        return codec.encode({ ...frame, partials });
      } catch {
        return undefined;
      }
    }
  }

  private encodeFailed(codec: FrameCodec, kind: string, err: unknown, seq: number | undefined): void {
    this.deps.metrics.encodeFailures.inc({ codec: codec.subprotocol, kind });
    const cause = `${codec.subprotocol} ${kind} ${err instanceof Error ? err.name : typeof err}`;
    if (this.loggedFailures.has(cause)) return;
    this.loggedFailures.add(cause);
    this.deps.logger?.warn(
      { err, room: this.room, codec: codec.subprotocol, kind, seq },
      'dropped what this codec could not encode (logged once per room and cause)',
    );
  }

  /** The resume read plus what arrived since, up to what is flushed; undefined when that cannot be made whole. */
  private completeReplay(read: ResumeRead): RoomEvent[] | undefined {
    const out = read.events.filter((e) => e.seq <= this.flushedSeq);
    const after = out.length > 0 ? (out[out.length - 1] as RoomEvent).seq : read.cursor;
    if (after >= this.flushedSeq) return out;
    if (!this.recent.covers(after)) return undefined;
    for (const e of this.recent.after(after)) if (e.seq <= this.flushedSeq) out.push(e);
    return out;
  }

  private sharedRead(after: number): Promise<HistoryPage> {
    const { history, metrics, options } = this.deps;
    const shared = this.inflightReads.find((r) => r.after <= after);
    if (shared !== undefined) {
      metrics.historyReads.inc({ source: 'shared' });
      return shared.page;
    }
    metrics.historyReads.inc({ source: 'store' });
    const page = history.read(this.room, after, options.historyCapacity);
    const entry = { after, page };
    this.inflightReads.push(entry);
    const done = () => {
      const i = this.inflightReads.indexOf(entry);
      if (i !== -1) this.inflightReads.splice(i, 1);
    };
    page.then(done, done);
    return page;
  }

  private evict(conn: ClientConnection, reason: KickReason): void {
    this.removeMember(conn);
    this.deps.onEvicted(conn, this.room, reason);
  }
}
