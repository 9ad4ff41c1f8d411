import type { TransportMode } from '@roomcast/client';
import { h, replaceChildren, type View } from '../shared/dom.ts';
import { type Session, SessionStore } from '../shared/session.ts';
import { signInForm } from '../shared/sign-in-form.ts';
import { LobbyView } from './lobby-view.ts';
import { RoomView } from './room-view.ts';
import { parseRoute, roomPath } from './routes.ts';

const SESSION_KEY = 'roomcast.session';
const TRANSPORT_KEY = 'roomcast.transport';
/** `off` when the user turned flying comments off. */
const DANMAKU_KEY = 'roomcast.danmaku';

/**
 * The live room app at `/`: sign-in, the lobby and rooms (`/rooms/<id>`), with history-based
 * navigation so that room links can be shared and the back button works.
 */
export class RoomApp {
  readonly #sessions = new SessionStore(SESSION_KEY);
  readonly #header: HTMLElement;
  readonly #slot = h('div', { className: 'header-slot' });
  readonly #user = h('div', { className: 'header-user' });
  readonly #main = h('main', { className: 'app-main' });
  #view: View | undefined;

  constructor(
    private readonly root: HTMLElement,
    private readonly baseUrl: string,
  ) {
    const home = h('a', { href: '/', className: 'brand', textContent: 'roomcast' });
    home.addEventListener('click', (event) => {
      event.preventDefault();
      this.#navigate('/');
    });
    this.#header = h('header', { className: 'app-header' }, home, this.#slot, this.#user);
  }

  start(): void {
    replaceChildren(this.root, this.#header, this.#main);
    window.addEventListener('popstate', () => this.#render());
    this.#render();
  }

  #render(): void {
    this.#view?.dispose();
    this.#view = undefined;
    this.#slot.replaceChildren();
    const session = this.#sessions.load();
    this.#renderUser(session);
    if (session === undefined) {
      document.title = 'Sign in · roomcast';
      this.#show(
        signInForm({
          baseUrl: this.baseUrl,
          heading: 'Join the live room',
          intro: 'Sign in as any user of the dev regions, or paste a token your server gave you.',
          roles: [],
          defaultName: `viewer-${Math.random().toString(36).slice(2, 6)}`,
          onSignedIn: (signedIn) => {
            this.#sessions.save(signedIn);
            this.#render();
          },
        }),
      );
      return;
    }
    const route = parseRoute(location.pathname);
    if (route.page === 'lobby') {
      document.title = 'Live rooms · roomcast';
      this.#show(
        new LobbyView({ baseUrl: this.baseUrl, session, openRoom: (id) => this.#navigate(roomPath(id)) }),
      );
      return;
    }
    const view = new RoomView({
      baseUrl: this.baseUrl,
      session,
      roomId: route.roomId,
      mode: this.#transportMode(),
      onModeChange: (mode) => localStorage.setItem(TRANSPORT_KEY, mode),
      danmaku: localStorage.getItem(DANMAKU_KEY) !== 'off',
      onDanmakuChange: (on) => localStorage.setItem(DANMAKU_KEY, on ? 'on' : 'off'),
      onExit: () => this.#navigate('/'),
    });
    this.#slot.append(...view.headerItems);
    this.#show(view);
  }

  #show(view: View): void {
    this.#view = view;
    this.#main.replaceChildren(view.root);
  }

  #renderUser(session: Session | undefined): void {
    if (session === undefined) {
      this.#user.replaceChildren();
      return;
    }
    const signOut = h('button', {
      type: 'button',
      className: 'ghost small',
      textContent: 'Sign out',
      onclick: () => {
        this.#sessions.clear();
        this.#render();
      },
    });
    this.#user.replaceChildren(
      h('span', { className: 'user-chip', textContent: session.userId, data: { testid: 'signed-in-user' } }),
      signOut,
    );
  }

  #transportMode(): TransportMode {
    return localStorage.getItem(TRANSPORT_KEY) === 'pull' ? 'pull' : 'auto';
  }

  #navigate(path: string): void {
    if (path !== location.pathname) history.pushState(null, '', path);
    this.#render();
  }
}
