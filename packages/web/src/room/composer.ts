import { h } from '../shared/dom.ts';

export interface ComposerOptions {
  maxLength: number;
  send(text: string): Promise<void>;
  like(): Promise<void>;
  describeError(error: unknown): string;
}

/** The comment box: text, send (Enter), a like button, and the reason when sending failed. */
export class Composer {
  readonly root: HTMLElement;
  readonly #input: HTMLInputElement;
  readonly #error: HTMLElement;

  constructor(private readonly options: ComposerOptions) {
    this.#input = h('input', {
      type: 'text',
      name: 'comment',
      placeholder: 'Say something…',
      maxLength: options.maxLength,
      autocomplete: 'off',
      enterKeyHint: 'send',
      data: { testid: 'comment-input' },
      attrs: { 'aria-label': 'Comment' },
    });
    this.#error = h('p', {
      className: 'form-error',
      attrs: { role: 'alert' },
      data: { testid: 'composer-error' },
    });
    const form = h(
      'form',
      { className: 'composer-row' },
      this.#input,
      h('button', {
        type: 'submit',
        className: 'primary',
        textContent: 'Send',
        data: { testid: 'comment-send' },
      }),
      h('button', {
        type: 'button',
        className: 'like',
        textContent: '♥',
        title: 'Like',
        data: { testid: 'like' },
        attrs: { 'aria-label': 'Like' },
        onclick: () => void this.#run(() => this.options.like()),
      }),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const text = this.#input.value.trim();
      if (text === '') return;
      this.#input.value = '';
      void this.#run(() => this.options.send(text), text);
    });
    this.root = h('div', { className: 'composer' }, form, this.#error);
  }

  /** Disables the box with a reason (the room ended, you were kicked …). */
  disable(reason: string): void {
    this.#input.disabled = true;
    this.#input.placeholder = reason;
    for (const button of Array.from(this.root.querySelectorAll('button'))) button.disabled = true;
  }

  async #run(action: () => Promise<void>, restore?: string): Promise<void> {
    this.#error.textContent = '';
    try {
      await action();
    } catch (error) {
      this.#error.textContent = this.options.describeError(error);
      if (restore !== undefined && this.#input.value === '') this.#input.value = restore;
    }
  }
}
