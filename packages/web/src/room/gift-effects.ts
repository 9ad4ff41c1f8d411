import { h } from '../shared/dom.ts';

/** A gift to celebrate on the stage. */
export interface GiftCelebration {
  from: string;
  giftId: string;
  giftName: string;
  count: number;
}

const MAX_ON_STAGE = 3;
const MAX_WAITING = 20;
const EMOJI: Record<string, string> = { rose: '🌹', heart: '💖', rocket: '🚀', star: '⭐', crown: '👑' };

/** The emoji a gift is drawn with. */
export function giftEmoji(giftId: string): string {
  return EMOJI[giftId] ?? '🎁';
}

/**
 * Gift animations over the video area: a card pops in, floats and fades (a CSS animation). At
 * most three at once; more wait, and a waiting gift of the same sender and kind absorbs the next
 * one as a combo (`×N`) — gifts are never dropped, only combined.
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
    if (combo !== undefined) combo.count += gift.count;
    else if (this.#waiting.length < MAX_WAITING) this.#waiting.push({ ...gift });
    else {
      const last = this.#waiting[this.#waiting.length - 1];
      if (last !== undefined) last.count += gift.count;
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
      const card = h(
        'div',
        { className: `gift-card slot-${this.#slot()}`, data: { testid: 'gift-card', gift: gift.giftId } },
        h('span', { className: 'gift-emoji', textContent: giftEmoji(gift.giftId) }),
        h(
          'span',
          { className: 'gift-text' },
          h('strong', { textContent: gift.from }),
          ` sent ${gift.giftName}`,
          gift.count > 1 ? h('span', { className: 'gift-count', textContent: ` ×${gift.count}` }) : null,
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
