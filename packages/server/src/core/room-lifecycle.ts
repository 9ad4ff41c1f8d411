import type { Room } from '@roomcast/protocol';
import { encodeSignal, roomChannel } from './bus-signals.ts';
import type { MessageBus } from './ports/bus.ts';
import type { RoomEvents } from './room-events.ts';
import type { RoomEndListener } from './room-service.ts';

/** When a room ends: a `room_end` event to everyone in it, then every gateway ends its subscriptions. */
export class RoomEndAnnouncer implements RoomEndListener {
  constructor(
    private readonly events: RoomEvents,
    private readonly bus: MessageBus,
  ) {}

  async roomEnded(room: Room): Promise<void> {
    await this.events.publishSystem(room.id, 'room_end', { endedAt: room.endedAt });
    await this.bus.publish(
      roomChannel(room.id),
      encodeSignal({ kind: 'close', room: room.id, reason: 'room_ended' }),
    );
  }
}
