/** A JWT, or a function that returns one (called again when the server rejects the last one). */
export type TokenSource = string | (() => string | Promise<string>);

/**
 * Holds the current token. A static token is used as is; a token function is called once up front
 * and again only when the server rejected the token it returned (close 4001/4003, HTTP 401).
 */
export class TokenProvider {
  #current: string | undefined;
  #pending: Promise<string> | undefined;

  constructor(private readonly source: TokenSource) {
    if (typeof source === 'string') this.#current = source;
  }

  /** Whether a rejected token can be replaced by calling the token function again. */
  get refreshable(): boolean {
    return typeof this.source === 'function';
  }

  /** The current token, calling the token function if there is none yet. */
  get(): Promise<string> {
    if (this.#current !== undefined) return Promise.resolve(this.#current);
    return this.#fetch();
  }

  /**
   * Replaces `rejected` with a new token from the token function. Resolves to null when there is
   * none to be had: the token is static, or the function returned the rejected token again.
   * Concurrent callers that saw the same rejected token share one call.
   */
  async refresh(rejected: string): Promise<string | null> {
    if (typeof this.source === 'string') return null;
    if (this.#current !== undefined && this.#current !== rejected) return this.#current;
    this.#current = undefined;
    const fresh = await this.#fetch();
    return fresh === rejected ? null : fresh;
  }

  #fetch(): Promise<string> {
    const source = this.source;
    if (typeof source === 'string') return Promise.resolve(source);
    this.#pending ??= (async () => {
      try {
        const token = await source();
        if (typeof token !== 'string' || token === '')
          throw new TypeError('the token function returned no token');
        this.#current = token;
        return token;
      } finally {
        this.#pending = undefined;
      }
    })();
    return this.#pending;
  }
}

/**
 * A JWT's `exp` in ms since the epoch, read without verifying (only to plan a renewal); undefined
 * for anything that is not a JWT with a numeric `exp`.
 */
export function tokenExpiry(token: string): number | undefined {
  const payload = token.split('.')[1];
  if (payload === undefined) return undefined;
  try {
    const base64 = payload.replace(/-/g, '+').replace(/_/g, '/');
    const json = JSON.parse(atob(base64.padEnd(Math.ceil(base64.length / 4) * 4, '='))) as { exp?: unknown };
    return typeof json.exp === 'number' && Number.isFinite(json.exp) ? json.exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}
