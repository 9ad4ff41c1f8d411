import { RoomcastApi, RoomcastApiError } from '@roomcast/client';
import { devSignIn, type Session } from '../shared/session.ts';

/** A gift of the catalogue (`GET /v1/gifts`). */
export interface CatalogueGift {
  id: string;
  name: string;
  /** In the smallest unit. */
  price: number;
}

/** Whether this server sells gifts, and what the user can spend. */
export type GiftOffer = { available: false } | { available: true; gifts: CatalogueGift[]; balance: number };

/** A random key for `Idempotency-Key` (also where `crypto.randomUUID` is missing: plain-HTTP pages). */
export function newIdempotencyKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * The gift endpoints of PROTOCOL.md ("Gifts and balances") as the page uses them. A server
 * without them (404) has no gifts: the page hides the gift bar instead of failing.
 */
export class GiftApi {
  constructor(
    private readonly api: RoomcastApi,
    private readonly baseUrl: string,
    private readonly session: Session,
  ) {}

  /** The catalogue and the balance, or `available: false` when the server has no gifts. */
  async offer(): Promise<GiftOffer> {
    try {
      const [catalogue, balance] = await Promise.all([
        this.api.request<{ gifts: CatalogueGift[] }>('GET', '/v1/gifts'),
        this.api.request<{ balance: number }>('GET', '/v1/me/balance'),
      ]);
      if (!Array.isArray(catalogue.gifts) || catalogue.gifts.length === 0) return { available: false };
      return { available: true, gifts: catalogue.gifts, balance: balance.balance };
    } catch (error) {
      if (error instanceof RoomcastApiError && (error.status === 404 || error.status === 501)) {
        return { available: false };
      }
      throw error;
    }
  }

  /**
   * Sends `count` of a gift to the room and returns the new balance. One Idempotency-Key per
   * click: a retry after a network failure repeats the key, so the gift is never paid twice.
   */
  async send(roomId: string, giftId: string, count = 1): Promise<number> {
    const key = newIdempotencyKey();
    const path = `/v1/rooms/${encodeURIComponent(roomId)}/gifts`;
    const request = () =>
      this.api.request<{ transfer: { balance: number } }>('POST', path, {
        body: { gift: giftId, count },
        headers: { 'idempotency-key': key },
      });
    try {
      return (await request()).transfer.balance;
    } catch (error) {
      if (error instanceof RoomcastApiError) throw error;
      return (await request()).transfer.balance;
    }
  }

  /** Whether the dev top-up can work: only with a dev sign-in (it mints an admin token). */
  get canTopUp(): boolean {
    return this.session.viaDevSignIn;
  }

  /**
   * Dev servers only: credits the user's own balance through `POST /v1/admin/credit`, with an
   * admin token for the same user from the dev sign-in. Returns the new balance.
   */
  async devTopUp(amount: number): Promise<number> {
    const admin = await devSignIn(this.baseUrl, this.session.userId, ['admin']);
    const api = new RoomcastApi({ url: this.baseUrl, token: admin.token });
    const answer = await api.request<{ balance: number }>('POST', '/v1/admin/credit', {
      body: { user: this.session.userId, amount },
      headers: { 'idempotency-key': newIdempotencyKey() },
    });
    return answer.balance;
  }
}
