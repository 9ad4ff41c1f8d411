/** HTTP over fetch with a timeout, classified for the fault report; tokens; a seeded PRNG; sleep. */
import { SignJWT } from 'jose';

/** An answer, or what went wrong before one arrived. */
export interface HttpResult {
  /** The status; 0 when no answer came (network error or timeout). */
  status: number;
  body: unknown;
  text: string;
  /** `503`, `500`, `network`, `timeout`: how an attempt is counted in the report. */
  outcome: string;
  retryAfterMs?: number;
}

export async function http(
  method: 'GET' | 'POST' | 'PUT',
  url: string,
  opts: { token?: string; body?: unknown; key?: string; timeoutMs?: number } = {},
): Promise<HttpResult> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`;
  if (opts.key !== undefined) headers['idempotency-key'] = opts.key;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  try {
    const response = await fetch(url, {
      method,
      headers,
      ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }),
      signal: AbortSignal.timeout(opts.timeoutMs ?? 5000),
    });
    const text = await response.text();
    let body: unknown;
    try {
      body = text.length > 0 ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    const retryAfter = Number(response.headers.get('retry-after'));
    return {
      status: response.status,
      body,
      text,
      outcome: String(response.status),
      ...(Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfterMs: retryAfter * 1000 } : {}),
    };
  } catch (err) {
    const name = (err as Error).name;
    const outcome = name === 'TimeoutError' || name === 'AbortError' ? 'timeout' : 'network';
    return { status: 0, body: undefined, text: (err as Error).message, outcome };
  }
}

/** True for an answer worth retrying with the same key: 5xx, 429, no answer. */
export function retryable(result: HttpResult): boolean {
  return result.status === 0 || result.status === 429 || result.status >= 500;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** HS256 tokens for the cluster's secret (the claims of `roomcast token`). */
export function tokenMinter(secret: string): (user: string, roles?: string[]) => Promise<string> {
  const key = new TextEncoder().encode(secret);
  return (user, roles = []) =>
    new SignJWT({ roles })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(user)
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + 6 * 3600)
      .sign(key);
}

/** mulberry32: a small seeded PRNG in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
