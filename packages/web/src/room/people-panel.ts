import { h } from '../shared/dom.ts';
import { formatCount } from '../shared/format.ts';

/** People listed at most; beyond, the longest-listed viewer makes room (never the host or you). */
const MAX_PEOPLE = 200;

export interface PeoplePanelOptions {
  /** The signed-in user, marked "you". */
  self: string;
  /** A click on a person's name (the host opens the moderation menu). */
  onPerson(userId: string, anchor: HTMLElement): void;
}

/**
 * Who is in the room, as far as the page can tell. The wire carries no member list (an `online`
 * count, and `enter` events only in smaller rooms; no one is announced leaving: see
 * docs/protocol.md), so the panel lists the host, you, and everyone seen in the room's events
 * (entering, commenting, liking, sending gifts), the host first, then in the order they were seen,
 * next to the online count. Collapsed by default; redrawn at most once a frame, and only when
 * someone new appears, so a flood of comments costs nothing here.
 */
export class PeoplePanel {
  readonly root: HTMLDetailsElement;
  readonly #list: HTMLOListElement;
  readonly #count: HTMLElement;
  readonly #online: HTMLElement;
  /** User ID → display name (if an `enter` event gave one), in the order first seen. */
  readonly #seen = new Map<string, string | undefined>();
  #host: string | undefined;
  #frame: number | undefined;

  constructor(private readonly options: PeoplePanelOptions) {
    this.#count = h('span', {
      className: 'people-count',
      textContent: '0',
      data: { testid: 'people-count' },
    });
    this.#online = h('p', { className: 'muted small people-note' });
    this.#list = h('ol', { className: 'people-list', data: { testid: 'people' } });
    this.#list.addEventListener('click', (event) => {
      const author = (event.target as Element).closest<HTMLElement>('.author');
      const user = author?.dataset.user;
      if (author !== null && author !== undefined && user !== undefined) this.options.onPerson(user, author);
    });
    this.root = h(
      'details',
      { className: 'people' },
      h('summary', { data: { testid: 'people-toggle' } }, 'People ', this.#count),
      this.#list,
      this.#online,
    );
    this.setOnline(undefined);
    this.see(options.self);
  }

  /** The room's host: listed first, with the host badge. */
  setHost(userId: string): void {
    this.#host = userId;
    this.see(userId);
    this.#schedule();
  }

  /** Someone was seen in the room (an event of theirs). */
  see(userId: string, name?: string): void {
    const known = this.#seen.get(userId);
    if (this.#seen.has(userId) && (name === undefined || name === known)) return;
    this.#seen.set(userId, name ?? known);
    if (this.#seen.size > MAX_PEOPLE) {
      for (const user of this.#seen.keys()) {
        if (user !== this.#host && user !== this.options.self) {
          this.#seen.delete(user);
          break;
        }
      }
    }
    this.#schedule();
  }

  /** The room's online count (`online` events), or undefined while unknown. */
  setOnline(count: number | undefined): void {
    const online = count === undefined ? '' : `${formatCount(count)} online now. `;
    // No one is announced leaving, so the list says what it is.
    this.#online.textContent = `${online}Listed: everyone seen in the room's recent events.`;
  }

  dispose(): void {
    if (this.#frame !== undefined) cancelAnimationFrame(this.#frame);
  }

  #schedule(): void {
    this.#frame ??= requestAnimationFrame(() => this.#render());
  }

  #render(): void {
    this.#frame = undefined;
    const host = this.#host;
    const order = [...this.#seen.keys()];
    if (host !== undefined) order.sort((a, b) => Number(b === host) - Number(a === host));
    this.#count.textContent = formatCount(order.length);
    this.#list.replaceChildren(
      ...order.map((user) => {
        const name = this.#seen.get(user);
        return h(
          'li',
          {
            className: `person${user === host ? ' by-host' : ''}`,
            data: { testid: 'person', user },
          },
          h('button', {
            type: 'button',
            className: 'author',
            textContent: user,
            title: name ?? user,
            data: { user },
          }),
          user === host ? h('span', { className: 'tag', textContent: 'host' }) : null,
          user === this.options.self ? h('span', { className: 'tag you', textContent: 'you' }) : null,
        );
      }),
    );
  }
}
