import {
  checkJsonLimits,
  isCleanText,
  isHighPriorityEventType,
  type JsonObject,
  type Room,
  type RoomEvent,
} from '@roomcast/protocol';
import type { Logger } from 'pino';
import type { RoomcastMetrics } from '../observability/metrics.ts';
import { encodeSignal, roomChannel } from './bus-signals.ts';
import { fail } from './errors.ts';
import { requestHash } from './idempotency.ts';
import { type Identity, isPrivileged } from './identity.ts';
import { jsonLimitsOf } from './json-limits.ts';
import { isJsonObject, jsonByteLength } from './json-size.ts';
import type { MessageBus } from './ports/bus.ts';
import type { ModerationStore } from './ports/moderation.ts';
import type { RateLimits } from './ports/rate-limits.ts';
import {
  type AppendGuard,
  type AppendIdempotency,
  type AppendOptions,
  type AppendRefusal,
  AppendRefusedError,
  type GuardWindow,
  type HistoryPage,
  IdempotencyKeyReusedError,
  type RoomHistory,
} from './ports/room-history.ts';
import { readableRoom } from './readable-room.ts';
import type { RoomService } from './room-service.ts';

export interface EventLimits {
  commentMaxChars: number;
  eventDataMaxBytes: number;
  userEventsPerSecond: number;
  roomEventsPerSecond: number;
  userHighPerSecond: number;
  pullMaxLimit: number;
  jsonMaxDepth: number;
  jsonMaxKeys: number;
  jsonMaxItems: number;
  publishReplayWindowSeconds: number;
}

/** What `publish` did: stored the event under `seq`, or found a retry of one stored before (`replayed`). */
export interface PublishReceipt {
  seq: number;
  replayed: boolean;
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
      logger?: Logger;
    },
  ) {}

  /**
   * A user's or service's event. Users may publish `comment` and `like`; admins and services any
   * type. With `idempotencyKey` (1–128 visible ASCII, scoped to the publisher and the room), a
   * retry within `limits.publishReplayWindowSeconds` answers the first seq and stores nothing;
   * the same key with another event is `409 conflict`.
   */
  async publish(
    identity: Identity,
    roomId: string,
    type: unknown,
    data: unknown,
    idempotencyKey?: string,
  ): Promise<PublishReceipt> {
    const privileged = isPrivileged(identity);
    const eventData = this.validate(type, data, privileged);
    const room = await this.deps.rooms.getLive(identity, roomId);
    const idempotency: AppendIdempotency | undefined =
      idempotencyKey === undefined
        ? undefined
        : {
            key: `${identity.userId}:${idempotencyKey}`,
            fingerprint: requestHash([type as string, JSON.stringify(eventData)]),
            windowMs: this.deps.limits.publishReplayWindowSeconds * 1000,
          };
    try {
      if (!isHighPriorityEventType(type as string)) {
        // Comments and likes: restrictions and rate windows are checked by the history store in
        // the same step as the append (one round trip on Redis).
        return await this.append(room.id, type as string, eventData, identity.userId, {
          ...(idempotency === undefined ? {} : { idempotency }),
          guard: this.lowPriorityGuard(identity, room, privileged),
        });
      }
      if (!privileged) await this.checkModeration(room, identity.userId);
      try {
        await this.checkHighPriorityRate(identity, privileged);
      } catch (err) {
        // A retry of a stored publish is answered even when its sender is over the limit now.
        const seq =
          idempotency === undefined ? undefined : await this.deps.history.replayOf(room.id, idempotency);
        if (seq === undefined) throw err;
        this.deps.metrics.eventsReplayed.inc();
        return { seq, replayed: true };
      }
      return await this.append(
        room.id,
        type as string,
        eventData,
        identity.userId,
        idempotency === undefined ? {} : { idempotency },
      );
    } catch (err) {
      if (err instanceof IdempotencyKeyReusedError) {
        fail('conflict', 'this idempotency key was used for another event; use a new key per event');
      }
      if (err instanceof AppendRefusedError) this.refused(err.refusal);
      throw err;
    }
  }

  /** An event the service makes itself (online count, enter, room end): no user checks. */
  async publishSystem(
    roomId: string,
    type: string,
    data: JsonObject,
    from: string | null = null,
  ): Promise<number> {
    return (await this.append(roomId, type, data, from, {})).seq;
  }

  /**
   * Events after `cursor` for a pull client. Without a cursor, the newest `limit` events. `reset`
   * when the cursor is older than the retained history, belongs to another history epoch, or is
   * ahead of the room (its history was lost): the client reloads state and continues from `cursor`.
   */
  /** The room when `identity` may read its events (visible, not banned); see readableRoom. */
  readable(identity: Identity, roomId: string): Promise<Room> {
    return readableRoom(this.deps.rooms, this.deps.moderation, identity, roomId);
  }

  async read(
    identity: Identity,
    roomId: string,
    cursor: number | undefined,
    epoch: string | undefined,
    limit: number,
  ): Promise<EventPage & { room: Room }> {
    const room = await this.readable(identity, roomId);
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

  /**
   * Stores the event, then announces it on the room's bus channel. Once the history holds it the
   * event is acknowledged: if the announcement fails (bus down, or this process dies first), the
   * gateways' position check finds it in history within `gateway.positionCheckIntervalMs`, so the
   * publish does not fail for it, and a retry would only store it twice.
   */
  private async append(
    roomId: string,
    type: string,
    data: JsonObject,
    from: string | null,
    options: AppendOptions,
  ): Promise<PublishReceipt> {
    const ts = Date.now();
    const stored = await this.deps.history.append(roomId, { type, from, data, ts }, options);
    if (stored.replayed) {
      this.deps.metrics.eventsReplayed.inc();
      return { seq: stored.seq, replayed: true };
    }
    const { seq, epoch, floor } = stored;
    const event: RoomEvent = { seq, type, from, data, ts };
    this.deps.metrics.eventsPublished.inc({ priority: isHighPriorityEventType(type) ? 'high' : 'low' });
    try {
      await this.deps.bus.publish(
        roomChannel(roomId),
        encodeSignal({ kind: 'ts', room: roomId, epoch, floor, event }),
      );
      this.deps.metrics.busMessages.inc({ direction: 'out' });
    } catch (err) {
      this.deps.metrics.busPublishFailures.inc();
      this.deps.logger?.warn(
        { err, roomId, seq },
        'event stored but not announced; gateways will find it in history',
      );
    }
    return { seq, replayed: false };
  }

  private validate(type: unknown, data: unknown, privileged: boolean): JsonObject {
    if (typeof type !== 'string' || !EVENT_TYPE.test(type))
      fail('bad_request', 'type must match [a-z][a-z0-9_.-]{0,31}');
    if (!privileged && type !== 'comment' && type !== 'like') {
      fail('forbidden', `users may publish "comment" and "like"; "${type}" needs an admin or service token`);
    }
    const payload = data ?? {};
    if (!isJsonObject(payload)) fail('bad_request', 'data must be a JSON object');
    const broken = checkJsonLimits(payload, jsonLimitsOf(this.deps.limits), 'data');
    if (broken !== undefined) fail('bad_request', broken.message);
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
      if (!isCleanText(text)) {
        fail('bad_request', 'data.text must not hold control characters (line breaks and tabs are fine)');
      }
    }
    return payload as JsonObject;
  }

  private async checkModeration(room: Room, userId: string): Promise<void> {
    const status = await this.deps.moderation.status(room.id, userId);
    if (status.bannedUntil !== null) fail('banned', 'you are banned from this room');
    if (status.mutedUntil !== null) fail('muted', 'you are muted in this room');
  }

  /**
   * What a comment or like must pass: the publisher's restrictions, the user's budget in this room
   * (not for admins and services), then the room's. The user's window comes first, so a flooding
   * user is refused before taking from the room's budget.
   */
  private lowPriorityGuard(identity: Identity, room: Room, privileged: boolean): AppendGuard {
    const { limits } = this.deps;
    const roomWindow: GuardWindow = {
      key: `rl:${room.id}`,
      perSecond: limits.roomEventsPerSecond,
      scope: 'room',
    };
    if (privileged) return { windows: [roomWindow] };
    return {
      restrictedUser: identity.userId,
      windows: [
        { key: `ul:${identity.userId}:${room.id}`, perSecond: limits.userEventsPerSecond, scope: 'user' },
        roomWindow,
      ],
    };
  }

  /** Turns a guard's refusal into the publish's error (and counts a rate limit). */
  private refused(refusal: AppendRefusal): never {
    switch (refusal.reason) {
      case 'banned':
        fail('banned', 'you are banned from this room');
        break;
      case 'muted':
        fail('muted', 'you are muted in this room');
        break;
      case 'rate_limited':
        this.deps.metrics.rateLimited.inc({ scope: refusal.scope });
        fail(
          'rate_limited',
          refusal.scope === 'user' ? 'too many events; slow down' : 'the room is too busy; try again shortly',
          Math.ceil(refusal.retryAfterMs / 1000),
        );
    }
  }

  /** Gifts and other high-priority events have their own per-user budget, apart from comments. */
  private async checkHighPriorityRate(identity: Identity, privileged: boolean): Promise<void> {
    if (privileged) return;
    const { rateLimits, limits, metrics } = this.deps;
    const d = await rateLimits.consume(`uh:${identity.userId}`, limits.userHighPerSecond);
    if (!d.allowed) {
      metrics.rateLimited.inc({ scope: 'user' });
      fail('rate_limited', 'too many writes', Math.ceil(d.retryAfterMs / 1000));
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
