import type { JsonValue, PartialState, Room, StateSnapshot, StateVersions } from '@roomcast/protocol';
import type { RoomcastMetrics } from '../observability/metrics.ts';
import { encodeSignal, roomChannel } from './bus-signals.ts';
import { fail } from './errors.ts';
import { type Identity, isPrivileged } from './identity.ts';
import { jsonByteLength } from './json-size.ts';
import type { MessageBus } from './ports/bus.ts';
import type { ModerationStore } from './ports/moderation.ts';
import type { RateLimits } from './ports/rate-limits.ts';
import type { RoomStateStore, StateChange } from './ports/room-state.ts';
import { readableRoom } from './readable-room.ts';
import type { RoomService } from './room-service.ts';

/** The partial that is also the room's title: a string that is a valid title updates the room. */
const TITLE_PARTIAL = 'title';

export interface StateLimits {
  stateValueMaxBytes: number;
  maxPartials: number;
  /** Partials up to this size are announced with their value; larger ones only with their version. */
  stateInlineBytes: number;
  userHighPerSecond: number;
}

/**
 * A partial's name: 1–64 of `[A-Za-z0-9_.-]`, the first a letter or digit — so never `__proto__`
 * nor another key that means something to a JavaScript object or a client's map.
 */
const PARTIAL_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const PARTIAL_NAME_RULE = 'a state name is 1–64 of [A-Za-z0-9_.-], starting with a letter or digit';

/**
 * State sync: the room's named partials with a total version. Writers are the host and admins;
 * every change is announced on the room's channel (with the value when it is small).
 */
export class RoomStateService {
  constructor(
    private readonly deps: {
      rooms: RoomService;
      store: RoomStateStore;
      /** Bans: a user banned from a room reads none of its state, as they cannot join it. */
      moderation: ModerationStore;
      bus: MessageBus;
      rateLimits: RateLimits;
      metrics: RoomcastMetrics;
      limits: StateLimits;
    },
  ) {}

  async set(identity: Identity, roomId: string, name: string, value: unknown): Promise<StateChange> {
    if (!PARTIAL_NAME.test(name)) fail('bad_request', PARTIAL_NAME_RULE);
    if (value === undefined) fail('bad_request', 'body must be {"value": <JSON>}');
    const size = jsonByteLength(value);
    if (size === undefined) fail('bad_request', 'value must be JSON');
    if (size > this.deps.limits.stateValueMaxBytes) {
      fail('too_large', `value is ${size} bytes; the limit is ${this.deps.limits.stateValueMaxBytes}`);
    }
    const room = await this.deps.rooms.get(roomId);
    if (!this.deps.rooms.isHostOrAdmin(identity, room))
      fail('forbidden', 'only the host or an admin can change state');
    if (room.status !== 'live') fail('room_ended', 'the room has ended');
    if (!isPrivileged(identity)) {
      const d = await this.deps.rateLimits.consume(
        `uh:${identity.userId}`,
        this.deps.limits.userHighPerSecond,
      );
      if (!d.allowed) fail('rate_limited', 'too many writes', Math.ceil(d.retryAfterMs / 1000));
    }
    const change = await this.deps.store.set(room.id, name, value as JsonValue, this.deps.limits.maxPartials);
    if (change === null)
      fail('conflict', `a room has at most ${this.deps.limits.maxPartials} state partials`);
    const partial: PartialState =
      size <= this.deps.limits.stateInlineBytes
        ? { v: change.v, value: value as JsonValue }
        : { v: change.v };
    await this.deps.bus.publish(
      roomChannel(room.id),
      encodeSignal({ kind: 'ss', room: room.id, total: change.total, partials: { [name]: partial } }),
    );
    this.deps.metrics.busMessages.inc({ direction: 'out' });
    // The `title` partial is also the room's title in lists (GET /v1/rooms, the dashboard), once the
    // state took it and the room was told (a refused write changes neither). A rooms shard that is
    // down answers 503 here; the retry writes the same value again.
    if (name === TITLE_PARTIAL && typeof value === 'string' && this.deps.rooms.isValidTitle(value)) {
      await this.deps.rooms.retitle(room.id, value);
    }
    return change;
  }

  /** The partials' versions; 403 `banned` for a user banned from the room. */
  async versions(identity: Identity, roomId: string): Promise<StateVersions> {
    const room = await this.readable(identity, roomId);
    return this.deps.store.versions(room.id);
  }

  /**
   * The partials whose version differs from `have` (all of them when `have` is empty); 403
   * `banned` for a user banned from the room.
   */
  async since(identity: Identity, roomId: string, have: ReadonlyMap<string, number>): Promise<StateSnapshot> {
    const room = await this.readable(identity, roomId);
    const snapshot = await this.deps.store.snapshot(room.id);
    if (have.size === 0) return snapshot;
    const partials: StateSnapshot['partials'] = {};
    for (const [name, partial] of Object.entries(snapshot.partials)) {
      if (have.get(name) !== partial.v) partials[name] = partial;
    }
    return { total: snapshot.total, partials };
  }

  /** The full snapshot without access checks (the gateway checked them at join). */
  snapshot(roomId: string): Promise<StateSnapshot> {
    return this.deps.store.snapshot(roomId);
  }

  /** A room the caller may see and is not banned from (admins and services are never banned). */
  private readable(identity: Identity, roomId: string): Promise<Room> {
    return readableRoom(this.deps.rooms, this.deps.moderation, identity, roomId);
  }
}

/** Parses `have=name:v,name:v`; malformed entries are a 400. */
export function parseHave(have: string | undefined): Map<string, number> {
  const out = new Map<string, number>();
  if (have === undefined || have === '') return out;
  const entries = have.split(',');
  if (entries.length > 1000) fail('bad_request', 'have lists too many partials');
  for (const entry of entries) {
    const at = entry.lastIndexOf(':');
    const name = entry.slice(0, at);
    const v = Number(entry.slice(at + 1));
    if (at <= 0 || !PARTIAL_NAME.test(name) || !Number.isSafeInteger(v) || v < 0) {
      fail('bad_request', `malformed have entry "${entry}"; expected name:version`);
    }
    out.set(name, v);
  }
  return out;
}
