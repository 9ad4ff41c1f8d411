import type { Logger } from 'pino';
import { decodeRoomSignal, type KickReason, roomChannel } from '../core/bus-signals.ts';
import type { BusSubscription, MessageBus } from '../core/ports/bus.ts';
import type { RoomHistory } from '../core/ports/room-history.ts';
import type { RoomStateStore } from '../core/ports/room-state.ts';
import type { RoomcastMetrics } from '../observability/metrics.ts';
import type { ClientConnection } from './client-connection.ts';
import { RoomChannel, type RoomChannelOptions } from './room-channel.ts';

interface Entry {
  channel: RoomChannel;
  subscription: BusSubscription;
  lingerTimer?: NodeJS.Timeout;
}

/**
 * The gateway's room channels: one bus subscription per room that has members here, so a room
 * event costs one bus message per gateway, never one per viewer. An empty channel lingers a few
 * seconds before unsubscribing, so leave/join churn does not churn subscriptions.
 */
export class RoomChannels {
  private readonly entries = new Map<string, Entry>();
  private readonly opening = new Map<string, Promise<RoomChannel>>();

  constructor(
    private readonly deps: {
      bus: MessageBus;
      history: RoomHistory;
      state: RoomStateStore;
      metrics: RoomcastMetrics;
      logger: Logger;
      options: RoomChannelOptions;
      lingerMs: number;
      onEvicted(conn: ClientConnection, room: string, reason: KickReason): void;
    },
  ) {}

  get count(): number {
    return this.entries.size;
  }

  /** The room's channel, subscribed and positioned; concurrent callers share one subscription. */
  async acquire(room: string): Promise<RoomChannel> {
    const entry = this.entries.get(room);
    if (entry !== undefined) {
      if (entry.lingerTimer !== undefined) {
        clearTimeout(entry.lingerTimer);
        delete entry.lingerTimer;
      }
      return entry.channel;
    }
    let opening = this.opening.get(room);
    if (opening === undefined) {
      opening = this.open(room).finally(() => this.opening.delete(room));
      this.opening.set(room, opening);
    }
    return opening;
  }

  /** Called after a member left: an empty channel unsubscribes after the linger time. */
  release(room: string): void {
    const entry = this.entries.get(room);
    if (entry === undefined || entry.channel.size > 0 || entry.lingerTimer !== undefined) return;
    entry.lingerTimer = setTimeout(() => {
      delete entry.lingerTimer;
      if (entry.channel.size === 0) void this.drop(room, entry);
    }, this.deps.lingerMs);
    entry.lingerTimer.unref();
  }

  get(room: string): RoomChannel | undefined {
    return this.entries.get(room)?.channel;
  }

  channels(): IterableIterator<RoomChannel> {
    return [...this.entries.values()].map((e) => e.channel)[Symbol.iterator]();
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.entries].map(([room, entry]) => this.drop(room, entry)));
  }

  private async open(room: string): Promise<RoomChannel> {
    const { bus, history, metrics, logger, options } = this.deps;
    const channel = new RoomChannel(room, {
      history,
      state: this.deps.state,
      metrics,
      logger,
      options,
      onEvicted: this.deps.onEvicted,
    });
    const subscription = await bus.subscribe(roomChannel(room), (payload) => {
      metrics.busMessages.inc({ direction: 'in' });
      const signal = decodeRoomSignal(payload);
      if (signal === undefined || signal.room !== room) {
        metrics.busMalformed.inc();
        logger.warn({ room, bytes: payload.byteLength }, 'dropped a malformed bus message');
        return;
      }
      channel.onSignal(signal);
    });
    try {
      // Position after subscribing: an event published in between is either in `top` or on the bus.
      const position = await history.position(room);
      channel.start(position.epoch, position.top);
    } catch (err) {
      await subscription.unsubscribe();
      throw err;
    }
    this.entries.set(room, { channel, subscription });
    metrics.roomChannels.set(this.entries.size);
    return channel;
  }

  private async drop(room: string, entry: Entry): Promise<void> {
    if (this.entries.get(room) !== entry) return;
    this.entries.delete(room);
    this.deps.metrics.roomChannels.set(this.entries.size);
    entry.channel.close();
    if (entry.lingerTimer !== undefined) clearTimeout(entry.lingerTimer);
    try {
      await entry.subscription.unsubscribe();
    } catch (err) {
      this.deps.logger.warn({ err, room }, 'unsubscribe failed');
    }
  }
}
