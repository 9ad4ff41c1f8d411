import { isHighPriorityEventType, type JsonObject, type Room, type RoomEvent } from '@roomcast/protocol';
import type { RoomcastMetrics } from '../observability/metrics.ts';
import { encodeSignal, roomChannel } from './bus-signals.ts';
import { fail } from './errors.ts';
import { type Identity, isPrivileged } from './identity.ts';
import { isJsonObject, jsonByteLength } from './json-size.ts';
import type { MessageBus } from './ports/bus.ts';
import type { ModerationStore } from './ports/moderation.ts';
import type { RateLimits } from './ports/rate-limits.ts';
import type { HistoryPage, RoomHistory } from './ports/room-history.ts';
import type { RoomService } from './room-service.ts';

export interface EventLimits {
  commentMaxChars: number;
  eventDataMaxBytes: number;
  userEventsPerSecond: number;
  roomEventsPerSecond: number;
  userHighPerSecond: number;
  pullMaxLimit: number;
}

/** One page of a pull client's events (`GET /v1/rooms/:room/events`). */
export interface EventPage {
  events: RoomEvent[];
  cursor: number;
  reset: boolean;
  epoch: string;
}

const EVENT_TYPE = /^[a-z][a-z0-9_.-]{0,31}$/;

/**
 * Time-series events: validation, authorization, rate limits with priorities, sequencing through
 * the room's history and publication on the room's bus channel.
 */
export class RoomEvents {
  constructor(
    private readonly deps: {
      rooms: RoomService;
      history: RoomHistory;
      bus: MessageBus;
      moderation: ModerationStore;
      rateLimits: RateLimits;
      metrics: RoomcastMetrics;
      limits: EventLimits;
    },
  ) {}

  /** A user's or service's event. Users may publish `comment` and `like`; admins and services any type. */
  async publish(identity: Identity, roomId: string, type: unknown, data: unknown): Promise<number> {
    const privileged = isPrivileged(identity);
    const eventData = this.validate(type, data, privileged);
    const room = await this.deps.rooms.getLive(identity, roomId);
    if (!privileged) await this.checkModeration(room, identity.userId);
    await this.checkRate(identity, room, type as string, privileged);
    return this.append(room.id, type as string, eventData, identity.userId);
  }

  /** An event the service makes itself (online count, enter, room end): no user checks. */
  async publishSystem(
    roomId: string,
    type: string,
    data: JsonObject,
    from: string | null = null,
  ): Promise<number> {
    return this.append(roomId, type, data, from);
  }

  /**
   * Events after `cursor` for a pull client. Without a cursor, the newest `limit` events. `reset`
   * when the cursor is older than the retained history, belongs to another history epoch, or is
   * ahead of the room (its history was lost): the client reloads state and continues from `cursor`.
   */
  async read(
    identity: Identity,
    roomId: string,
    cursor: number | undefined,
    epoch: string | undefined,
    limit: number,
  ): Promise<EventPage & { room: Room }> {
    const room = await this.deps.rooms.getVisible(identity, roomId);
    const max = Math.min(Math.max(1, limit), this.deps.limits.pullMaxLimit);
    if (cursor === undefined) {
      const position = await this.deps.history.position(room.id);
      const page = await this.deps.history.read(room.id, Math.max(0, position.top - max), max);
      return { room, events: page.events, cursor: lastSeq(page, page.top), reset: false, epoch: page.epoch };
    }
    const page = await this.deps.history.read(room.id, cursor, max);
    if (needsReset(cursor, epoch, page))
      return { room, events: [], cursor: page.top, reset: true, epoch: page.epoch };
    return { room, events: page.events, cursor: lastSeq(page, cursor), reset: false, epoch: page.epoch };
  }

  private async append(roomId: string, type: string, data: JsonObject, from: string | null): Promise<number> {
    const ts = Date.now();
    const { seq, epoch } = await this.deps.history.append(roomId, { type, from, data, ts });
    const event: RoomEvent = { seq, type, from, data, ts };
    this.deps.metrics.eventsPublished.inc({ priority: isHighPriorityEventType(type) ? 'high' : 'low' });
    await this.deps.bus.publish(
      roomChannel(roomId),
      encodeSignal({ kind: 'ts', room: roomId, epoch, event }),
    );
    this.deps.metrics.busMessages.inc({ direction: 'out' });
    return seq;
  }

  private validate(type: unknown, data: unknown, privileged: boolean): JsonObject {
    if (typeof type !== 'string' || !EVENT_TYPE.test(type))
      fail('bad_request', 'type must match [a-z][a-z0-9_.-]{0,31}');
    if (!privileged && type !== 'comment' && type !== 'like') {
      fail('forbidden', `users may publish "comment" and "like"; "${type}" needs an admin or service token`);
    }
    const payload = data ?? {};
    if (!isJsonObject(payload)) fail('bad_request', 'data must be a JSON object');
    const size = jsonByteLength(payload);
    if (size === undefined) fail('bad_request', 'data must be JSON');
    if (size > this.deps.limits.eventDataMaxBytes) {
      fail('too_large', `data is ${size} bytes; the limit is ${this.deps.limits.eventDataMaxBytes}`);
    }
    if (type === 'comment') {
      const text = payload.text;
      const max = this.deps.limits.commentMaxChars;
      if (typeof text !== 'string' || text.trim().length === 0 || [...text].length > max) {
        fail('bad_request', `a comment needs data.text of 1–${max} characters`);
      }
    }
    return payload as JsonObject;
  }

  private async checkModeration(room: Room, userId: string): Promise<void> {
    const status = await this.deps.moderation.status(room.id, userId);
    if (status.bannedUntil !== null) fail('banned', 'you are banned from this room');
    if (status.mutedUntil !== null) fail('muted', 'you are muted in this room');
  }

  private async checkRate(identity: Identity, room: Room, type: string, privileged: boolean): Promise<void> {
    const { rateLimits, limits, metrics } = this.deps;
    // Separate budgets per priority: a flood of comments never uses up what gifts and state need.
    if (isHighPriorityEventType(type)) {
      if (privileged) return;
      const d = await rateLimits.consume(`uh:${identity.userId}`, limits.userHighPerSecond);
      if (!d.allowed) {
        metrics.rateLimited.inc({ scope: 'user' });
        fail('rate_limited', 'too many writes', Math.ceil(d.retryAfterMs / 1000));
      }
      return;
    }
    if (!privileged) {
      const d = await rateLimits.consume(`ul:${identity.userId}:${room.id}`, limits.userEventsPerSecond);
      if (!d.allowed) {
        metrics.rateLimited.inc({ scope: 'user' });
        fail('rate_limited', 'too many events; slow down', Math.ceil(d.retryAfterMs / 1000));
      }
    }
    const r = await rateLimits.consume(`rl:${room.id}`, limits.roomEventsPerSecond);
    if (!r.allowed) {
      metrics.rateLimited.inc({ scope: 'room' });
      fail('rate_limited', 'the room is too busy; try again shortly', Math.ceil(r.retryAfterMs / 1000));
    }
  }
}

/** Whether a cursor cannot be resumed from this page of history. */
export function needsReset(cursor: number, epoch: string | undefined, page: HistoryPage): boolean {
  if (epoch !== undefined && epoch !== '' && epoch !== page.epoch) return true;
  if (cursor > page.top) return true;
  return cursor < page.oldest - 1;
}

function lastSeq(page: HistoryPage, fallback: number): number {
  const last = page.events[page.events.length - 1];
  return last === undefined ? fallback : last.seq;
}
