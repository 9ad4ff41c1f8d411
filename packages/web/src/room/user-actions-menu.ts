import { h } from '../shared/dom.ts';

/** What a moderator can do to a user. */
export type ModerationAction = 'mute' | 'unmute' | 'kick' | 'ban';

export interface UserActionsMenuOptions {
  whisper(user: string, text: string): Promise<void>;
  moderate(user: string, action: ModerationAction): Promise<void>;
  describeError(error: unknown): string;
}

/** Where the menu becomes a bottom sheet (the same width as room.css's phone layout). */
const PHONE = '(max-width: 640px)';

const ACTIONS: ReadonlyArray<{ action: ModerationAction; label: string; danger?: boolean }> = [
  { action: 'mute', label: 'Mute 10 min' },
  { action: 'unmute', label: 'Unmute' },
  { action: 'kick', label: 'Kick', danger: true },
  { action: 'ban', label: 'Ban', danger: true },
];

/**
 * The host's menu on a viewer (opened from a comment's author): a private whisper and the
 * moderation actions. A popover next to the name; a bottom sheet on a phone.
 */
export class UserActionsMenu {
  readonly root: HTMLElement;
  readonly #title: HTMLElement;
  readonly #status: HTMLElement;
  readonly #whisper: HTMLInputElement;
  #user = '';
  readonly #onOutside = (event: Event) => {
    if (!this.root.contains(event.target as Node) && !(event.target as Element).closest?.('.author'))
      this.close();
  };
  readonly #onKey = (event: KeyboardEvent) => {
    if (event.key === 'Escape') this.close();
  };

  constructor(private readonly options: UserActionsMenuOptions) {
    this.#title = h('strong', { className: 'menu-user' });
    this.#status = h('p', {
      className: 'menu-status',
      attrs: { role: 'status' },
      data: { testid: 'menu-status' },
    });
    this.#whisper = h('input', {
      name: 'whisper',
      placeholder: 'Whisper privately…',
      maxLength: 500,
      autocomplete: 'off',
      data: { testid: 'whisper-input' },
    });
    const whisperForm = h(
      'form',
      { className: 'menu-whisper' },
      this.#whisper,
      h('button', {
        type: 'submit',
        className: 'primary',
        textContent: 'Send',
        data: { testid: 'whisper-send' },
      }),
    );
    whisperForm.addEventListener('submit', (event) => {
      event.preventDefault();
      const text = this.#whisper.value.trim();
      if (text === '') return;
      void this.#run(async () => {
        await this.options.whisper(this.#user, text);
        this.#whisper.value = '';
        return `Whispered to ${this.#user}.`;
      });
    });
    const actions = h('div', { className: 'menu-actions' });
    for (const { action, label, danger } of ACTIONS) {
      actions.appendChild(
        h('button', {
          type: 'button',
          className: danger === true ? 'danger small' : 'small',
          textContent: label,
          data: { testid: `moderate-${action}` },
          onclick: () =>
            void this.#run(async () => {
              await this.options.moderate(this.#user, action);
              return `${label}: done.`;
            }),
        }),
      );
    }
    this.root = h(
      'div',
      {
        className: 'user-menu',
        hidden: true,
        attrs: { role: 'dialog', 'aria-label': 'Viewer actions' },
        data: { testid: 'user-menu' },
      },
      h(
        'div',
        { className: 'menu-head' },
        this.#title,
        h('button', {
          type: 'button',
          className: 'ghost small',
          textContent: '✕',
          attrs: { 'aria-label': 'Close' },
          onclick: () => this.close(),
        }),
      ),
      whisperForm,
      actions,
      this.#status,
    );
  }

  open(user: string, anchor: HTMLElement): void {
    this.#user = user;
    this.#title.textContent = user;
    this.#status.textContent = '';
    this.root.hidden = false;
    if (window.matchMedia(PHONE).matches) {
      // A bottom sheet (see room.css).
      this.root.style.left = '';
      this.root.style.top = '';
    } else {
      const box = anchor.getBoundingClientRect();
      const width = Math.min(300, window.innerWidth - 16);
      this.root.style.left = `${Math.max(8, Math.min(box.left, window.innerWidth - width - 8))}px`;
      this.root.style.top = `${Math.min(box.bottom + 6, window.innerHeight - 220)}px`;
    }
    document.addEventListener('pointerdown', this.#onOutside, true);
    document.addEventListener('keydown', this.#onKey);
    // On a phone, focusing would pop the keyboard over the menu before anyone asked to type.
    if (!window.matchMedia(PHONE).matches) this.#whisper.focus({ preventScroll: true });
  }

  close(): void {
    this.root.hidden = true;
    document.removeEventListener('pointerdown', this.#onOutside, true);
    document.removeEventListener('keydown', this.#onKey);
  }

  async #run(action: () => Promise<string>): Promise<void> {
    this.#status.textContent = '…';
    try {
      this.#status.textContent = await action();
    } catch (error) {
      this.#status.textContent = this.options.describeError(error);
    }
  }
}
