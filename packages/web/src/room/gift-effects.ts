import { h } from '../shared/dom.ts';
import { formatCount } from '../shared/format.ts';

/** A gift to celebrate on the stage. */
export interface GiftCelebration {
  from: string;
  giftId: string;
  giftName: string;
  count: number;
  /** What the gift is worth: price × count (the event's `amount`), in the smallest unit. */
  value: number;
}

/** How big a celebration is: 1 (a single cheap gift) to 4 (a fortune). */
export type GiftTier = 1 | 2 | 3 | 4;

/** Where each tier starts, by value: Rose (1) → 1, Heart (10) → 2, Rocket or 500 Roses → 3. */
const TIER_FROM: ReadonlyArray<[number, GiftTier]> = [
  [1_000, 4],
  [100, 3],
  [10, 2],
];
/** Emoji that burst out of a card, by tier. */
const BURST: Record<GiftTier, number> = { 1: 0, 2: 4, 3: 8, 4: 14 };

/** The tier of a gift worth `value`. */
export function giftTier(value: number): GiftTier {
  for (const [from, tier] of TIER_FROM) if (value >= from) return tier;
  return 1;
}

const MAX_ON_STAGE = 3;
const MAX_WAITING = 20;
const EMOJI: Record<string, string> = { rose: '🌹', heart: '💖', rocket: '🚀', star: '⭐', crown: '👑' };

/** The emoji a gift is drawn with. */
export function giftEmoji(giftId: string): string {
  return EMOJI[giftId] ?? '🎁';
}

/**
 * Gift animations over the video area: a card pops in, floats and fades (a CSS animation). The
 * celebration grows with what the gift is worth (`giftTier`): a bigger card that stays longer, a
 * burst of emoji and a large `×N`. At most three at once; more wait, and a waiting gift of the same
 * sender and kind absorbs the next one as a combo (`×N`) — gifts are never dropped, only combined.
 */
export class GiftEffects {
  readonly root = h('div', {
    className: 'gift-layer',
    attrs: { 'aria-live': 'polite' },
    data: { testid: 'gift-layer' },
  });
  readonly #waiting: GiftCelebration[] = [];
  #onStage = 0;
  #shown = 0;

  show(gift: GiftCelebration): void {
    const combo = this.#waiting.find((g) => g.from === gift.from && g.giftId === gift.giftId);
    const into = combo ?? (this.#waiting.length < MAX_WAITING ? undefined : this.#waiting.at(-1));
    if (into === undefined) this.#waiting.push({ ...gift });
    else {
      into.count += gift.count;
      into.value += gift.value;
    }
    this.#next();
  }

  dispose(): void {
    this.#waiting.length = 0;
    this.root.replaceChildren();
  }

  #next(): void {
    while (this.#onStage < MAX_ON_STAGE) {
      const gift = this.#waiting.shift();
      if (gift === undefined) return;
      this.#onStage++;
      const tier = giftTier(gift.value);
      const emoji = giftEmoji(gift.giftId);
      const card = h(
        'div',
        {
          className: `gift-card tier-${tier} slot-${this.#slot()}`,
          data: { testid: 'gift-card', gift: gift.giftId, tier: String(tier) },
        },
        burst(emoji, BURST[tier]),
        h('span', { className: 'gift-emoji', textContent: emoji }),
        h(
          'span',
          { className: 'gift-text' },
          h('strong', { textContent: gift.from }),
          ` sent ${gift.giftName}`,
          gift.count > 1
            ? h('span', { className: 'gift-count', textContent: ` ×${formatCount(gift.count)}` })
            : null,
        ),
      );
      card.addEventListener('animationend', (event) => {
        // The emoji's own (shorter) animation bubbles up here too.
        if (event.target !== card) return;
        card.remove();
        this.#onStage--;
        this.#next();
      });
      this.root.appendChild(card);
      this.root.dataset.shown = String(++this.#shown);
    }
  }

  /** The vertical slot of a new card: the first one no card on stage uses. */
  #slot(): number {
    const used = new Set(Array.from(this.root.children, (c) => /slot-(\d)/.exec(c.className)?.[1]));
    for (let i = 0; i < MAX_ON_STAGE; i++) if (!used.has(String(i))) return i;
    return 0;
  }
}

/**
 * `count` copies of the emoji flying up and out of the card's middle in a fan (directions as CSS
 * variables), so they stay on the stage whichever slot the card has.
 */
function burst(emoji: string, count: number): HTMLElement | null {
  if (count === 0) return null;
  const ring = h('span', { className: 'gift-burst', attrs: { 'aria-hidden': 'true' } });
  for (let i = 0; i < count; i++) {
    const angle = -Math.PI * (0.05 + (0.9 * i) / Math.max(1, count - 1));
    const reach = 70 + (i % 3) * 25;
    const particle = h('span', { textContent: emoji });
    particle.style.setProperty('--dx', `${Math.round(Math.cos(angle) * reach)}px`);
    particle.style.setProperty('--dy', `${Math.round(Math.sin(angle) * reach)}px`);
    particle.style.animationDelay = `${(i % 4) * 90}ms`;
    ring.appendChild(particle);
  }
  return ring;
}
