/** A gift anyone can send: its ID, display name and price in the smallest unit. */
export interface Gift {
  id: string;
  name: string;
  price: number;
}

/**
 * The gift catalogue (`GET /v1/gifts`), read once from the `gifts.catalogue` setting
 * (`id → "price:Name"`, validated by the config schema) and kept in the configured order.
 */
export class GiftCatalogue {
  private readonly byId: ReadonlyMap<string, Gift>;

  constructor(private readonly gifts: readonly Gift[]) {
    for (const gift of gifts) {
      if (!Number.isSafeInteger(gift.price) || gift.price < 1) {
        throw new RangeError(`gift ${gift.id} has a bad price ${gift.price}`);
      }
    }
    this.byId = new Map(gifts.map((g) => [g.id, g]));
  }

  /** From the config's `id → "price:Name"` record. */
  static fromSettings(catalogue: Readonly<Record<string, string>>): GiftCatalogue {
    return new GiftCatalogue(
      Object.entries(catalogue).map(([id, spec]) => {
        const colon = spec.indexOf(':');
        return { id, name: spec.slice(colon + 1), price: Number(spec.slice(0, colon)) };
      }),
    );
  }

  list(): readonly Gift[] {
    return this.gifts;
  }

  get(id: string): Gift | undefined {
    return this.byId.get(id);
  }
}
