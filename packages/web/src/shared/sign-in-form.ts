import { h, type View } from './dom.ts';
import { DevSignInUnavailableError, devSignIn, type Session, sessionFromToken } from './session.ts';

/** The regions `roomcast dev` serves (PROTOCOL.md, "Identity"). */
const DEV_REGIONS = ['eu', 'us', 'ap'] as const;

export interface SignInFormOptions {
  /** The server's base URL. */
  baseUrl: string;
  heading: string;
  intro: string;
  /** Roles a dev sign-in asks for (the dashboard asks for `admin`). */
  roles: readonly string[];
  /** The user name filled in. */
  defaultName: string;
  onSignedIn(session: Session): void;
  /** Refuses a session for this page (e.g. without the admin role): returns why, or undefined. */
  check?(session: Session): string | undefined;
}

/**
 * Sign-in card: a dev sign-in (region + name → `POST /v1/dev/tokens`) or a pasted token. Errors
 * (unknown region, a server without dev mode, a malformed token) show under the forms.
 */
export function signInForm(options: SignInFormOptions): View {
  const error = h('p', {
    className: 'form-error',
    attrs: { role: 'alert' },
    data: { testid: 'sign-in-error' },
  });
  const accept = (session: Session) => {
    const refusal = options.check?.(session);
    if (refusal !== undefined) {
      error.textContent = refusal;
      return;
    }
    options.onSignedIn(session);
  };

  const region = h('select', { name: 'region', data: { testid: 'sign-in-region' } });
  for (const r of DEV_REGIONS) region.append(h('option', { value: r, textContent: r }));
  const name = h('input', {
    name: 'user',
    value: options.defaultName,
    required: true,
    autocomplete: 'username',
    pattern: '[A-Za-z0-9_\\-]{1,64}',
    data: { testid: 'sign-in-name' },
  });
  const submit = h('button', { type: 'submit', className: 'primary', textContent: 'Sign in' });
  const devForm = h(
    'form',
    { className: 'sign-in-dev', data: { testid: 'dev-sign-in' } },
    h('label', {}, 'Region', region),
    h('label', { className: 'grow' }, 'User name', name),
    submit,
  );
  devForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const typed = name.value.trim();
    // A full user ID (`eu_alice`) is taken as it is.
    const user = /^[a-z0-9]{2,8}_/.test(typed) ? typed : `${region.value}_${typed}`;
    submit.disabled = true;
    error.textContent = '';
    devSignIn(options.baseUrl, user, options.roles)
      .then(accept, (cause: unknown) => {
        error.textContent = cause instanceof Error ? cause.message : String(cause);
        // A server without dev sign-in (a cluster API node) takes pasted tokens only: show that form.
        if (cause instanceof DevSignInUnavailableError) pasteToken.open = true;
      })
      .finally(() => {
        submit.disabled = false;
      });
  });

  const token = h('textarea', {
    name: 'token',
    rows: 3,
    placeholder: 'eyJhbGciOi…',
    spellcheck: false,
    data: { testid: 'sign-in-token' },
  });
  const tokenForm = h(
    'form',
    { className: 'sign-in-token' },
    token,
    h('button', { type: 'submit', textContent: 'Use this token' }),
  );
  tokenForm.addEventListener('submit', (event) => {
    event.preventDefault();
    try {
      accept(sessionFromToken(token.value, false));
    } catch (cause) {
      error.textContent = cause instanceof Error ? cause.message : String(cause);
    }
  });

  const pasteToken = h('details', {}, h('summary', { textContent: 'Paste a token instead' }), tokenForm);
  const root = h(
    'section',
    { className: 'card sign-in', data: { testid: 'sign-in' } },
    h('h1', { textContent: options.heading }),
    h('p', { className: 'muted', textContent: options.intro }),
    devForm,
    pasteToken,
    error,
  );
  return { root, dispose: () => {} };
}
