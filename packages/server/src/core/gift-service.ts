import { isUserId, type Room, regionOf } from '@roomcast/protocol';
import { z } from 'zod';
import type { RoomcastMetrics } from '../observability/metrics.ts';
import { fail, RoomcastError } from './errors.ts';
import type { Gift, GiftCatalogue } from './gift-catalogue.ts';
import type { GiftEventPublisher } from './gift-event-publisher.ts';
import { requestHash } from './idempotency.ts';
import { type Identity, isAdmin, isPrivileged } from './identity.ts';
import type { KvRecords } from './kv-records.ts';
import { type Ledger, LedgerUnavailableError, type TransferReceipt } from './ports/ledger.ts';
import type { ModerationStore } from './ports/moderation.ts';
import type { RateLimits } from './ports/rate-limits.ts';
import type { RoomService } from './room-service.ts';

/** Counts a gift request may carry (PROTOCOL.md: 1..999). */
export const GIFT_COUNT_MAX = 999;

/** The answer to a gift, the same for its first request and every replay. */
export interface GiftReceipt {
  transfer: TransferReceipt;
  /** The seq of the gift's event in the room. */
  seq: number;
  /** True when this request repeated an earlier one and moved nothing. */
  replayed: boolean;
}

/** A room's settlement as `GET /v1/rooms/:room/settlement` shows it. */
export interface SettlementView {
  status: 'open' | 'settling' | 'settled';
  total: number;
}

/** A settlement as the KvCache holds it. */
export const settlementViewSchema: z.ZodType<SettlementView> = z
  .object({ status: z.enum(['open', 'settling', 'settled']), total: z.int().min(0) })
  .strict();

export interface GiftServiceDeps {
  rooms: RoomService;
  ledger: Ledger;
  publisher: GiftEventPublisher;
  catalogue: GiftCatalogue;
  /** Settled rooms' settlements in the KvCache (they never change once settled). */
  settlements: KvRecords<SettlementView>;
  moderation: ModerationStore;
  rateLimits: RateLimits;
  metrics: RoomcastMetrics;
  limits: { userHighPerSecond: number };
  /** How long a gift request holds its event's outbox row before the relay may publish it. */
  leaseMs: number;
}

/**
 * Gifts, balances, top-ups and settlement views: validation, authorization and pricing in front of
 * the Ledger, and the gift's event after the money moved.
 *
 * A gift is priced here (catalogue price × count, refused beyond the JSON-safe maximum), checked
 * against the room (visible, live, not the sender's own, sender not banned) and the sender's
 * high-priority rate budget, then handed to the ledger as one transaction in the sender's shard.
 * Its event is published only after that transaction committed (publishClaimed), and the outbox
 * relay publishes it if this process cannot. A replay (same Idempotency-Key and request) gets the
 * first answer, including the first event's seq, even after the room ended.
 */
export class GiftService {
  constructor(private readonly deps: GiftServiceDeps) {}

  catalogue(): readonly Gift[] {
    return this.deps.catalogue.list();
  }

  async send(
    identity: Identity,
    roomId: string,
    key: string,
    input: { gift: unknown; count: unknown },
  ): Promise<GiftReceipt> {
    const { catalogue, rooms, ledger, metrics } = this.deps;
    if (typeof input.gift !== 'string') fail('bad_request', 'gift must be a gift ID from GET /v1/gifts');
    const count = input.count ?? 1;
    if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > GIFT_COUNT_MAX) {
      fail('bad_request', `count must be a whole number from 1 to ${GIFT_COUNT_MAX}`);
    }
    const gift = catalogue.get(input.gift);
    if (gift === undefined) fail('bad_request', `unknown gift "${input.gift}"; see GET /v1/gifts`);
    // In exact integers: a price near the maximum times a count must not round into range.
    const exact = BigInt(gift.price) * BigInt(count);
    if (exact > BigInt(Number.MAX_SAFE_INTEGER)) {
      fail(
        'bad_request',
        `${count} × ${gift.id} costs more than the largest amount (${Number.MAX_SAFE_INTEGER})`,
      );
    }
    const amount = Number(exact);
    const room = await rooms.getVisible(identity, roomId);
    if (room.hostId === identity.userId) fail('forbidden', 'a host cannot send gifts to their own room');
    const hash = requestHash(['gift', room.id, gift.id, count]);
    if (room.status !== 'live') return this.replayAfterEnd(identity.userId, key, hash);
    await this.checkSender(identity, room.id);

    const outcome = await this.ledgerCall(() =>
      ledger.gift({
        userId: identity.userId,
        key,
        requestHash: hash,
        room: { id: room.id, hostId: room.hostId },
        amount,
        event: { gift: gift.id, count },
        leaseMs: this.deps.leaseMs,
      }),
    );
    metrics.gifts.inc({ outcome: outcome.kind });
    switch (outcome.kind) {
      case 'applied': {
        metrics.giftAmount.inc(amount);
        let seq: number;
        try {
          seq = await this.deps.publisher.publishClaimed(outcome.claim, 'request');
        } catch {
          // The money moved and the relay will publish the event; the client learns its seq by
          // retrying with the same Idempotency-Key.
          throw new RoomcastError(
            'unavailable',
            'the gift went through but its event is not out yet; retry with the same Idempotency-Key',
            1,
          );
        }
        return { transfer: outcome.transfer, seq, replayed: false };
      }
      case 'replayed':
        return {
          transfer: outcome.transfer,
          seq: await this.ledgerCall(() => this.deps.publisher.ensurePublished(outcome.outbox)),
          replayed: true,
        };
      case 'key_conflict':
        return fail('conflict', 'this Idempotency-Key was used for another request');
      case 'insufficient_funds':
        return fail('insufficient_funds', `the gift costs ${amount}; your balance is ${outcome.balance}`);
      case 'room_closed':
        return fail('room_ended', 'the room has ended');
      case 'overflow':
        return fail('bad_request', "the room's gift total would pass the largest amount");
    }
  }

  /** Resolves when every balance shard answers; for /readyz. */
  ping(): Promise<void> {
    return this.deps.ledger.ping();
  }

  /** The caller's own balance. */
  async balance(identity: Identity): Promise<number> {
    return this.ledgerCall(() => this.deps.ledger.balance(identity.userId));
  }

  /** An admin top-up, idempotent per (admin, key); returns the user's balance right after it. */
  async credit(identity: Identity, key: string, input: { user: unknown; amount: unknown }): Promise<number> {
    if (!isAdmin(identity)) fail('forbidden', 'only admins can credit balances');
    const { user, amount } = input;
    if (!isUserId(user)) fail('bad_request', 'user must be a user ID (<region>_<id>)');
    if (!this.deps.rooms.servesRegion(regionOf(user) as string)) {
      fail('bad_request', `user ${user} is not of a region this deployment serves`);
    }
    if (typeof amount !== 'number' || !Number.isSafeInteger(amount) || amount < 1) {
      fail('bad_request', `amount must be a whole number from 1 to ${Number.MAX_SAFE_INTEGER}`);
    }
    const outcome = await this.ledgerCall(() =>
      this.deps.ledger.credit({
        scope: identity.userId,
        key,
        requestHash: requestHash(['credit', user, amount]),
        userId: user,
        amount,
      }),
    );
    switch (outcome.kind) {
      case 'applied':
      case 'replayed':
        return outcome.balance;
      case 'key_conflict':
        return fail('conflict', 'this Idempotency-Key was used for another request');
      case 'overflow':
        return fail('bad_request', `the balance would pass the largest amount (${Number.MAX_SAFE_INTEGER})`);
    }
  }

  /**
   * A room's settlement for its host or an admin: `open` while live; once ended `settling` until
   * every shard's total reached the host, then `settled`. `total` is everything the room received.
   */
  async settlement(identity: Identity, roomId: string): Promise<SettlementView> {
    const room = await this.deps.rooms.get(roomId);
    if (!this.deps.rooms.isHostOrAdmin(identity, room)) {
      fail('forbidden', "only the room's host or an admin can see its settlement");
    }
    if (room.status === 'live') return this.settlementOf(room);
    // Ended: once settled the answer never changes, and it reads every balance shard.
    const view = await this.deps.settlements.get(room.id, () => this.settlementOf(room));
    return view ?? this.settlementOf(room);
  }

  private async settlementOf(room: Room): Promise<SettlementView> {
    const record = await this.ledgerCall(() =>
      this.deps.ledger.settlement({ id: room.id, hostId: room.hostId }),
    );
    if (room.status === 'live') return { status: 'open', total: record.total };
    if (record.status === 'settled') return { status: 'settled', total: record.total };
    // Ended with no account anywhere: nothing was ever given or opened, so nothing to pay.
    if (record.status === undefined && !record.hasAccounts) return { status: 'settled', total: 0 };
    return { status: 'settling', total: record.total };
  }

  private async replayAfterEnd(userId: string, key: string, hash: string): Promise<GiftReceipt> {
    const first = await this.ledgerCall(() => this.deps.ledger.findGift(userId, key));
    if (first === undefined) fail('room_ended', 'the room has ended');
    if (first.requestHash !== hash) fail('conflict', 'this Idempotency-Key was used for another request');
    this.deps.metrics.gifts.inc({ outcome: 'replayed' });
    return {
      transfer: first.transfer,
      seq: await this.ledgerCall(() => this.deps.publisher.ensurePublished(first.outbox)),
      replayed: true,
    };
  }

  private async checkSender(identity: Identity, roomId: string): Promise<void> {
    const status = await this.deps.moderation.status(roomId, identity.userId);
    if (status.bannedUntil !== null) fail('banned', 'you are banned from this room');
    // Gifts spend the high-priority budget, which a comment flood cannot use up.
    if (isPrivileged(identity)) return;
    const d = await this.deps.rateLimits.consume(`uh:${identity.userId}`, this.deps.limits.userHighPerSecond);
    if (!d.allowed) {
      this.deps.metrics.rateLimited.inc({ scope: 'user' });
      fail('rate_limited', 'too many writes', Math.ceil(d.retryAfterMs / 1000));
    }
  }

  /** Maps a balance shard that cannot be reached to 503 `unavailable`. */
  private async ledgerCall<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      if (err instanceof LedgerUnavailableError) {
        this.deps.metrics.ledgerUnavailable.inc({ shard: String(err.shard) });
        throw new RoomcastError('unavailable', 'balances are temporarily unavailable', 1);
      }
      throw err;
    }
  }
}
