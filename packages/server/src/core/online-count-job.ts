import type { Logger } from 'pino';
import { PeriodicTask } from './periodic-task.ts';
import type { RoomPresence } from './ports/presence.ts';
import type { RoomEvents } from './room-events.ts';

/**
 * The worker's online-count broadcast: every interval, each room with members gets an `online`
 * event (`{"count":N}`) when its count changed since the last broadcast. Counts come from the
 * gateways' presence reports, so a dead gateway's members drop out when its report expires.
 */
export class OnlineCountJob {
  private readonly lastCounts = new Map<string, number>();
  private readonly task: PeriodicTask<void>;

  constructor(
    private readonly deps: { presence: RoomPresence; events: RoomEvents; intervalMs: number; logger: Logger },
  ) {
    this.task = new PeriodicTask(deps.intervalMs, () => this.runOnce());
  }

  start(): void {
    this.task.start();
  }

  stop(): Promise<void> {
    return this.task.stop();
  }

  /** One round now, unless one is in progress. */
  async tick(): Promise<void> {
    await this.task.tick();
  }

  private async runOnce(): Promise<void> {
    try {
      const rooms = await this.deps.presence.rooms();
      const counts = await this.deps.presence.counts(rooms);
      for (const room of this.lastCounts.keys()) if (!counts.has(room)) counts.set(room, 0);
      for (const [room, count] of counts) {
        if (this.lastCounts.get(room) === count) continue;
        try {
          await this.deps.events.publishSystem(room, 'online', { count });
        } catch (err) {
          this.deps.logger.warn({ err, room }, 'online count broadcast failed');
        }
        if (count === 0) this.lastCounts.delete(room);
        else this.lastCounts.set(room, count);
      }
    } catch (err) {
      this.deps.logger.warn({ err }, 'online count round failed');
    }
  }
}
