import { h } from '../shared/dom.ts';
import { formatCount } from '../shared/format.ts';
import type { CatalogueGift } from './gift-api.ts';
import { giftEmoji } from './gift-effects.ts';

/**
 * The counts a viewer can send at once: all within what `POST /v1/rooms/:room/gifts` accepts
 * (1–999, the server's `GIFT_COUNT_MAX`).
 */
export const GIFT_COUNTS = [1, 10, 99, 500] as const;

export interface GiftBarOptions {
  gifts: readonly CatalogueGift[];
  balance: number;
  /** Sends `count` of a gift in one transfer; resolves with the new balance. */
  send(giftId: string, count: number): Promise<number>;
  /** Dev servers: adds to the balance; resolves with the new balance. */
  topUp?(): Promise<number>;
  describeError(error: unknown): string;
}

/**
 * Gift buttons from the catalogue, how many to send at once (each button shows what that many
 * cost), the balance, and (dev) a top-up button.
 */
export class GiftBar {
  readonly root: HTMLElement;
  readonly #balance: HTMLElement;
  readonly #status: HTMLElement;
  readonly #buttons: HTMLButtonElement[] = [];
  readonly #counts: HTMLButtonElement[] = [];
  #current: number;
  #count: number = GIFT_COUNTS[0];
  #clear: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly options: GiftBarOptions) {
    this.#current = options.balance;
    this.#balance = h('span', { className: 'balance-value', data: { testid: 'balance' } });
    this.#status = h('span', { className: 'gift-status', attrs: { role: 'status' } });
    const buttons = h('div', { className: 'gift-buttons' });
    for (const gift of options.gifts) {
      const button = h(
        'button',
        {
          type: 'button',
          className: 'gift-button',
          data: { testid: `gift-${gift.id}`, price: String(gift.price) },
          onclick: () => void this.#send(gift, button),
        },
        h('span', { className: 'gift-emoji', textContent: giftEmoji(gift.id) }),
        h('span', { className: 'gift-name', textContent: gift.name }),
        h('span', { className: 'gift-price', textContent: formatCount(gift.price) }),
      );
      this.#buttons.push(button);
      buttons.appendChild(button);
    }
    const counts = h('div', {
      className: 'gift-counts',
      attrs: { role: 'group', 'aria-label': 'How many to send' },
    });
    for (const count of GIFT_COUNTS) {
      const option = h('button', {
        type: 'button',
        className: 'gift-count-option small',
        textContent: `×${count}`,
        title: `Send ${count} at once`,
        data: { testid: `gift-count-${count}`, count: String(count) },
        onclick: () => {
          this.#count = count;
          this.#render();
        },
      });
      this.#counts.push(option);
      counts.appendChild(option);
    }
    const topUp =
      options.topUp === undefined
        ? null
        : h('button', {
            type: 'button',
            className: 'ghost small',
            textContent: '+1,000 (dev)',
            title: 'Credit your own balance (dev servers only)',
            data: { testid: 'top-up' },
            onclick: () => void this.#topUp(),
          });
    this.root = h(
      'div',
      { className: 'gift-bar', data: { testid: 'gift-bar' } },
      buttons,
      counts,
      h(
        'div',
        { className: 'balance' },
        h('span', { className: 'muted', textContent: 'Balance ' }),
        this.#balance,
        topUp,
      ),
      this.#status,
    );
    this.#render();
  }

  async #send(gift: CatalogueGift, button: HTMLButtonElement): Promise<void> {
    button.disabled = true;
    this.#status.textContent = '';
    try {
      this.#current = await this.options.send(gift.id, this.#count);
      this.#render();
    } catch (error) {
      this.#say(this.options.describeError(error));
    } finally {
      button.disabled = false;
      this.#render();
    }
  }

  async #topUp(): Promise<void> {
    this.#status.textContent = '';
    try {
      this.#current = await (this.options.topUp?.() ?? Promise.resolve(this.#current));
      this.#render();
    } catch (error) {
      this.#say(this.options.describeError(error));
    }
  }

  /** Shows why something failed, for a few seconds. */
  #say(message: string): void {
    this.#status.textContent = message;
    clearTimeout(this.#clear);
    this.#clear = setTimeout(() => {
      this.#status.textContent = '';
    }, 4000);
  }

  #render(): void {
    this.#balance.textContent = formatCount(this.#current);
    for (const [i, gift] of this.options.gifts.entries()) {
      const button = this.#buttons[i];
      if (button === undefined) continue;
      const cost = gift.price * this.#count;
      const price = button.querySelector('.gift-price');
      if (price !== null) price.textContent = formatCount(cost);
      button.title =
        this.#count === 1
          ? `${gift.name}: ${formatCount(gift.price)}`
          : `${this.#count} × ${gift.name}: ${formatCount(cost)}`;
      button.classList.toggle('unaffordable', cost > this.#current);
    }
    for (const option of this.#counts) {
      option.setAttribute('aria-pressed', String(Number(option.dataset.count) === this.#count));
    }
  }
}
