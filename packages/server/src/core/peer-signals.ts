import { randomUUID } from 'node:crypto';
import { isUserId, type JsonObject, type PeerMessage } from '@roomcast/protocol';
import type { RoomcastMetrics } from '../observability/metrics.ts';
import { encodeSignal, gatewayChannel } from './bus-signals.ts';
import { fail } from './errors.ts';
import { getOrInsert } from './get-or-insert.ts';
import { type Identity, isPrivileged } from './identity.ts';
import { isJsonObject, jsonByteLength } from './json-size.ts';
import type { MessageBus } from './ports/bus.ts';
import type { InboxPage, PeerInbox } from './ports/peer-inbox.ts';
import type { ConnectionRegistry, RoomPresence } from './ports/presence.ts';
import type { RateLimits } from './ports/rate-limits.ts';
import type { RoomService } from './room-service.ts';

export interface PeerLimits {
  peerMaxTargets: number;
  eventDataMaxBytes: number;
  userHighPerSecond: number;
  pullMaxLimit: number;
}

const PEER_TYPE = /^[a-z][a-z0-9_.-]{0,31}$/;

/**
 * Peer signals, routed like instant messages: every target gets an inbox entry, and only the
 * gateways the registry names for a target get the signal — never a room broadcast.
 *
 * Who may send: the room's host (to users who have been members of the room), admins and
 * services (to any user).
 */
export class PeerSignals {
  constructor(
    private readonly deps: {
      rooms: RoomService;
      inbox: PeerInbox;
      registry: ConnectionRegistry;
      presence: RoomPresence;
      bus: MessageBus;
      rateLimits: RateLimits;
      metrics: RoomcastMetrics;
      limits: PeerLimits;
    },
  ) {}

  async send(
    identity: Identity,
    roomId: string,
    body: { to: unknown; type: unknown; data?: unknown },
  ): Promise<{ id: string; online: number }> {
    const { to, type } = body;
    const max = this.deps.limits.peerMaxTargets;
    if (!Array.isArray(to) || to.length === 0 || to.length > max)
      fail('bad_request', `to must list 1–${max} user IDs`);
    if (!to.every(isUserId)) fail('bad_request', 'to must contain user IDs (<region>_<id>)');
    if (typeof type !== 'string' || !PEER_TYPE.test(type))
      fail('bad_request', 'type must match [a-z][a-z0-9_.-]{0,31}');
    const data = body.data ?? {};
    if (!isJsonObject(data)) fail('bad_request', 'data must be a JSON object');
    const size = jsonByteLength(data);
    if (size === undefined || size > this.deps.limits.eventDataMaxBytes) {
      fail('too_large', `data must be JSON of at most ${this.deps.limits.eventDataMaxBytes} bytes`);
    }
    const room = await this.deps.rooms.get(roomId);
    const privileged = isPrivileged(identity);
    if (!privileged && room.hostId !== identity.userId) {
      fail('forbidden', 'only the host, an admin or a service can send peer signals');
    }
    const targets = [...new Set(to)];
    if (!privileged) {
      const members = await this.deps.presence.areMembers(room.id, targets);
      const stranger = targets.find((_, i) => members[i] !== true);
      if (stranger !== undefined) fail('forbidden', `${stranger} has not been in this room`);
      const d = await this.deps.rateLimits.consume(
        `uh:${identity.userId}`,
        this.deps.limits.userHighPerSecond,
      );
      if (!d.allowed) fail('rate_limited', 'too many writes', Math.ceil(d.retryAfterMs / 1000));
    }
    return this.deliver(room.id, identity.userId, targets, type, data as JsonObject);
  }

  /** Sends without sender checks: for signals the service itself makes (moderation notices). */
  async deliver(
    roomId: string,
    from: string,
    targets: readonly string[],
    type: string,
    data: JsonObject,
  ): Promise<{ id: string; online: number }> {
    const message: Omit<PeerMessage, 'seq'> = {
      id: `p_${randomUUID()}`,
      room: roomId,
      from,
      type,
      data,
      ts: Date.now(),
    };
    const [seqs, located] = await Promise.all([
      this.deps.inbox.push(targets, message),
      this.deps.registry.locate(targets),
    ]);
    const byGateway = new Map<string, Array<{ user: string; seq: number }>>();
    let online = 0;
    targets.forEach((user, i) => {
      const gateways = located.get(user) ?? [];
      if (gateways.length > 0) online++;
      for (const gw of gateways) {
        getOrInsert(byGateway, gw, () => []).push({ user, seq: seqs[i] as number });
      }
    });
    await Promise.all(
      [...byGateway].map(([gw, recipients]) =>
        this.deps.bus.publish(gatewayChannel(gw), encodeSignal({ kind: 'peer', message, recipients })),
      ),
    );
    this.deps.metrics.busMessages.inc({ direction: 'out' }, byGateway.size);
    return { id: message.id, online };
  }

  async inbox(identity: Identity, cursor: number, limit: number): Promise<InboxPage> {
    const max = Math.min(Math.max(1, limit), this.deps.limits.pullMaxLimit);
    return this.deps.inbox.read(identity.userId, cursor, max);
  }
}
