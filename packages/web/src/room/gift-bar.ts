import { h } from '../shared/dom.ts';
import { formatCount } from '../shared/format.ts';
import type { CatalogueGift } from './gift-api.ts';
import { giftEmoji } from './gift-effects.ts';

export interface GiftBarOptions {
  gifts: readonly CatalogueGift[];
  balance: number;
  /** Sends one gift; resolves with the new balance. */
  send(giftId: string): Promise<number>;
  /** Dev servers: adds to the balance; resolves with the new balance. */
  topUp?(): Promise<number>;
  describeError(error: unknown): string;
}

/** Gift buttons from the catalogue, the balance, and (dev) a top-up button. */
export class GiftBar {
  readonly root: HTMLElement;
  readonly #balance: HTMLElement;
  readonly #status: HTMLElement;
  readonly #buttons: HTMLButtonElement[] = [];
  #current: number;
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
          title: `${gift.name}: ${formatCount(gift.price)}`,
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
      this.#current = await this.options.send(gift.id);
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
      this.#buttons[i]?.classList.toggle('unaffordable', gift.price > this.#current);
    }
  }
}
