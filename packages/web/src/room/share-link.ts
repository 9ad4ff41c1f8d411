import { h } from '../shared/dom.ts';

/**
 * The room's link, to send to friends: a row with the link and a copy button (wide screens),
 * and a compact Share button for the room heading (phones, where it opens the system's share
 * sheet when there is one). Both fall back to selecting the link when the clipboard is denied.
 */
export class ShareLink {
  readonly row: HTMLElement;
  readonly button: HTMLButtonElement;
  readonly #input: HTMLInputElement;

  constructor(
    readonly url: string,
    title: () => string,
  ) {
    this.#input = h('input', {
      className: 'room-link',
      readOnly: true,
      value: url,
      data: { testid: 'room-link' },
      attrs: { 'aria-label': 'Room link' },
      onfocus: () => this.#input.select(),
    });
    const copy = h('button', {
      type: 'button',
      className: 'small',
      textContent: 'Copy link',
      onclick: () => void this.#copy(copy),
    });
    this.row = h(
      'div',
      { className: 'share' },
      h('span', { className: 'muted small', textContent: 'Share' }),
      this.#input,
      copy,
    );
    this.button = h('button', {
      type: 'button',
      className: 'small share-button',
      textContent: 'Share',
      onclick: () => {
        if (typeof navigator.share === 'function') {
          navigator.share({ title: title(), url }).catch(() => undefined);
        } else void this.#copy(this.button);
      },
    });
  }

  async #copy(button: HTMLButtonElement): Promise<void> {
    const label = button.textContent;
    try {
      await navigator.clipboard.writeText(this.url);
      button.textContent = 'Copied';
    } catch {
      // No clipboard (plain HTTP, denied): leave the link selected for the reader to copy.
      this.#input.select();
      button.textContent = 'Select ✓';
    }
    setTimeout(() => {
      button.textContent = label;
    }, 2000);
  }
}
