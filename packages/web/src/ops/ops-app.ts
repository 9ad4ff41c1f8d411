import { h, replaceChildren, type View } from '../shared/dom.ts';
import { SessionStore } from '../shared/session.ts';
import { signInForm } from '../shared/sign-in-form.ts';
import { DashboardView } from './dashboard-view.ts';

const SESSION_KEY = 'roomcast.ops.session';

/** The dashboard app at `/ops`: admin sign-in, then the dashboard. */
export class OpsApp {
  readonly #sessions = new SessionStore(SESSION_KEY);
  readonly #user = h('div', { className: 'header-user' });
  readonly #main = h('main', { className: 'app-main' });
  #view: View | undefined;

  constructor(
    private readonly root: HTMLElement,
    private readonly baseUrl: string,
  ) {}

  start(): void {
    const header = h(
      'header',
      { className: 'app-header' },
      h('a', { href: '/ops', className: 'brand', textContent: 'roomcast ops' }),
      h(
        'div',
        { className: 'header-slot' },
        h('a', { href: '/', className: 'small', textContent: 'Live rooms →' }),
      ),
      this.#user,
    );
    replaceChildren(this.root, header, this.#main);
    this.#render();
  }

  #render(notice = ''): void {
    this.#view?.dispose();
    const session = this.#sessions.load();
    if (session === undefined || !session.roles.includes('admin')) {
      this.#user.replaceChildren();
      document.title = 'Sign in · roomcast ops';
      const form = signInForm({
        baseUrl: this.baseUrl,
        heading: 'Operations dashboard',
        intro: 'Needs an admin token: sign in as a dev user with the admin role, or paste one.',
        roles: ['admin'],
        defaultName: 'ops',
        check: (s) => (s.roles.includes('admin') ? undefined : 'This token has no admin role.'),
        onSignedIn: (signedIn) => {
          this.#sessions.save(signedIn);
          this.#render();
        },
      });
      if (notice !== '') form.root.append(h('p', { className: 'form-error', textContent: notice }));
      this.#show(form);
      return;
    }
    this.#user.replaceChildren(
      h('span', { className: 'user-chip', textContent: session.userId }),
      h('button', {
        type: 'button',
        className: 'ghost small',
        textContent: 'Sign out',
        onclick: () => {
          this.#sessions.clear();
          this.#render();
        },
      }),
    );
    document.title = 'Operations · roomcast';
    const interval = Number(new URLSearchParams(location.search).get('interval'));
    this.#show(
      new DashboardView({
        baseUrl: this.baseUrl,
        session,
        intervalMs: Number.isFinite(interval) && interval >= 250 ? interval : 1000,
        onSignedOut: (reason) => {
          this.#sessions.clear();
          this.#render(reason);
        },
      }),
    );
  }

  #show(view: View): void {
    this.#view = view;
    this.#main.replaceChildren(view.root);
  }
}
