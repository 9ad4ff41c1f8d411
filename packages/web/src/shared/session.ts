import { isUserId } from '@roomcast/protocol';

/** Who the page acts as: a token and what it says about its user. */
export interface Session {
  /** The JWT sent as `Authorization: Bearer …` and `?token=` on the WebSocket. */
  token: string;
  /** The token's `sub`. */
  userId: string;
  /** The token's `roles` claim. */
  roles: readonly string[];
  /** The token's `exp`, in ms since the epoch. */
  expiresAt: number;
  /** True when the token came from this server's dev sign-in (`POST /v1/dev/tokens`). */
  viaDevSignIn: boolean;
}

/** The claims the page reads from a token. The server verifies it; the page only displays them. */
interface TokenClaims {
  sub?: unknown;
  exp?: unknown;
  roles?: unknown;
}

/** Reads a session from a JWT's payload; throws a readable error for anything that is not one. */
export function sessionFromToken(token: string, viaDevSignIn: boolean): Session {
  const parts = token.trim().split('.');
  const payload = parts[1];
  if (parts.length !== 3 || payload === undefined)
    throw new Error('that is not a JWT (three dot-separated parts)');
  let claims: TokenClaims;
  try {
    claims = JSON.parse(base64UrlDecode(payload)) as TokenClaims;
  } catch {
    throw new Error('the token payload is not readable JSON');
  }
  if (!isUserId(claims.sub)) throw new Error('the token has no valid "sub" (a user ID like eu_alice)');
  if (typeof claims.exp !== 'number') throw new Error('the token has no "exp"');
  const roles = Array.isArray(claims.roles)
    ? claims.roles.filter((r): r is string => typeof r === 'string')
    : [];
  return { token: token.trim(), userId: claims.sub, roles, expiresAt: claims.exp * 1000, viaDevSignIn };
}

function base64UrlDecode(input: string): string {
  const base64 = input
    .replace(/-/g, '+')
    .replace(/_/g, '/')
    .padEnd(Math.ceil(input.length / 4) * 4, '=');
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}

/**
 * Signs in with the dev server's token endpoint (`POST /v1/dev/tokens`, only on a server started
 * in dev mode). Rejects with the server's message (unknown region, malformed user ID …).
 */
export async function devSignIn(
  baseUrl: string,
  user: string,
  roles: readonly string[] = [],
): Promise<Session> {
  let response: Response;
  try {
    response = await fetch(`${baseUrl}/v1/dev/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ user, roles }),
    });
  } catch {
    throw new Error('the server cannot be reached');
  }
  const body = (await response.json().catch(() => ({}))) as {
    token?: unknown;
    error?: { message?: unknown };
  };
  if (!response.ok || typeof body.token !== 'string') {
    if (response.status === 404) throw new DevSignInUnavailableError();
    const message = typeof body.error?.message === 'string' ? body.error.message : `HTTP ${response.status}`;
    throw new Error(message);
  }
  return sessionFromToken(body.token, true);
}

/** The server serves no `POST /v1/dev/tokens` (not `roomcast dev`): sign in with a pasted token. */
export class DevSignInUnavailableError extends Error {
  override readonly name = 'DevSignInUnavailableError';
  constructor() {
    super('this server has no dev sign-in (not in dev mode): paste a token');
  }
}

/** Keeps one session in `localStorage` under a key; an expired one reads as none. */
export class SessionStore {
  constructor(
    private readonly key: string,
    private readonly storage: Storage = localStorage,
  ) {}

  load(now = Date.now()): Session | undefined {
    const raw = this.storage.getItem(this.key);
    if (raw === null) return undefined;
    try {
      const saved = JSON.parse(raw) as { token?: unknown; viaDevSignIn?: unknown };
      if (typeof saved.token !== 'string') return undefined;
      const session = sessionFromToken(saved.token, saved.viaDevSignIn === true);
      // A minute of margin: a token about to expire would fail the first request.
      return session.expiresAt - 60_000 > now ? session : undefined;
    } catch {
      return undefined;
    }
  }

  save(session: Session): void {
    this.storage.setItem(
      this.key,
      JSON.stringify({ token: session.token, viaDevSignIn: session.viaDevSignIn }),
    );
  }

  clear(): void {
    this.storage.removeItem(this.key);
  }
}
