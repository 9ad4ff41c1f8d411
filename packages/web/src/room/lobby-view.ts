import { RoomcastApi, RoomcastApiError } from '@roomcast/client';
import type { Room } from '@roomcast/protocol';
import { h, type View } from '../shared/dom.ts';
import { formatDuration } from '../shared/format.ts';
import type { Session } from '../shared/session.ts';
import { describeError } from './room-session.ts';
import { roomPath } from './routes.ts';

export interface LobbyContext {
  baseUrl: string;
  session: Session;
  openRoom(roomId: string): void;
}

const REFRESH_MS = 5_000;

/**
 * The lobby: start a room as its host, pick a live room to watch (the list refreshes every few
 * seconds; a title the host changed shows from the next refresh), or open a room by ID or link.
 */
export class LobbyView implements View {
  readonly root: HTMLElement;
  readonly #api: RoomcastApi;
  readonly #list = h('ul', { className: 'room-list', data: { testid: 'live-rooms' } });
  readonly #empty = h('p', {
    className: 'muted',
    textContent: 'No live rooms yet: start one.',
    hidden: true,
  });
  readonly #listError = h('p', { className: 'form-error', attrs: { role: 'alert' } });
  readonly #timer: ReturnType<typeof setInterval>;
  #rooms: Room[] = [];

  constructor(private readonly ctx: LobbyContext) {
    this.#api = new RoomcastApi({ url: ctx.baseUrl, token: ctx.session.token });
    this.root = h(
      'div',
      { className: 'lobby', data: { testid: 'lobby' } },
      this.#startCard(),
      h(
        'section',
        { className: 'card live-card' },
        h(
          'div',
          { className: 'card-head' },
          h('h2', { textContent: 'Live now' }),
          h('button', {
            type: 'button',
            className: 'ghost small',
            textContent: 'Refresh',
            onclick: () => void this.#refresh(),
          }),
        ),
        this.#list,
        this.#empty,
        this.#listError,
      ),
      this.#joinCard(),
    );
    void this.#refresh();
    this.#timer = setInterval(() => void this.#refresh(), REFRESH_MS);
  }

  dispose(): void {
    clearInterval(this.#timer);
  }

  #startCard(): HTMLElement {
    const title = h('input', {
      name: 'title',
      required: true,
      maxLength: 200,
      value: `${this.ctx.session.userId}'s stream`,
      data: { testid: 'new-room-title' },
    });
    const visibility = h(
      'select',
      { name: 'visibility' },
      h('option', { value: 'public', textContent: 'Public' }),
      h('option', { value: 'private', textContent: 'Private' }),
    );
    const error = h('p', { className: 'form-error', attrs: { role: 'alert' } });
    const submit = h('button', {
      type: 'submit',
      className: 'primary',
      textContent: 'Go live',
      data: { testid: 'start-room' },
    });
    const form = h(
      'form',
      { className: 'start-form' },
      h('label', { className: 'grow' }, 'Title', title),
      h('label', {}, 'Visibility', visibility),
      submit,
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      submit.disabled = true;
      error.textContent = '';
      this.#api
        .createRoom({
          title: title.value.trim(),
          visibility: visibility.value === 'private' ? 'private' : 'public',
        })
        .then(
          (room) => this.ctx.openRoom(room.id),
          (cause: unknown) => {
            const mine = this.#rooms.find((r) => r.hostId === this.ctx.session.userId);
            if (cause instanceof RoomcastApiError && cause.code === 'conflict' && mine !== undefined) {
              this.ctx.openRoom(mine.id);
              return;
            }
            error.textContent = describeError(cause);
          },
        )
        .finally(() => {
          submit.disabled = false;
        });
    });
    return h(
      'section',
      { className: 'card start-card' },
      h('h2', { textContent: 'Start a room' }),
      h('p', {
        className: 'muted',
        textContent: 'You host it: your viewers comment, send gifts and see your pinned message.',
      }),
      form,
      error,
    );
  }

  #joinCard(): HTMLElement {
    const input = h('input', {
      name: 'room',
      placeholder: 'Room ID or link',
      data: { testid: 'join-room-id' },
    });
    const form = h(
      'form',
      { className: 'join-form' },
      input,
      h('button', { type: 'submit', textContent: 'Open' }),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const value = input.value.trim();
      const fromLink = /\/rooms\/([^/?#]+)/.exec(value)?.[1];
      const id = fromLink === undefined ? value : decodeURIComponent(fromLink);
      if (id !== '') this.ctx.openRoom(id);
    });
    return h('section', { className: 'card join-card' }, h('h2', { textContent: 'Have a link?' }), form);
  }

  async #refresh(): Promise<void> {
    try {
      this.#rooms = await this.#api.listLiveRooms({ limit: 50 });
      this.#listError.textContent = '';
    } catch (error) {
      this.#listError.textContent = describeError(error);
      return;
    }
    this.#empty.hidden = this.#rooms.length > 0;
    this.#list.replaceChildren(...this.#rooms.map((room) => this.#item(room)));
  }

  #item(room: Room): HTMLElement {
    const mine = room.hostId === this.ctx.session.userId;
    const age = formatDuration((Date.now() - Date.parse(room.startedAt)) / 1000);
    const open = (event: Event) => {
      event.preventDefault();
      this.ctx.openRoom(room.id);
    };
    return h(
      'li',
      { className: `room-item${mine ? ' mine' : ''}`, data: { testid: 'live-room', room: room.id } },
      h(
        'a',
        { href: roomPath(room.id), className: 'room-item-title', onclick: open },
        h('span', { className: 'live-dot', attrs: { 'aria-hidden': 'true' } }),
        room.title,
      ),
      h('span', {
        className: 'muted small',
        textContent: `${room.hostId} · live for ${age}${room.visibility === 'private' ? ' · private' : ''}`,
      }),
      h('button', {
        type: 'button',
        className: mine ? 'primary small' : 'small',
        textContent: mine ? 'Continue hosting' : 'Watch',
        onclick: open,
      }),
    );
  }
}
