import type { Room } from '@roomcast/protocol';
import type { Identity } from './identity.ts';
import { type RoomJobRound, type RoomJobWiring, ShardedRoomJob } from './partitioned-room-job.ts';
import type { OngoingRoom } from './ports/ongoing-rooms.ts';
import type { ConnectionRegistry } from './ports/presence.ts';

/** The idle-room check's name in the job membership. */
export const ROOM_IDLE_JOB = 'room-idle';

/** Hosts looked up per registry call. */
const LOCATE_BATCH = 1_000;

/** Why the check ended a room. */
export type IdleReason = 'max_live' | 'host_absent';

export interface RoomIdleJobOptions extends RoomJobWiring {
  rooms: { end(identity: Identity, roomId: string): Promise<Room> };
  /** Where the gateways register the users they hold a connection of: a host's heartbeat. */
  registry: Pick<ConnectionRegistry, 'locate'>;
  /** A room live longer than this is ended. */
  maxLiveMs: number;
  /** A room whose host held no connection for this long is ended; 0: never for that reason. */
  hostAbsentMs: number;
  now?: () => number;
}

/**
 * The idle-room check (a PartitionedRoomJob): ends the live rooms of this worker's share that
 * were live longer than `maxLiveMs` (streams are bounded: the design's 480 hours) or whose host
 * has held no connection on any gateway for `hostAbsentMs` — a room left live by a host tool that
 * crashed would otherwise stay listed, counted and billed forever. Ending goes through the room
 * service like an admin's end: the `ended` event, the archive move and the ledger's close follow.
 *
 * A host's absence is timed from when this worker first saw the room in its share, never from the
 * room's start: a worker that just took a partition over (or restarted) waits a whole
 * `hostAbsentMs` before it ends anything for that reason, so a view change never ends a room early.
 */
export class RoomIdleJob extends ShardedRoomJob {
  /** When each room of the share last had its host connected (or was first seen here). */
  private readonly hostSeenAt = new Map<string, number>();

  constructor(private readonly options: RoomIdleJobOptions) {
    super(ROOM_IDLE_JOB, options);
  }

  protected async round({ share, stillOwner }: RoomJobRound): Promise<void> {
    const now = this.options.now?.() ?? Date.now();
    const live = new Set(share.live.map((room) => room.id));
    for (const room of this.hostSeenAt.keys()) if (!live.has(room)) this.hostSeenAt.delete(room);
    const due: Array<[OngoingRoom, IdleReason]> = [];
    const watched: OngoingRoom[] = [];
    for (const room of share.live) {
      if (now - Date.parse(room.startedAt) > this.options.maxLiveMs) due.push([room, 'max_live']);
      else if (this.options.hostAbsentMs > 0) watched.push(room);
    }
    for (let i = 0; i < watched.length; i += LOCATE_BATCH) {
      const batch = watched.slice(i, i + LOCATE_BATCH);
      const located = await this.options.registry.locate([...new Set(batch.map((room) => room.hostId))]);
      for (const room of batch) {
        if ((located.get(room.hostId)?.length ?? 0) > 0) this.hostSeenAt.set(room.id, now);
        else {
          const seen = this.hostSeenAt.get(room.id);
          if (seen === undefined) this.hostSeenAt.set(room.id, now);
          else if (now - seen >= this.options.hostAbsentMs) due.push([room, 'host_absent']);
        }
      }
    }
    for (const [room, reason] of due) {
      if (!stillOwner()) return;
      await this.end(room, reason);
    }
  }

  private async end(room: OngoingRoom, reason: IdleReason): Promise<void> {
    try {
      const ended = await this.options.rooms.end(workerIdentity(room.region), room.id);
      this.hostSeenAt.delete(room.id);
      this.options.metrics?.idleRoomsEnded.inc({ reason });
      this.options.logger.info(
        { room: room.id, host: room.hostId, reason, startedAt: room.startedAt, endedAt: ended.endedAt },
        'ended an idle room',
      );
    } catch (err) {
      this.options.logger.warn({ err, room: room.id, reason }, 'idle room not ended; retrying next round');
    }
  }
}

/** The identity the check ends rooms as: an admin of the room's region, named for what it is. */
function workerIdentity(region: string): Identity {
  return {
    userId: `${region}_roomcast-idle-check`,
    roles: new Set(['admin']),
    privateRooms: new Set(),
    expiresAt: Number.MAX_SAFE_INTEGER,
  };
}
