import { h } from '../shared/dom.ts';
import { formatClock } from '../shared/format.ts';

/** A private message shown to this user only. */
export interface PrivateMessage {
  /** `in`: to this user; `out`: this user (the host) sent it. */
  direction: 'in' | 'out';
  /** The other side. */
  peer: string;
  text: string;
  ts: number;
  /** A whisper, or a notice about a moderation action on this user. */
  kind: 'whisper' | 'moderation';
}

/** The private messages box: whispers to and from this user, moderation notices. Hidden while empty. */
export class PrivateMessages {
  readonly root: HTMLElement;
  readonly #list: HTMLElement;

  constructor() {
    this.#list = h('ol', { className: 'private-list', data: { testid: 'private-messages' } });
    this.root = h(
      'section',
      { className: 'private', hidden: true, attrs: { 'aria-live': 'polite' } },
      h('h3', { textContent: 'Private' }),
      this.#list,
    );
  }

  add(message: PrivateMessage): void {
    this.root.hidden = false;
    const who = message.direction === 'in' ? `from ${message.peer}` : `to ${message.peer}`;
    this.#list.appendChild(
      h(
        'li',
        {
          className: `private-line ${message.kind} ${message.direction}`,
          title: formatClock(message.ts),
          data: { testid: 'private-message' },
        },
        h('span', { className: 'private-who', textContent: message.kind === 'moderation' ? 'notice' : who }),
        h('span', { className: 'text', textContent: message.text }),
      ),
    );
    while (this.#list.childElementCount > 50) this.#list.firstElementChild?.remove();
    this.#list.scrollTop = this.#list.scrollHeight;
  }
}
