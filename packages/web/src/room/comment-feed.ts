import { h } from '../shared/dom.ts';
import { formatClock } from '../shared/format.ts';
import { giftEmoji } from './gift-effects.ts';

/** One line of the feed. */
export type FeedEntry =
  | { kind: 'comment'; seq: number; from: string; text: string; ts: number; own: boolean; byHost: boolean }
  | { kind: 'gift'; seq: number; from: string; giftId: string; giftName: string; count: number; ts: number }
  | { kind: 'notice'; text: string; tone: 'info' | 'warn' };

export interface CommentFeedOptions {
  /** Lines kept in the page; older ones are removed. */
  maxLines: number;
  /** A click on an author's name (the host opens the moderation menu). */
  onAuthor(userId: string, anchor: HTMLElement): void;
}

/**
 * The comment stream: lines are added in batches, once per animation frame, and only the newest
 * `maxLines` stay in the page, so a flood of comments costs one DOM update per frame. It follows
 * the newest line unless the reader scrolled up (then a "new messages" button brings them back).
 */
export class CommentFeed {
  readonly root: HTMLElement;
  readonly #list: HTMLOListElement;
  readonly #jump: HTMLButtonElement;
  #pending: FeedEntry[] = [];
  #frame: number | undefined;

  constructor(private readonly options: CommentFeedOptions) {
    this.#list = h('ol', {
      className: 'feed-list',
      data: { testid: 'comment-feed' },
      attrs: { 'aria-live': 'off' },
    });
    this.#jump = h('button', {
      className: 'feed-jump',
      type: 'button',
      textContent: 'New messages ↓',
      hidden: true,
      onclick: () => this.#scrollToEnd(),
    });
    this.#list.addEventListener('scroll', () => {
      if (this.#nearEnd()) this.#jump.hidden = true;
    });
    this.#list.addEventListener('click', (event) => {
      const author = (event.target as Element).closest<HTMLElement>('.author');
      const user = author?.dataset.user;
      if (author !== null && author !== undefined && user !== undefined) this.options.onAuthor(user, author);
    });
    this.root = h('div', { className: 'feed' }, this.#list, this.#jump);
  }

  push(entry: FeedEntry): void {
    this.#pending.push(entry);
    // Nobody can read more than a screenful per frame: older pending lines would be removed anyway.
    if (this.#pending.length > this.options.maxLines)
      this.#pending.splice(0, this.#pending.length - this.options.maxLines);
    this.#frame ??= requestAnimationFrame(() => this.#flush());
  }

  dispose(): void {
    if (this.#frame !== undefined) cancelAnimationFrame(this.#frame);
  }

  #flush(): void {
    this.#frame = undefined;
    const follow = this.#nearEnd();
    const fragment = document.createDocumentFragment();
    for (const entry of this.#pending) fragment.appendChild(renderEntry(entry));
    this.#pending = [];
    this.#list.appendChild(fragment);
    const excess = this.#list.childElementCount - this.options.maxLines;
    for (let i = 0; i < excess; i++) this.#list.firstElementChild?.remove();
    if (follow) this.#scrollToEnd();
    else this.#jump.hidden = false;
  }

  #nearEnd(): boolean {
    const list = this.#list;
    return list.scrollHeight - list.scrollTop - list.clientHeight < 48;
  }

  #scrollToEnd(): void {
    this.#list.scrollTop = this.#list.scrollHeight;
    this.#jump.hidden = true;
  }
}

function renderEntry(entry: FeedEntry): HTMLElement {
  switch (entry.kind) {
    case 'comment':
      return h(
        'li',
        {
          className: `line comment${entry.own ? ' own' : ''}${entry.byHost ? ' by-host' : ''}`,
          title: formatClock(entry.ts),
          data: { testid: 'comment', seq: String(entry.seq), from: entry.from },
        },
        author(entry.from),
        entry.byHost ? h('span', { className: 'tag', textContent: 'host' }) : null,
        h('span', { className: 'text', textContent: entry.text }),
      );
    case 'gift':
      return h(
        'li',
        {
          className: 'line gift',
          title: formatClock(entry.ts),
          data: { testid: 'gift-line', seq: String(entry.seq) },
        },
        author(entry.from),
        h('span', {
          className: 'text',
          textContent: `sent ${entry.giftName} ${giftEmoji(entry.giftId)}${entry.count > 1 ? ` ×${entry.count}` : ''}`,
        }),
      );
    case 'notice':
      return h('li', {
        className: `line notice ${entry.tone}`,
        textContent: entry.text,
        data: { testid: 'notice' },
      });
    default:
      entry satisfies never;
      return h('li');
  }
}

function author(userId: string): HTMLElement {
  return h('button', { type: 'button', className: 'author', textContent: userId, data: { user: userId } });
}
