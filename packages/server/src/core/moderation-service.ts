import { isUserId } from '@roomcast/protocol';
import { encodeSignal, roomChannel } from './bus-signals.ts';
import { fail } from './errors.ts';
import type { Identity } from './identity.ts';
import type { PeerSignals } from './peer-signals.ts';
import type { MessageBus } from './ports/bus.ts';
import type { ModerationStore } from './ports/moderation.ts';
import type { RoomService } from './room-service.ts';

export type ModerationAction = 'mute' | 'unmute' | 'kick' | 'ban';
const ACTIONS: ReadonlySet<string> = new Set(['mute', 'unmute', 'kick', 'ban']);

/** Default durations when a request gives no `seconds`. */
export const DEFAULT_MUTE_SECONDS = 600;
/** A ban without `seconds` lasts as long as the longest possible stream (480 h). */
export const DEFAULT_BAN_SECONDS = 480 * 3600;
const MAX_SECONDS = 480 * 3600;

/**
 * Moderation by the host or an admin: mutes refuse a user's publishes, kicks end the user's
 * subscription on every gateway, bans do both and refuse joins. The user is told by a peer signal.
 */
export class ModerationService {
  constructor(
    private readonly deps: {
      rooms: RoomService;
      store: ModerationStore;
      bus: MessageBus;
      peers: PeerSignals;
    },
  ) {}

  async apply(
    identity: Identity,
    roomId: string,
    body: { action: unknown; user: unknown; seconds?: unknown },
  ): Promise<void> {
    const { action, user, seconds } = body;
    if (typeof action !== 'string' || !ACTIONS.has(action))
      fail('bad_request', 'action must be mute, unmute, kick or ban');
    if (!isUserId(user)) fail('bad_request', 'user must be a user ID');
    if (
      seconds !== undefined &&
      (!Number.isInteger(seconds) || (seconds as number) < 1 || (seconds as number) > MAX_SECONDS)
    ) {
      fail('bad_request', `seconds must be an integer from 1 to ${MAX_SECONDS}`);
    }
    const room = await this.deps.rooms.get(roomId);
    if (!this.deps.rooms.isHostOrAdmin(identity, room))
      fail('forbidden', 'only the host or an admin can moderate');
    if (user === room.hostId) fail('bad_request', 'the host cannot be moderated in their own room');
    const now = Date.now();
    const secs = seconds as number | undefined;
    switch (action as ModerationAction) {
      case 'mute':
        await this.deps.store.restrict(room.id, user, 'mute', now + (secs ?? DEFAULT_MUTE_SECONDS) * 1000);
        break;
      case 'unmute':
        await this.deps.store.lift(room.id, user, 'mute');
        break;
      case 'kick':
        await this.deps.bus.publish(
          roomChannel(room.id),
          encodeSignal({ kind: 'kick', room: room.id, user, reason: 'kicked' }),
        );
        break;
      case 'ban':
        await this.deps.store.restrict(room.id, user, 'ban', now + (secs ?? DEFAULT_BAN_SECONDS) * 1000);
        await this.deps.bus.publish(
          roomChannel(room.id),
          encodeSignal({ kind: 'kick', room: room.id, user, reason: 'banned' }),
        );
        break;
    }
    const data =
      secs === undefined ? { action: action as string } : { action: action as string, seconds: secs };
    await this.deps.peers.deliver(room.id, identity.userId, [user], 'moderation', data);
  }

  async isBanned(roomId: string, userId: string): Promise<boolean> {
    return (await this.deps.store.status(roomId, userId)).bannedUntil !== null;
  }
}
